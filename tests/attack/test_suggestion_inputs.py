"""Suggestions and their outcomes from outside the library: a draft naming an unknown outcome is refused before
anything is stored, and a stored suggestion of any shape never breaks the review form (it is just not
pre-selected)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from review_app.suggested import describe, proposals
from reviewdesk.review.drafts import Draft

CRITERIA = [
    {"key": "correctness", "type": "categorical", "options": ["correct", "incorrect"]},
    {"key": "helpfulness", "type": "ordinal", "options": [1, 2, 3]},
    {"key": "ok", "type": "boolean"},
    {"key": "notes", "type": "text"},
]


@pytest.mark.parametrize("outcomes", [{"correctness": "maybe"}, {"correctness": None}, {1: "accepted"},
                                      {"correctness": ["accepted"]}])  # fmt: skip
def test_a_draft_with_an_unknown_outcome_is_refused(outcomes: dict):
    with pytest.raises(ValueError, match="accepted, changed, left"):
        Draft({"correctness": "correct"}, suggestion_outcomes=outcomes)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["correctness", "helpfulness", "ok", "notes", "other"]), JSONISH, max_size=5))
def test_any_stored_suggestion_shape_pre_selects_only_a_valid_option(given_suggestions: dict):
    item = {"kind": "single", "suggestions": given_suggestions}
    for key, s in proposals(item, CRITERIA).items():
        c = next(c for c in CRITERIA if c["key"] == key)
        allowed = [True, False] if c["type"] == "boolean" else c["options"]
        assert any(s["value"] == o and type(s["value"]) is type(o) for o in allowed)
        describe(s)  # any confidence, version or reason is shown as text


def test_a_preference_for_a_run_not_on_screen_is_not_pre_selected():
    item = {"kind": "pairwise", "run_a": "r1", "run_b": "r2", "left_run_id": "r1",
            "suggestions": {"preference": {"value": "r9", "confidence": 0.9, "model_version": "m"}}}  # fmt: skip
    question = {"key": "preference", "type": "categorical", "options": ["A better", "B better", "Tie"]}
    assert proposals(item, [question]) == {}
    item["suggestions"]["preference"]["value"] = "r2"
    assert proposals(item, [question])["preference"]["value"] == "B better"
