"""Resolve on demo data: consensus per item and criterion, disputes to leads, decisions taken back in."""

from __future__ import annotations

import pytest

from reviewdesk.demo.simulate import simulate_reviews
from reviewdesk.errors import AccessDenied, ConfigError, ReviewConflict
from reviewdesk.labels.adjudication import backlog, case, decide
from reviewdesk.labels.collection import collect
from reviewdesk.labels.resolve import resolve_queue
from reviewdesk.quality.markdown import markdown
from reviewdesk.quality.report import queue_quality
from reviewdesk.review.drafts import Draft
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import revise, submit

QUEUE = "support-quality"


def consensus(wh, item_id: str) -> dict:
    rows = wh.execute("SELECT criterion, value, method, confidence FROM consensus WHERE item_id = ?", [item_id])
    return {criterion: (value, method, confidence) for criterion, value, method, confidence in rows}


def two_reviews(store, first: dict, second: dict) -> str:
    """One item reviewed by reviewer1 and reviewer2 with these answers; gold items are passed over."""
    while True:
        item = next_item(store, QUEUE, "reviewer1")
        if item["reviewers_needed"] == 2:
            break
        submit(store, item["item_id"], "reviewer1", Draft({"correctness": "correct", "helpfulness": 3}))
    submit(store, item["item_id"], "reviewer1", Draft(first))
    other = next_item(store, QUEUE, "reviewer2")
    while other["item_id"] != item["item_id"]:
        submit(store, other["item_id"], "reviewer2", Draft({"correctness": "correct", "helpfulness": 3}))
        other = next_item(store, QUEUE, "reviewer2")
    submit(store, item["item_id"], "reviewer2", Draft(second))
    return item["item_id"]


def test_agreeing_reviewers_make_a_unanimous_consensus_and_open_nothing(demo_stores):
    store, wh = demo_stores
    same = {"correctness": "correct", "helpfulness": 4}
    item = two_reviews(store, same, dict(same))
    collect(store, wh)
    result = resolve_queue(store, wh, QUEUE)
    assert consensus(wh, item) == {
        "correctness": ("correct", "unanimous", 0.75), "helpfulness": ("4", "unanimous", 0.75),
    }  # fmt: skip
    assert result.opened == 0 and backlog(store, QUEUE) == []


def test_a_dispute_waits_for_a_lead_whose_decision_becomes_the_consensus(demo_stores):
    store, wh = demo_stores
    item = two_reviews(store, {"correctness": "correct", "helpfulness": 4},
                       {"correctness": "incorrect", "helpfulness": 2})  # fmt: skip
    collect(store, wh)
    first = resolve_queue(store, wh, QUEUE)
    assert first.opened == 2 and first.backlog == 2
    assert consensus(wh, item) == {}  # a tie on both: no value until a lead decides
    assert {(c["criterion"], c["why"]) for c in backlog(store, QUEUE)} == {
        ("correctness", "no majority, reviewers disagree: correct (1), incorrect (1)"),
        ("helpfulness", "no majority, answers spread beyond 1: 4 (1), 2 (1)"),
    }
    seen = case(store, item, "lead")
    assert [(s["reviewer"], s["answers"]["correctness"]) for s in seen["submissions"]] == [
        ("reviewer1", "correct"), ("reviewer2", "incorrect"),
    ]  # fmt: skip
    decide(store, item, "correctness", "incorrect", "The order number in the answer is wrong.", "lead")
    again = resolve_queue(store, wh, QUEUE)
    assert again.opened == 0 and again.backlog == 1  # helpfulness is still open, and not opened twice
    assert consensus(wh, item) == {"correctness": ("incorrect", "adjudicated", 1.0)}


def test_a_revision_that_settles_one_criterion_withdraws_its_case_and_keeps_the_other(demo_stores):
    """reviewer2 revises correctness to agree: its case goes (the unanimous answer stands), helpfulness stays."""
    store, wh = demo_stores
    item = two_reviews(store, {"correctness": "correct", "helpfulness": 4},
                       {"correctness": "incorrect", "helpfulness": 2})  # fmt: skip
    collect(store, wh)
    assert resolve_queue(store, wh, QUEUE).backlog == 2
    revise(store, item, "reviewer2", Draft({"correctness": "correct", "helpfulness": 2}))
    collect(store, wh)
    again = resolve_queue(store, wh, QUEUE)
    assert (again.opened, again.settled, again.backlog) == (0, 1, 1)
    assert [c["criterion"] for c in backlog(store, QUEUE)] == ["helpfulness"]
    assert consensus(wh, item) == {"correctness": ("correct", "unanimous", 0.75)}


def test_only_leads_decide_with_a_reason_and_only_once(demo_stores):
    store, wh = demo_stores
    item = two_reviews(store, {"correctness": "correct", "helpfulness": 4},
                       {"correctness": "incorrect", "helpfulness": 4})  # fmt: skip
    collect(store, wh)
    resolve_queue(store, wh, QUEUE)
    with pytest.raises(AccessDenied):
        case(store, item, "reviewer1")  # reviewers never see each other's answers
    with pytest.raises(AccessDenied):
        decide(store, item, "correctness", "correct", "I think so", "reviewer1")
    with pytest.raises(ConfigError, match="Give a reason"):
        decide(store, item, "correctness", "correct", "  ", "lead")
    with pytest.raises(ConfigError, match="'correctness': 'maybe' must be one of correct, "):
        decide(store, item, "correctness", "maybe", "A value the rubric lacks.", "lead")
    with pytest.raises(ConfigError, match="Give a value for 'correctness'"):
        decide(store, item, "correctness", None, "No value.", "lead")
    decide(store, item, "correctness", "correct", "Policy allows it.", "lead")
    with pytest.raises(ReviewConflict, match="already decided by lead"):
        decide(store, item, "correctness", "incorrect", "Changed my mind.", "admin")


def test_simulated_queue_resolves_with_gold_and_consensus_beats_single_reviewers(demo_stores):
    store, wh = demo_stores
    simulate_reviews(store, wh, QUEUE, reviewers=3, accuracy=0.8, seed=11)
    collect(store, wh)
    result = resolve_queue(store, wh, QUEUE)
    assert result.items == wh.scalar("SELECT count(*) FROM items WHERE queue = ?", [QUEUE])
    assert result.methods["gold"] > 0 and result.methods["unanimous"] > 0 and result.backlog > 0
    gold_items = wh.scalar(
        "SELECT count(*) FROM consensus c JOIN items i USING (item_id) WHERE c.method = 'gold' AND NOT i.is_gold"
    )
    assert gold_items == 0


def test_pairwise_queue_report_measures_preference_agreement_and_position_bias(demo_stores, tmp_path):
    store, wh = demo_stores
    simulate_reviews(store, wh, "support-ab", reviewers=3, accuracy=0.9, seed=2)
    collect(store, wh)
    resolve_queue(store, wh, "support-ab")
    report = queue_quality(store, wh, "support-ab", resamples=200, seed=1)
    preference = report["criteria"]["preference"]
    assert preference["n_raters"] == 3 and preference["krippendorff_alpha"] > 0.5  # 90% accurate reviewers agree
    bias = preference["preference"]
    assert bias["n_decisions"] > 0 and 0 < bias["left_rate"] < 1 and bias["left_rate_ci"][0] < bias["left_rate"]
    assert "## Position bias (pairwise)" in markdown(report)
