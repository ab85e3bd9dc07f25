"""Scorers say why: the heuristic names the rule that fired (for a pair, what fired on each run), the judge
gives a short reason, and the reason travels with the suggestion to the warehouse, the batch and the store."""

from __future__ import annotations

import pytest
from publish_support import demo_warehouse, insert_single_batch, load_queue
from test_judge import Judgeserver, make_judge, runs
from test_prescore import store_at
from test_prescore_pairwise import DOWN, ERROR, FINE, REFUSAL, UP, pair, run

from reviewdesk.prescore.contracts import MAX_REASON
from reviewdesk.prescore.features import runs_frame
from reviewdesk.prescore.heuristic import HeuristicScorer
from reviewdesk.prescore.run import prescore_batch
from reviewdesk.review.publication import publish
from reviewdesk.sample.batches import load_batch
from reviewdesk.stores.review_schema import items


@pytest.fixture
def server():
    s = Judgeserver()
    yield s
    s.close()


def single(**fields) -> dict:
    scorer = HeuristicScorer({"correctness": ("incorrect", "correct")})
    [out] = scorer.score(runs_frame([run("r", **fields)]))
    return out


@pytest.mark.parametrize(("fields", "reason"), [
    (ERROR, "The call ended with an error"), (REFUSAL, "The answer reads as a refusal"),
    (DOWN, "The user gave it a thumbs-down"), (UP, "The user gave it a thumbs-up"),
])  # fmt: skip
def test_the_heuristic_names_the_rule_that_fired(fields: dict, reason: str):
    assert single(**fields)["correctness"].reason == reason


def test_a_pair_reason_says_what_fired_on_each_run():
    s = pair(ERROR, FINE)["preference"]
    assert s.reason == "The other answer: the call ended with an error; this one: no rule fires"
    s = pair(DOWN, UP)["preference"]
    assert s.value == "b"
    assert s.reason == "The other answer: the user gave it a thumbs-down; this one: the user gave it a thumbs-up"


def test_the_judge_is_asked_for_a_reason_and_it_is_kept_short(server: Judgeserver):
    long = "Because " + "very " * 200 + "wrong."
    server.script = [("ok", {"correctness": {"value": "incorrect", "confidence": 0.8, "reason": " Says 3-7\n days. "},
                             "helpfulness": {"value": 2, "reason": long}})]  # fmt: skip
    [got] = make_judge(server.url).score(runs("Orders arrive in 3-7 days."))
    assert got["correctness"].reason == "Says 3-7 days."  # whitespace collapsed
    assert got["helpfulness"].reason == long[:MAX_REASON] and len(got["helpfulness"].reason) == MAX_REASON
    assert '"reason": "<why, in one short sentence>"' in server.requests[0]["messages"][0]["content"]


@pytest.mark.parametrize("reason", [None, 7, ["x"], {"a": 1}, "   "])
def test_a_judge_reason_that_is_not_text_is_dropped(server: Judgeserver, reason: object):
    answer = {"correctness": {"value": "incorrect", "reason": reason}, "helpfulness": {"value": 2}}
    server.script = [("ok", answer)]
    [got] = make_judge(server.url).score(runs("Orders arrive in 3-7 days."))
    assert got["correctness"].value == "incorrect" and got["correctness"].reason is None


def test_the_reason_reaches_the_warehouse_the_batch_and_the_review_store(tmp_path):
    with demo_warehouse(tmp_path) as wh, store_at(tmp_path / "review.sqlite") as store:
        reasons_travel(wh, store)


def by_item(batch_items) -> dict[str, str | None]:
    """Each suggestion's reason by "item criterion"."""
    return {f"{i['item_id']} {k}": s.get("reason") for i in batch_items for k, s in (i["suggestions"] or {}).items()}


def reasons_travel(wh, store) -> None:
    queue = load_queue("support-quality")
    insert_single_batch(wh, queue, "b1", n=40)
    scorer = HeuristicScorer.for_queue(queue)
    prescore_batch(wh, queue, "b1", scorer)
    kept = dict(wh.execute("SELECT item_id || ' ' || criterion, reason FROM suggestions WHERE batch_id = 'b1'"))
    assert kept and all(r and r[0].isupper() for r in kept.values())  # every heuristic suggestion says why
    batch = load_batch(wh, "b1").as_dict()
    assert by_item(batch["items"]) == kept
    publish(wh, store, queue, "b1")
    assert by_item(store.items(queue.name)) == kept
    with store.write() as conn:  # scored again after publishing: pushed to the store's untouched items
        conn.execute(items.update().values(suggestions=None))
    prescore_batch(wh, queue, "b1", scorer, store=store)
    assert by_item(store.items(queue.name)) == kept
