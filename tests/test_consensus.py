"""Consensus rules on hand-made cases: methods, confidence, tolerance, the queue's policy, ties that wait for a lead."""

from __future__ import annotations

import pytest
from publish_support import load_queue
from pydantic import ValidationError

from reviewdesk.labels.consensus import resolve, resolve_item
from schemas.promotion import TRUSTED
from schemas.queue import ConsensusPolicy
from schemas.rubric import PREFERENCE_CRITERION, Criterion

CORRECTNESS = Criterion(key="correctness", type="categorical", options=["correct", "partially_correct", "incorrect"])
HELPFULNESS = Criterion(key="helpfulness", type="ordinal", options=[1, 2, 3, 4, 5])
LEVEL = Criterion(key="level", type="ordinal", options=["low", "mid", "high"], tolerance=0)
SCORE = Criterion(key="score", type="numeric", min=0, max=10, tolerance=1.5)
OPTIONAL = Criterion(key="tone", type="categorical", options=["ok", "rude"], required=False)
STRICT = ConsensusPolicy(adjudicate="any_disagreement")


def outcome(values, c, policy=STRICT):
    r = resolve(values, c, policy)
    return r.value, r.method, r.confidence, r.agreeing, r.disagreement


@pytest.mark.parametrize(("values", "expected"), [
    (["correct"], ("correct", "single", 2 / 3, 1, None)),
    (["correct", "correct"], ("correct", "unanimous", 0.75, 2, None)),
    (["correct"] * 3, ("correct", "unanimous", 0.8, 3, None)),
    (["correct", "correct", "incorrect"],
     ("correct", "majority", 0.6, 2, "reviewers disagree: correct (2), incorrect (1)")),
    (["correct", "incorrect"], (None, None, None, 0, "no majority, reviewers disagree: correct (1), incorrect (1)")),
    (["correct", "incorrect", "partially_correct"], (None, None, None, 0,
     "no majority, reviewers disagree: correct (1), incorrect (1), partially_correct (1)")),
])  # fmt: skip
def test_under_any_disagreement_a_categorical_mismatch_goes_to_a_lead_and_a_tie_has_no_value(values, expected):
    assert outcome(values, CORRECTNESS) == expected


@pytest.mark.parametrize(("values", "expected"), [
    (["correct", "correct", "incorrect"], ("correct", "majority", 0.6, 2, None)),
    (["correct", "incorrect", "correct", "correct"], ("correct", "majority", 4 / 6, 3, None)),
    (["correct", "incorrect"], (None, None, None, 0, "no majority, reviewers disagree: correct (1), incorrect (1)")),
    (["correct", "correct", "incorrect", "incorrect"],
     (None, None, None, 0, "no majority, reviewers disagree: correct (2), incorrect (2)")),
])  # fmt: skip
def test_by_default_a_strict_majority_is_trusted_and_only_no_majority_goes_to_a_lead(values, expected):
    assert outcome(values, CORRECTNESS, ConsensusPolicy()) == expected
    assert resolve(values, CORRECTNESS).disagreement == expected[4]  # no_majority is the default policy


def test_a_pairwise_preference_follows_the_policy():
    two_to_one = ["run-a", "run-a", "tie"]
    assert outcome(two_to_one, PREFERENCE_CRITERION, ConsensusPolicy())[:2] == ("run-a", "majority")
    assert outcome(two_to_one, PREFERENCE_CRITERION, ConsensusPolicy())[4] is None
    assert outcome(two_to_one, PREFERENCE_CRITERION)[4] == "reviewers disagree: run-a (2), tie (1)"
    assert outcome(["run-a", "run-b", "tie"], PREFERENCE_CRITERION, ConsensusPolicy())[4] == (
        "no majority, reviewers disagree: run-a (1), run-b (1), tie (1)"
    )


def test_the_queue_tolerance_overrides_the_rubric_and_a_median_within_it_is_trusted():
    wide = ConsensusPolicy(tolerance={"helpfulness": 2})
    # 2 and 4 are two steps apart: beyond the rubric's default of 1, within the queue's 2 (median_low -> 2)
    assert outcome([2, 4], HELPFULNESS, ConsensusPolicy())[4] == "no majority, answers spread beyond 1: 2 (1), 4 (1)"
    assert outcome([2, 4], HELPFULNESS, wide) == (2, "median", 0.5, 1, None)
    assert outcome([1, 3, 5], HELPFULNESS, ConsensusPolicy(tolerance={"helpfulness": 4})) == (3, "median", 0.4, 1, None)
    assert outcome(["low", "mid"], LEVEL, ConsensusPolicy(tolerance={"level": 1}))[:2] == ("low", "median")
    assert outcome([5.0, 7.0], SCORE, ConsensusPolicy(tolerance={"score": 2}))[:2] == (6.0, "median")
    assert "median" in TRUSTED and "single" not in TRUSTED


