"""Consensus rules on hand-made cases: methods, confidence, tolerance, ties that wait for a lead."""

from __future__ import annotations

import pytest

from reviewdesk.labels.consensus import resolve, resolve_item
from schemas.rubric import PREFERENCE_CRITERION, Criterion

CORRECTNESS = Criterion(key="correctness", type="categorical", options=["correct", "partially_correct", "incorrect"])
HELPFULNESS = Criterion(key="helpfulness", type="ordinal", options=[1, 2, 3, 4, 5])
LEVEL = Criterion(key="level", type="ordinal", options=["low", "mid", "high"], tolerance=0)
SCORE = Criterion(key="score", type="numeric", min=0, max=10, tolerance=1.5)
OPTIONAL = Criterion(key="tone", type="categorical", options=["ok", "rude"], required=False)


def outcome(values, c):
    r = resolve(values, c)
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
def test_categorical_any_mismatch_goes_to_a_lead_and_a_tie_has_no_value(values, expected):
    assert outcome(values, CORRECTNESS) == expected


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
