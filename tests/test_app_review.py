"""The review view through AppTest on a small seeded store: keys, suggestions, blindness, double submits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from review_support import seed_queue
from streamlit.testing.v1 import AppTest

from review_app import rubric_form
from reviewdesk.config import Settings
from reviewdesk.review import accounts
from reviewdesk.review.drafts import Draft
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import item_submissions, submit
from reviewdesk.stores.review_schema import items
from reviewdesk.stores.reviewstore import ReviewStore

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "review_app" / "app.py")
PASSWORD = "correct horse battery"
SUGGESTION = {"correctness": {"value": "incorrect", "confidence": 0.8, "model_version": "heuristic-1"}}


def seeded(tmp_path: Path, policy: str = "show", reviewers_needed: int = 1) -> ReviewStore:
    """A data dir whose store has reviewer1 and reviewer2, and 6 items suggesting `incorrect`."""
    store = ReviewStore(Settings.load(tmp_path).review_url)
    for name in ("reviewer1", "reviewer2"):
        accounts.add_user(store, name, "reviewer", PASSWORD)
    seed_queue(store, n=6, reviewers_needed=reviewers_needed, assignees=["reviewer1", "reviewer2"], suggestions=policy)
    with store.write() as conn:
        conn.execute(items.update().values(suggestions=SUGGESTION))
    return store


def open_review(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str = "reviewer1") -> AppTest:
    monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input[0].input(name)
    at.text_input[1].input(PASSWORD)
    at = at.button[0].click().run()
    return at.switch_page("views/review.py").run()


def click(at: AppTest, label: str) -> AppTest:
    return next(b for b in at.button if b.label == label).click().run()


def infos(at: AppTest) -> str:
    return " ".join(i.value for i in at.info)


def marks(at: AppTest) -> str:
    """The "Suggested: ..." captions beside the criteria (a shown suggestion pre-selects its option)."""
    return " ".join(c.value for c in at.caption if "Suggested:" in c.value)


def test_number_key_buttons_answer_the_highlighted_criterion_then_move_on(tmp_path, monkeypatch):
    store = seeded(tmp_path)
    at = open_review(tmp_path, monkeypatch)
    assert "Keys answer **Correctness**" in " ".join(m.value for m in at.markdown)
    keys = [b for b in at.button if b.proto.shortcut]
    assert [(b.label, b.proto.shortcut) for b in keys if b.label not in ("Submit", "Skip", "Accept suggestions")] == [
        ("correct", "1"), ("partially_correct", "2"), ("incorrect", "3"),
    ]  # fmt: skip
    at = click(at, "incorrect")
    assert at.radio[0].value == "incorrect"
    assert "Keys answer **Helpfulness**" in " ".join(m.value for m in at.markdown)
    at = click(at, "4")
    assert at.get("segmented_control")[0].value == 4
    item_id = at.session_state["item"]["item_id"]
    at = click(at, "Submit")
    assert not at.exception
    [stored] = item_submissions(store, item_id)
    assert stored["answers"] == {"correctness": "incorrect", "helpfulness": 4, "notes": None}
    assert stored["suggestion_shown"] is True


def test_help_panel_lists_the_shortcuts_and_the_countdown_shows(tmp_path, monkeypatch):
    seeded(tmp_path)
    at = open_review(tmp_path, monkeypatch)
    text = " ".join(m.value for m in at.markdown)
    assert "**Ctrl+Enter** | submit" in text and "**Ctrl+K** | skip" in text and "**1** to **9**" in text
    [countdown] = [p for p in at.get("progress") if "Reserved for you for" in p.proto.text]
    assert countdown.proto.text in ("Reserved for you for 30:00", "Reserved for you for 29:59")


@pytest.mark.parametrize(("policy", "visible"), [("show", True), ("hide", False), ("after_answer", False)])
def test_suggestions_show_only_under_their_policy(tmp_path, monkeypatch, policy: str, visible: bool):
    seeded(tmp_path, policy)
    at = open_review(tmp_path, monkeypatch)
    # Shown, a suggestion pre-selects its option and is marked beside its criterion (no longer an info box).
    assert ("Suggested: incorrect — 80% confident (model heuristic-1)" in marks(at)) is visible
    assert (at.radio[0].value == "incorrect") is visible


def test_randomized_policy_shows_suggestions_exactly_where_it_records_them(tmp_path, monkeypatch):
    store = seeded(tmp_path, "randomized")
    at = open_review(tmp_path, monkeypatch)
    seen = {}
    while at.session_state["item"] is not None:
        seen[at.session_state["item"]["item_id"]] = "heuristic-1" in marks(at)
        at = click(click(click(at, "correct"), "3"), "Submit")
    assert len(seen) == 6 and 0 < sum(seen.values()) < 6  # both arms occur among six items
    recorded = {i: item_submissions(store, i)[0]["suggestion_shown"] for i in seen}
    assert recorded == seen


def test_after_answer_reveals_the_suggestion_after_submit_then_n_moves_on(tmp_path, monkeypatch):
    store = seeded(tmp_path, "after_answer")
    at = open_review(tmp_path, monkeypatch)
    first = at.session_state["item"]["item_id"]
    at = click(click(click(at, "correct"), "5"), "Submit")
    assert "The model's suggestions for the item you just answered" in at.success[0].value
    assert "correctness: incorrect" in infos(at)
    assert item_submissions(store, first)[0]["suggestion_shown"] is False  # answered before seeing it
    next_button = next(b for b in at.button if b.label == "Next item")
    assert next_button.proto.shortcut.upper() == "N"
    at = next_button.click().run()
    assert at.session_state["item"]["item_id"] != first and not infos(at)


def test_reviewer_never_sees_other_reviewers_answers_or_the_gold_answer(tmp_path, monkeypatch):
    store = seeded(tmp_path, "hide", reviewers_needed=2)
    with store.write() as conn:
        conn.execute(items.update().values(is_gold=True, gold_answer={"correctness": "GOLD-ANSWER-XYZ"}))
    item = next_item(store, "support-quality", "reviewer2")
    other = Draft({"correctness": "OTHER-ANSWER-XYZ", "helpfulness": 1}, comment="OTHER-COMMENT-XYZ")
    submit(store, item["item_id"], "reviewer2", other)
    at = open_review(tmp_path, monkeypatch)
    assert at.session_state["item"]["item_id"] == item["item_id"]  # the same item, still needing a review
    shown = at.get("json") + at.get("code") + at.get("html")
    page = json.dumps(at._tree.__repr__()) + " ".join(str(e.value) for e in shown)
    assert f"answer {item['position']}" in page  # the page text is all here: the run's output is
    assert "XYZ" not in page
    assert "gold_answer" not in at.session_state["item"] and "is_gold" not in at.session_state["item"]


def test_double_submit_from_a_second_tab_stores_one_and_tells_the_second(tmp_path, monkeypatch):
    store = seeded(tmp_path)
    first_tab = open_review(tmp_path, monkeypatch)
    second_tab = open_review(tmp_path, monkeypatch)
    item_id = first_tab.session_state["item"]["item_id"]
    assert second_tab.session_state["item"]["item_id"] == item_id  # the reviewer's held item, in both tabs
    first_tab = click(click(click(first_tab, "correct"), "4"), "Submit")
    second_tab = click(click(click(second_tab, "incorrect"), "1"), "Submit")
    assert not second_tab.exception
    assert "was already submitted (from another tab, or a double click)" in second_tab.warning[0].value
    [stored] = item_submissions(store, item_id)
    assert stored["answers"]["correctness"] == "correct"


def test_edit_after_submit_stores_a_new_revision_and_keeps_the_first(tmp_path, monkeypatch):
    store = seeded(tmp_path)
    at = open_review(tmp_path, monkeypatch)
    item_id = at.session_state["item"]["item_id"]
    at = click(click(click(at, "correct"), "4"), "Submit")
    at = at.switch_page("views/my_submissions.py").run()
    assert not at.exception
    assert at.radio[0].value == "correct" and at.get("segmented_control")[0].value == 4  # starts from the stored
    at.radio[0].set_value("incorrect")
    at.text_area[1].input("Changed my mind.")  # 0 is the notes criterion, 1 the comment
    at = click(at, "Save as a new revision")
    assert not at.exception
    assert "Saved as revision 2" in at.success[0].value
    revisions = item_submissions(store, item_id)
    assert [(r["revision"], r["answers"]["correctness"], r["comment"]) for r in revisions] == [
        (1, "correct", None), (2, "incorrect", "Changed my mind."),
    ]  # fmt: skip
    at = click(at, "Save as a new revision")  # the same answer again: nothing is added
    assert "Nothing changed" in at.info[0].value and len(item_submissions(store, item_id)) == 2


def test_edit_page_lists_only_my_own_submissions(tmp_path, monkeypatch):
    store = seeded(tmp_path)
    item = next_item(store, "support-quality", "reviewer2")
    submit(store, item["item_id"], "reviewer2", Draft({"correctness": "correct", "helpfulness": 5}))
    at = open_review(tmp_path, monkeypatch).switch_page("views/my_submissions.py").run()
    assert "You have not submitted anything in this queue yet." in infos(at)


def test_pairwise_preference_maps_to_run_ids_and_back():
    item = {"kind": "pairwise", "run_a": "run-1", "run_b": "run-2", "left_run_id": "run-2"}  # B's run shown left
    for label, run_id in [("A better", "run-2"), ("B better", "run-1"), ("Tie", "tie")]:
        assert rubric_form.stored(item, {"preference": label, "x": 1}) == {"preference": run_id, "x": 1}
        assert rubric_form.shown(item, {"preference": run_id}) == {"preference": label}


def test_a_key_pressed_before_the_page_redraws_answers_the_next_criterion(tmp_path, monkeypatch):
    seeded(tmp_path)
    at = open_review(tmp_path, monkeypatch)
    key_1 = next(b for b in at.button if b.proto.shortcut == "1")  # drawn while correctness was highlighted
    at = key_1.click().run()
    assert at.radio[0].value == "correct"
    at = key_1.click().run()  # the same digit again, from the page as it was before the redraw
    assert at.radio[0].value == "correct"  # not overwritten
    assert at.get("segmented_control")[0].value == 1  # the next criterion got it