def test_beyond_the_tolerance_a_majority_stands_by_default_and_waits_under_any_disagreement():
    assert outcome([1, 1, 5], HELPFULNESS, ConsensusPolicy()) == (1, "majority", 0.6, 2, None)
    assert outcome([1, 1, 5], HELPFULNESS) == (1, "majority", 0.6, 2, "answers spread beyond 1: 1 (2), 5 (1)")
    assert outcome([1, 3, 5], HELPFULNESS, ConsensusPolicy())[4] == (
        "no majority, answers spread beyond 1: 1 (1), 3 (1), 5 (1)"
    )


def test_missing_answers_are_no_answers():
    # a reviewer who only flagged the item gave no answer: the other two decide, None is never a value
    got = resolve_item({"correctness": ["correct", None, "correct"], "helpfulness": [None, 4, None]},
                       [CORRECTNESS, HELPFULNESS])  # fmt: skip
    assert {k: (r.value, r.method, r.reviewers, r.agreeing) for k, r in got.items()} == {
        "correctness": ("correct", "unanimous", 2, 2), "helpfulness": (4, "single", 1, 1),
    }  # fmt: skip
    assert resolve_item({"correctness": [None, None]}, [CORRECTNESS]) == {}


def test_ordinal_within_tolerance_resolves_without_a_lead():
    assert outcome([3, 4], HELPFULNESS) == (3, "median", 0.5, 1, None)  # lower middle, one step apart
    assert outcome([4, 4, 3], HELPFULNESS) == (4, "majority", 0.6, 2, None)
    assert outcome([2, 4], HELPFULNESS) == (None, None, None, 0, "no majority, answers spread beyond 1: 2 (1), 4 (1)")
    assert outcome(["low", "mid"], LEVEL)[4] == "no majority, answers spread beyond 0: low (1), mid (1)"
    assert outcome(["mid", "mid", "high"], LEVEL)[:2] == ("mid", "majority")


def test_numeric_spread_is_in_value_units():
    assert outcome([7.0, 8.0, 8.5], SCORE) == (8.0, "median", 0.4, 1, None)
    assert outcome([5.0, 7.0], SCORE)[4] == "no majority, answers spread beyond 1.5: 5.0 (1), 7.0 (1)"


def test_an_optional_criterion_never_waits_for_a_lead():
    assert outcome(["ok", "rude"], OPTIONAL) == (None, None, None, 0, None)


def test_gold_then_adjudication_then_reviewers():
    answers = {"correctness": ["correct", "incorrect"], "helpfulness": [4, 4], "preference": ["run-1", "run-1"]}
    got = resolve_item(answers, [CORRECTNESS, HELPFULNESS, PREFERENCE_CRITERION], gold={"helpfulness": 2},
                       adjudicated={"correctness": "incorrect"})  # fmt: skip
    assert {k: (r.value, r.method, r.confidence, r.agreeing) for k, r in got.items()} == {
        "correctness": ("incorrect", "adjudicated", 1.0, 1),
        "helpfulness": (2, "gold", 1.0, 0),
        "preference": ("run-1", "unanimous", 0.75, 2),
    }


def test_a_queue_policy_names_only_graded_criteria_and_known_rules():
    assert load_queue("support-quality").consensus == ConsensusPolicy(adjudicate="no_majority", tolerance={})
    q = load_queue("support-quality", consensus={"adjudicate": "any_disagreement", "tolerance": {"helpfulness": 2}})
    assert q.consensus.spread_allowed(q.rubric.criteria[1]) == 2
    with pytest.raises(ValidationError, match=r"consensus\.tolerance names 'correctness'"):
        load_queue("support-quality", consensus={"tolerance": {"correctness": 1}})
    with pytest.raises(ValidationError, match="no_majority"):
        load_queue("support-quality", consensus={"adjudicate": "always"})
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        load_queue("support-quality", consensus={"tolerance": {"helpfulness": -1}})
