"""A queue's consensus policy through the stores: hand-made reviews resolved on SQLite and PostgreSQL,
and on the simulated demo, no item with a strict majority or a spread within tolerance is left open."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from publish_support import demo_warehouse, insert_single_batch, load_queue
from review_support import dialect_store

from reviewdesk.demo.simulate import simulate_reviews
from reviewdesk.labels.adjudication import backlog
from reviewdesk.labels.collection import collect
from reviewdesk.labels.resolve import resolve_queue
from reviewdesk.review import accounts
from reviewdesk.review.drafts import Draft
from reviewdesk.review.publication import publish
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import submit
from reviewdesk.stores.warehouse import Warehouse
from schemas.promotion import TRUSTED

QUEUE = "support-quality"
# Per item position, what reviewer1..3 answer (correctness, helpfulness).
ANSWERS = {
    1: [("correct", 4), ("correct", 4), ("incorrect", 5)],  # 2 of 3 on both
    2: [("correct", 3), ("incorrect", 4), ("partially_correct", 5)],  # no majority; helpfulness spread 2
    3: [("incorrect", 1), ("incorrect", 2), ("incorrect", 5)],  # unanimous; helpfulness spread 4, no majority
}


@pytest.fixture(params=["sqlite", "postgresql"])
def reviewed(request, tmp_path: Path):
    """Both stores after the three reviewers answered ANSWERS, collected: (store, warehouse, queue changes)."""

    def run(**changes: object) -> tuple:
        wh = demo_warehouse(tmp_path, runs=120)
        queue = load_queue(QUEUE, reviewers_per_item=3, gold_fraction=0.0, **changes)
        insert_single_batch(wh, queue, "b1", n=len(ANSWERS), gold=0)
        publish(wh, store, queue, "b1")
        positions = dict(wh.execute("SELECT item_id, position FROM items WHERE batch_id = 'b1'"))
        for i, name in enumerate(("reviewer1", "reviewer2", "reviewer3")):
            accounts.add_user(store, name, "reviewer", "correct horse battery")
            while item := next_item(store, QUEUE, name):
                correctness, helpfulness = ANSWERS[positions[item["item_id"]]][i]
                submit(store, item["item_id"], name, Draft({"correctness": correctness, "helpfulness": helpfulness}))
        collect(store, wh)
        return wh, positions

    with dialect_store(request.param, tmp_path, lambda: request.getfixturevalue("postgres_url")) as store:
        yield store, run


def outcome(store, wh: Warehouse, positions: dict[str, int]) -> tuple[dict, dict]:
    rows = wh.execute("SELECT item_id, criterion, value, method FROM consensus WHERE queue = ?", [QUEUE])
    values = {(positions[i], c): (v, m) for i, c, v, m in rows}
    cases = {(positions[c["item_id"]], c["criterion"]): c["why"] for c in backlog(store, QUEUE)}
    return values, cases


def test_by_default_a_majority_and_a_near_median_resolve_and_only_no_majority_waits(reviewed):
    store, run = reviewed
    wh, positions = run()
    with wh:
        result = resolve_queue(store, wh, QUEUE)
        values, cases = outcome(store, wh, positions)
    assert values == {
        (1, "correctness"): ("correct", "majority"), (1, "helpfulness"): ("4", "majority"),
        (3, "correctness"): ("incorrect", "unanimous"),
    }  # fmt: skip
    assert cases == {
        (2, "correctness"): "no majority, reviewers disagree: correct (1), incorrect (1), partially_correct (1)",
        (2, "helpfulness"): "no majority, answers spread beyond 1: 3 (1), 4 (1), 5 (1)",
        (3, "helpfulness"): "no majority, answers spread beyond 1: 1 (1), 2 (1), 5 (1)",
    }
    assert (result.opened, result.backlog) == (3, 3)
    assert result.by_criterion == {"correctness": {"majority": 1, "unanimous": 1}, "helpfulness": {"majority": 1}}


def test_a_queue_tolerance_resolves_to_the_median_and_any_disagreement_sends_majorities_to_a_lead(reviewed):
    store, run = reviewed
    wh, positions = run(consensus={"adjudicate": "any_disagreement", "tolerance": {"helpfulness": 2}})
    with wh:
        resolve_queue(store, wh, QUEUE)
        values, cases = outcome(store, wh, positions)
    assert values == {
        (1, "correctness"): ("correct", "majority"), (1, "helpfulness"): ("4", "majority"),
        (2, "helpfulness"): ("4", "median"), (3, "correctness"): ("incorrect", "unanimous"),
    }  # fmt: skip
    assert cases == {
        (1, "correctness"): "reviewers disagree: correct (2), incorrect (1)",
        (2, "correctness"): "no majority, reviewers disagree: correct (1), incorrect (1), partially_correct (1)",
        (3, "helpfulness"): "no majority, answers spread beyond 2: 1 (1), 2 (1), 5 (1)",
    }


def _settled(values: list, c: dict, tolerance: float) -> bool:
    """Independently of the library: a strict majority, or ordinal answers within `tolerance` steps."""
    top = Counter(values).most_common(1)[0][1]
    if 2 * top > len(values):
        return True
    if c["type"] != "ordinal":
        return False
    steps = [c["options"].index(v) for v in values]
    return max(steps) - min(steps) <= tolerance


@pytest.mark.parametrize("queue", ["support-ab", "support-quality"])
def test_on_the_demo_no_majority_or_near_answers_are_left_unresolved(demo_stores, queue: str):
    store, wh = demo_stores
    simulate_reviews(store, wh, queue, reviewers=3, accuracy=0.75, seed=4)
    collect(store, wh)
    result = resolve_queue(store, wh, queue)
    criteria = {c["key"]: c for c in store.queue(queue)["config"]["rubric"]["criteria"]}
    criteria["preference"] = {"type": "categorical"}
    options = {k: [json.dumps(o) if not isinstance(o, str) else o for o in c.get("options") or []]
               for k, c in criteria.items()}  # fmt: skip
    labels = wh.execute(
        """SELECT l.item_id, l.criterion, list(l.value ORDER BY l.reviewer) FROM labels l JOIN items i USING (item_id)
           WHERE l.queue = ? AND NOT i.is_gold GROUP BY ALL""",
        [queue],
    )
    resolved = {(i, c): m for i, c, m in wh.execute("SELECT item_id, criterion, method FROM consensus WHERE queue = ?",
                                                    [queue])}  # fmt: skip
    waiting = {(c["item_id"], c["criterion"]) for c in backlog(store, queue)}
    settled = 0
    for item_id, key, values in labels:
        c = {**criteria[key], "options": options[key]}
        if len(values) < 2 or c["type"] == "text":
            continue
        if _settled(values, c, 1):
            settled += 1
            assert resolved[item_id, key] in TRUSTED and (item_id, key) not in waiting, (item_id, key, values)
        elif criteria[key].get("required", True):
            assert (item_id, key) in waiting and (item_id, key) not in resolved, (item_id, key, values)
    assert settled > 20 and result.backlog == len(waiting) > 0
