"""Suggestions the reviewer can use, through AppTest: a shown suggestion pre-selects its option, marked with the
model's confidence and (escaped) reason; `A` accepts; and the submission records accepted, changed or left."""

from __future__ import annotations

from pathlib import Path

import pytest
from review_support import seed_queue
from streamlit.testing.v1 import AppTest
from test_app_review import PASSWORD, click, marks, open_review

from reviewdesk.config import Settings
from reviewdesk.review import accounts
from reviewdesk.review.submissions import item_submissions
from reviewdesk.stores.review_schema import items
from reviewdesk.stores.reviewstore import ReviewStore

REASON = "The call ended with an error [see](http://evil.example/x.png) <b>"
SUGGESTION = {"correctness": {"value": "incorrect", "confidence": 0.6, "model_version": "heuristic-1",
                              "reason": REASON}}  # fmt: skip


def seeded(tmp_path: Path, suggestions: dict = SUGGESTION) -> ReviewStore:
    store = ReviewStore(Settings.load(tmp_path).review_url)
    accounts.add_user(store, "reviewer1", "reviewer", PASSWORD)
    seed_queue(store, n=3, reviewers_needed=1, assignees=["reviewer1"], suggestions="show")
    with store.write() as conn:
        conn.execute(items.update().values(suggestions=suggestions))
    return store


def submitted(store: ReviewStore, at: AppTest) -> dict:
    """Submit the item on screen and return its stored submission."""
    item_id = at.session_state["item"]["item_id"]
    at = click(at, "Submit")
    assert not at.exception and at.session_state["item"]["item_id"] != item_id
    [row] = item_submissions(store, item_id)
    return row


def accept_button(at: AppTest):
    return next(b for b in at.button if b.label == "Accept suggestions")


def test_a_shown_suggestion_is_pre_selected_and_marked_with_its_escaped_reason(tmp_path, monkeypatch):
    seeded(tmp_path)
    at = open_review(tmp_path, monkeypatch)
    assert at.radio[0].value == "incorrect"  # pre-selected
    mark = marks(at)
    assert "Suggested: incorrect — 60% confident (model heuristic-1)." in mark
    assert "**A** to accept" in mark
    assert "The call ended with an error \\[see\\](http:\u2060//evil.example/x.png) \\<b>" in mark  # inert text
    assert "Keys answer **Correctness**" in " ".join(m.value for m in at.markdown)  # still the reviewer's to answer
    assert accept_button(at).proto.shortcut.upper() == "A"
    assert "**A** | accept every model suggestion" in " ".join(m.value for m in at.markdown)  # in the shortcuts


def test_the_accept_key_accepts_and_the_submission_records_it(tmp_path, monkeypatch):
    store = seeded(tmp_path)
    at = open_review(tmp_path, monkeypatch)
    at = accept_button(at).click().run()
    assert "accepted" in marks(at) and not [b for b in at.button if b.label == "Accept suggestions"]
    assert "Keys answer **Helpfulness**" in " ".join(m.value for m in at.markdown)  # the keys move on
    at = click(at, "4")
    row = submitted(store, at)
    assert row["answers"]["correctness"] == "incorrect" and row["suggestion_outcomes"] == {"correctness": "accepted"}
    assert row["suggestion_shown"] is True


def test_a_changed_answer_is_recorded_as_changed(tmp_path, monkeypatch):
    store = seeded(tmp_path)
    at = open_review(tmp_path, monkeypatch)
    at = click(at, "correct")  # number key 1 on the pre-selected criterion: the reviewer's own answer
    assert at.radio[0].value == "correct" and "you changed it" in marks(at)
    at = click(at, "4")
    row = submitted(store, at)
    assert row["answers"]["correctness"] == "correct" and row["suggestion_outcomes"] == {"correctness": "changed"}


def test_untouched_is_left_and_reselected_is_accepted(tmp_path, monkeypatch):
    store = seeded(tmp_path)
    at = open_review(tmp_path, monkeypatch)
    at = at.get("segmented_control")[0].set_value(3).run()  # answers helpfulness only, with the mouse
    assert submitted(store, at)["suggestion_outcomes"] == {"correctness": "left"}

    at = at.radio[0].set_value("correct").run()  # the next item: changed with the mouse, then back
    at = at.radio[0].set_value("incorrect").run()
    assert "accepted" in marks(at)
    at = at.get("segmented_control")[0].set_value(3).run()
    assert submitted(store, at)["suggestion_outcomes"] == {"correctness": "accepted"}


@pytest.mark.parametrize("value", ["excellent", 0.6, None])
def test_a_suggestion_the_form_cannot_select_is_listed_not_pre_selected(tmp_path, monkeypatch, value):
    store = seeded(tmp_path, {"correctness": {"value": value, "confidence": 0.6, "model_version": "m"}})
    at = open_review(tmp_path, monkeypatch)
    assert at.radio[0].value is None and not marks(at) and not at.exception
    assert "correctness:" in " ".join(i.value for i in at.info)  # shown as before, as the model's guess
    at = click(click(at, "correct"), "4")
    assert submitted(store, at)["suggestion_outcomes"] is None


def test_a_pairwise_preference_pre_selects_the_side_its_run_is_shown_on(tmp_path, monkeypatch):
    store = ReviewStore(Settings.load(tmp_path).review_url)
    accounts.add_user(store, "reviewer1", "reviewer", PASSWORD)
    seed_queue(store, "support-ab", n=2, reviewers_needed=1, assignees=["reviewer1"], suggestions="show")
    runs = {r: {"run_id": r, "inputs": {"q": "?"}, "outputs": {"text": f"answer of {r}"}} for r in ("r-1", "r-2")}
    with store.write() as conn:  # r-2 is shown on the left (A); the model prefers it
        conn.execute(items.update().values(
            kind="pairwise", run_id=None, run_a="r-1", run_b="r-2", left_run_id="r-2", payload={"runs": runs},
            suggestions={"preference": {"value": "r-2", "confidence": 0.75, "model_version": "pairwise-heuristic-1",
                                        "reason": "The other answer: the call ended with an error"}},
        ))  # fmt: skip
    at = open_review(tmp_path, monkeypatch)
    assert at.radio[0].value == "A better" and "Suggested: A better — 75% confident" in marks(at)
    at = accept_button(at).click().run()
    row = submitted(store, at)
    assert row["answers"]["preference"] == "r-2" and row["suggestion_outcomes"] == {"preference": "accepted"}
