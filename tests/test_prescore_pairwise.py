"""Pairwise pre-scoring: the heuristic's rules on both runs suggest a preference (the better run's id),
the demo's A/B batch gets them, uncertainty-first review works for pairs, the human-vs-model report
covers the preference, and the review page shows a suggested preference as Answer A / Answer B."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import yaml
from publish_support import demo_warehouse, insert_pairwise_batch, load_queue
from review_support import seed_queue
from sklearn.metrics import cohen_kappa_score
from streamlit.testing.v1 import AppTest

from reviewdesk.config import Settings
from reviewdesk.errors import ConfigError
from reviewdesk.prescore.contracts import PairwiseFallbackWarning
from reviewdesk.prescore.factory import get_scorer
from reviewdesk.prescore.features import RUN_FIELDS, RUN_SELECT, runs_frame
from reviewdesk.prescore.heuristic import NOT_SEPARATED, PAIRWISE_VERSION, RULES, PairwiseHeuristic, _signals
from reviewdesk.prescore.run import prescore_batch
from reviewdesk.quality.suggestion_quality import human_vs_model
from reviewdesk.review import accounts
from reviewdesk.review.drafts import Draft
from reviewdesk.review.publication import publish
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import submit
from reviewdesk.stores.review_schema import items
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "review_app" / "app.py")
PASSWORD = "correct horse battery"
CONFIDENCE = {why: c for why, _, c in RULES}


def run(run_id: str, **fields) -> dict:
    base = {"run_id": run_id, "status": "success", "output_text": "Your order ships tomorrow.", "input_text": "Where?"}
    return {f: None for f in RUN_FIELDS} | base | fields


FINE = {}
ERROR = {"status": "error", "error": "Timeout", "output_text": ""}
EMPTY = {"output_text": "  "}
REFUSAL = {"output_text": "I'm sorry, but I can't assist with that."}
DOWN = {"user_feedback": -1.0}
UP = {"user_feedback": 1.0}


def pair(a: dict, b: dict) -> dict:
    """The suggestions for one pair: run "a" with fields `a` against run "b" with fields `b`."""
    [out] = PairwiseHeuristic().score_pairs(runs_frame([run("a", **a)]), runs_frame([run("b", **b)]))
    return out


@pytest.mark.parametrize(("bad", "why"), [(ERROR, "error status"), (EMPTY, "empty output"),
                                          (REFUSAL, "refusal phrase"), (DOWN, "thumbs-down")])  # fmt: skip
def test_a_failing_run_against_a_fine_one_suggests_the_fine_one_on_either_side(bad: dict, why: str):
    for a, b, better in ((bad, FINE, "b"), (FINE, bad, "a")):
        s = pair(a, b)["preference"]
        assert s.value == better and s.confidence == pytest.approx(CONFIDENCE[why]) and s.confidence > 0.5
        assert s.model_version == PAIRWISE_VERSION


def test_a_thumbs_up_is_preferred_weakly_and_the_milder_failure_more_strongly():
    up = pair(FINE, UP)["preference"]
    assert (up.value, up.confidence) == ("b", CONFIDENCE["thumbs-up"])
    milder = pair(ERROR, DOWN)["preference"]  # both bad by the rules, but an error gives no answer at all
    assert milder.value == "b" and 0.5 < milder.confidence < CONFIDENCE["error status"]
    assert pair(DOWN, UP)["preference"].value == "b"


@pytest.mark.parametrize("same", [FINE, ERROR, REFUSAL, DOWN, UP])
def test_a_pair_the_rules_cannot_separate_gets_no_suggestion_not_a_tie(same: dict):
    assert pair(same, same) == {}
    assert pair(same, {**same, "latency_ms": 900, "completion_tokens": 80}) == {}  # other numbers, the same rule


def test_pairwise_queues_get_the_pairwise_heuristic_and_the_judge_falls_back_with_a_warning(tmp_path: Path):
    queue = load_queue("support-ab")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        for name in (None, "sklearn", "heuristic"):
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # no warning: models are never trained for pairwise queues
                chosen = get_scorer(name, queue, wh, tmp_path / "models")
            assert isinstance(chosen, PairwiseHeuristic) and chosen.versions() == {"preference": PAIRWISE_VERSION}
        assert get_scorer("none", queue, wh, tmp_path) is None
        with pytest.raises(ConfigError, match="no judge endpoint"):
            get_scorer("http_judge", queue, wh, tmp_path)
        judged = load_queue("support-ab", prescore={"judge": {"url": "http://127.0.0.1:9/v1", "model": "m"}})
        with pytest.warns(PairwiseFallbackWarning, match="no pairwise prompt"):
            chosen = get_scorer("http_judge", judged, wh, tmp_path)
        assert isinstance(chosen, PairwiseHeuristic) and "heuristic rules instead" in chosen.warnings[0]


def pair_rules(wh: Warehouse, batch_id: str) -> dict[str, tuple[int, int]]:
    """Per item of a pairwise batch, the first rule firing on run_a and on run_b (-1: none)."""
    out = {}
    for side in ("a", "b"):
        rows = wh.execute(
            f"SELECT i.item_id, {RUN_SELECT} FROM items i JOIN runs r ON r.run_id = i.run_{side} "
            "WHERE i.batch_id = ? ORDER BY i.position",
            [batch_id],
        )
        for (item_id, *_), rule in zip(rows, _signals(runs_frame([r[1:] for r in rows])), strict=True):
            out.setdefault(item_id, []).append(int(rule))
    return {k: tuple(v) for k, v in out.items()}


def test_the_demo_ab_batch_gets_a_preference_for_every_pair_the_rules_separate(demo_stores):
    store, wh = demo_stores
    [(batch_id, count)] = wh.execute("SELECT batch_id, count(*) FROM items WHERE queue = 'support-ab' GROUP BY ALL")
    rules = pair_rules(wh, batch_id)
    suggested = {i: (json.loads(v), c, m) for i, v, c, m in wh.execute(
        "SELECT item_id, value::VARCHAR, confidence, model_version FROM suggestions "
        "WHERE batch_id = ? AND criterion = 'preference'", [batch_id])}  # fmt: skip
    runs = dict(wh.execute("SELECT item_id, [run_a, run_b] FROM items WHERE batch_id = ?", [batch_id]))
    assert len(rules) == count > 0 and 0 < len(suggested) < count  # some pairs separate, some do not
    for item_id, (rule_a, rule_b) in rules.items():
        if rule_a == rule_b:  # the one stated reason for no suggestion
            assert item_id not in suggested
        else:
            value, confidence, version = suggested[item_id]
            assert value in runs[item_id] and 0.5 < confidence <= 1 and version == PAIRWISE_VERSION
    in_store = {i["item_id"]: i["suggestions"] for i in store.items("support-ab")}  # publish carried them
    assert {i for i, s in in_store.items() if s} == set(suggested)
    assert all(in_store[i]["preference"]["value"] == v for i, (v, _, _) in suggested.items())
    report = prescore_batch(wh, load_queue("support-ab"), batch_id, PairwiseHeuristic(), store=store)  # again
    assert (report.scored, report.unscored) == (len(suggested), {NOT_SEPARATED: count - len(suggested)})


@pytest.fixture
def ab_warehouse(tmp_path: Path):
    with demo_warehouse(tmp_path, runs=600) as wh:
        yield wh


def test_uncertainty_priority_reviews_unsuggested_pairs_first_then_the_least_confident(ab_warehouse, tmp_path):
    queue = load_queue("support-ab", priority="uncertainty", reviewers_per_item=1, suggestions="show")
    n = insert_pairwise_batch(ab_warehouse, queue, "p1")
    report = prescore_batch(ab_warehouse, queue, "p1", get_scorer(None, queue, ab_warehouse, tmp_path))
    assert 0 < report.scored < n and report.unscored == {NOT_SEPARATED: n - report.scored}
    with ReviewStore(f"sqlite:///{tmp_path / 'review.sqlite'}") as store:
        accounts.add_user(store, "reviewer1", "reviewer", PASSWORD)
        publish(ab_warehouse, store, queue, "p1")
        order = []
        while (item := next_item(store, queue.name, "reviewer1")) is not None:
            order.append((item["suggestions"] or {}).get("preference", {}).get("confidence"))
            submit(store, item["item_id"], "reviewer1", Draft({"preference": "tie"}))
    unscored = order.count(None)
    assert len(order) == n and unscored == n - report.scored
    assert order[:unscored] == [None] * unscored and order[unscored:] == sorted(order[unscored:])


def test_human_vs_model_measures_the_preference_by_side_of_the_pair(ab_warehouse):
    queue = load_queue("support-ab")
    insert_pairwise_batch(ab_warehouse, queue, "p1")
    pairs = ab_warehouse.execute("SELECT item_id, run_a, run_b FROM items WHERE batch_id = 'p1' ORDER BY position")
    sides = ["run_a", "run_b", "tie"]
    suggested = [sides[i % 2] for i in range(12)]  # the model never suggests a tie
    consensus = [sides[i % 3] for i in range(12)]
    value = {"run_a": lambda a, b: a, "run_b": lambda a, b: b, "tie": lambda a, b: "tie"}
    for (item_id, a, b), s, c in zip(pairs, suggested, consensus, strict=False):
        ab_warehouse.execute(
            "INSERT INTO suggestions VALUES (?, 'p1', 'support-ab', 'preference', ?, 0.7, ?, 'heuristic', now(), NULL)",
            [item_id, json.dumps(value[s](a, b)), PAIRWISE_VERSION],
        )
        ab_warehouse.execute("INSERT INTO consensus VALUES (?, 'support-ab', 'preference', ?, NULL, 'majority', "
                             "0.6, 3, 2, now(), '')", [item_id, value[c](a, b)])  # fmt: skip
    from schemas.rubric import PREFERENCE_CRITERION

    out = human_vs_model(ab_warehouse, "support-ab", [PREFERENCE_CRITERION], "hide", resamples=100, seed=0)
    m = out["criteria"]["preference"]
    right = sum(s == c for s, c in zip(suggested, consensus, strict=True))
    assert (m["n_items"], m["accuracy"]) == (12, pytest.approx(right / 12))
    assert m["kappa"] == pytest.approx(cohen_kappa_score(suggested, consensus))  # on sides, not run ids
    assert m["model_versions"] == {PAIRWISE_VERSION: 12}


def ab_queue(policy: str) -> QueueConfig:
    raw = yaml.safe_load((ROOT / "queues" / "support-ab.yaml").read_text())
    return QueueConfig.model_validate({**raw, "suggestions": policy})


def seeded_pairs(tmp_path: Path, policy: str) -> ReviewStore:
    """Two A/B items: item 1 shows run-1b on the left, item 2 run-2a; both suggest run b, the second a tie."""
    store = ReviewStore(Settings.load(tmp_path).review_url)
    accounts.add_user(store, "reviewer1", "reviewer", PASSWORD)
    seed_queue(store, "support-ab", n=2, reviewers_needed=1, assignees=["reviewer1"], suggestions=policy)
    with store.write() as conn:
        for pos, left, value in ((1, "b", "run-1b"), (2, "a", "tie")):
            runs = {f"run-{pos}{s}": {"run_id": f"run-{pos}{s}", "inputs": "Where is my order?",
                                      "outputs": f"answer {pos}{s}", "model": f"secret-model-{s}"}
                    for s in "ab"}  # fmt: skip
            conn.execute(items.update().where(items.c.position == pos).values(
                kind="pairwise", run_id=None, run_a=f"run-{pos}a", run_b=f"run-{pos}b", left_run_id=f"run-{pos}{left}",
                payload={"runs": runs}, priority=-pos,
                suggestions={"preference": {"value": value, "confidence": 0.75, "model_version": PAIRWISE_VERSION}},
            ))  # fmt: skip
    return store


def open_review(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input[0].input("reviewer1")
    at.text_input[1].input(PASSWORD)
    at = at.button[0].click().run()
    return at.switch_page("views/review.py").run()


def infos(at: AppTest) -> str:
    return " ".join(i.value for i in at.info)


def marks(at: AppTest) -> str:
    """The "Suggested: ..." captions beside the questions."""
    return " ".join(c.value for c in at.caption if "Suggested:" in c.value)


def test_the_review_page_shows_a_suggested_preference_as_the_side_on_screen(tmp_path, monkeypatch):
    seeded_pairs(tmp_path, "show")
    at = open_review(tmp_path, monkeypatch)
    assert at.session_state["item"]["position"] == 1 and not at.exception
    # Shown, the suggested side is pre-selected and marked beside the question (no longer an info box).
    shown = marks(at)
    assert f"Suggested: A better — 75% confident (model {PAIRWISE_VERSION})" in shown  # run-1b is on the left
    assert at.radio[0].value == "A better"
    assert "run-1" not in shown and "secret-model" not in shown
    at = next(b for b in at.button if b.label == "B better").click().run()
    at = next(b for b in at.button if b.label == "Submit").click().run()
    assert at.session_state["item"]["position"] == 2
    assert "Suggested: Tie — 75% confident" in marks(at) and "run-2" not in marks(at)


def test_after_answer_reveals_the_preference_and_the_answer_as_sides(tmp_path, monkeypatch):
    seeded_pairs(tmp_path, "after_answer")
    at = open_review(tmp_path, monkeypatch)
    assert not infos(at)
    at = next(b for b in at.button if b.label == "B better").click().run()
    at = next(b for b in at.button if b.label == "Submit").click().run()
    assert "preference: Answer A" in infos(at) and "run-1" not in infos(at)
    assert at.get("json")[0].value == json.dumps({"preference": "B better", "margin": None, "reason": None})
