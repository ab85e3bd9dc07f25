"""The rubric form's rules through AppTest: flag instead of rating, Yes/No booleans with no default,
option descriptions as captions and help, and corrections edited as plain text."""

from __future__ import annotations

from pathlib import Path

import pytest
from review_support import seed_queue
from streamlit.testing.v1 import AppTest
from test_app_review import open_review

from review_app.render import escape
from reviewdesk.config import Settings
from reviewdesk.review import accounts
from reviewdesk.review.submissions import item_submissions
from reviewdesk.stores.review_schema import items
from reviewdesk.stores.reviewstore import ReviewStore

PASSWORD = "correct horse battery"
RUBRIC = {
    "instructions": "Flag the item instead of rating it if the run is broken.",
    "criteria": [
        {"key": "correctness", "type": "categorical", "options": [
            {"value": "correct", "description": "every fact is right"},
            {"value": "incorrect", "description": "![x](http://127.0.0.1:9/leak) *wrong*"},
        ]},
        {"key": "grounded", "type": "boolean"},
        {"key": "polite", "type": "boolean", "required": False},
    ],
}  # fmt: skip
OUTPUTS = {
    "messages": [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "lookup_order", "arguments": '{"order_id": "A1"}'}}
        ]},
        {"role": "tool", "tool_call_id": "c1", "content": "shipped"},
        {"role": "assistant", "content": "Your order **A1** is on its way."},
    ]
}  # fmt: skip


def seeded(tmp_path: Path, **changes) -> ReviewStore:
    store = ReviewStore(Settings.load(tmp_path).review_url)
    accounts.add_user(store, "reviewer1", "reviewer", PASSWORD)
    seed_queue(store, n=3, reviewers_needed=1, assignees=["reviewer1"], promotion=None, **changes)
    return store


def click(at: AppTest, label: str) -> AppTest:
    return next(b for b in at.button if b.label == label).click().run()


def box(at: AppTest, starts: str):
    return next(t for t in at.text_area if t.label.startswith(starts))


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_a_flag_with_no_ratings_is_submitted_and_reaches_the_store(tmp_path, monkeypatch):
    store = seeded(tmp_path)
    at = open_review(tmp_path, monkeypatch)
    item_id = at.session_state["item"]["item_id"]
    at.selectbox(key=f"{item_id}-flag").set_value("broken run")
    at = click(at, "Submit")
    assert not at.exception and errors(at) == []
    [row] = item_submissions(store, item_id)
    assert row["flags"] == [{"reason": "broken run"}]
    assert row["answers"] == {"correctness": None, "helpfulness": None, "notes": None}
    assert at.session_state["item"]["item_id"] != item_id  # on to the next item


def test_a_flag_with_no_ratings_is_refused_where_the_queue_wants_ratings(tmp_path, monkeypatch):
    store = seeded(tmp_path, flag_instead_of_rating=False)
    at = open_review(tmp_path, monkeypatch)
    item_id = at.session_state["item"]["item_id"]
    at.selectbox(key=f"{item_id}-flag").set_value("broken run")
    at = click(at, "Submit")
    assert "Answer the required criteria first: correctness, helpfulness." in errors(at)
    assert item_submissions(store, item_id) == []
    assert at.selectbox(key=f"{item_id}-flag").value == "broken run"  # nothing the reviewer chose is lost


def test_a_required_boolean_starts_unanswered_and_must_be_answered(tmp_path, monkeypatch):
    store = seeded(tmp_path, rubric=RUBRIC)
    at = open_review(tmp_path, monkeypatch)
    item_id = at.session_state["item"]["item_id"]
    grounded, polite = at.get("segmented_control")
    assert (grounded.value, polite.value) == (None, None) and grounded.options == ["Yes", "No"]
    at.radio[0].set_value("correct")
    at = click(at, "Submit")
    assert "Answer the required criteria first: grounded." in errors(at)
    assert item_submissions(store, item_id) == []
    at.get("segmented_control")[0].set_value(False)
    at = click(at, "Submit")
    assert not at.exception and errors(at) == []
    [row] = item_submissions(store, item_id)
    assert row["answers"] == {"correctness": "correct", "grounded": False, "polite": None}  # blank is not False


def test_option_descriptions_show_escaped_as_captions_and_help(tmp_path, monkeypatch):
    seeded(tmp_path, rubric=RUBRIC)
    at = open_review(tmp_path, monkeypatch)
    described = [o["description"] for o in RUBRIC["criteria"][0]["options"]]
    captions = list(at.radio[0].proto.captions)
    assert captions == [escape(d) for d in described] and captions[0] == "every fact is right"
    assert "![" not in captions[1] and "http://" not in captions[1]  # no image markdown, no live link


def test_ordinal_option_descriptions_show_as_help_on_the_segmented_control(tmp_path, monkeypatch):
    seeded(tmp_path)  # the demo queue: helpfulness 1, 3 and 5 are described
    at = open_review(tmp_path, monkeypatch)
    help_ = at.get("segmented_control")[0].proto.help
    assert "1: useless or harmful" in help_ and "5: resolves the request in one go, in the right tone" in help_
    assert "2:" not in help_


@pytest.fixture
def chat_store(tmp_path: Path) -> ReviewStore:
    store = seeded(tmp_path)
    with store.write() as conn:
        for row in conn.execute(items.select()).mappings().all():
            payload = {"runs": {row["run_id"]: {"run_id": row["run_id"], "outputs": OUTPUTS}}}
            conn.execute(items.update().where(items.c.item_id == row["item_id"]).values(payload=payload))
    return store


def answer(at: AppTest) -> None:
    at.radio[0].set_value("incorrect")
    at.get("segmented_control")[0].set_value(2)


def test_the_correction_box_shows_plain_text_and_stores_the_runs_shape(chat_store, tmp_path, monkeypatch):
    at = open_review(tmp_path, monkeypatch)
    item_id = at.session_state["item"]["item_id"]
    assert box(at, "Correction").value == "Your order **A1** is on its way."  # not the raw JSON
    assert '"order_id": "A1"' in box(at, "Tool call arguments").value
    answer(at)
    box(at, "Correction").input("Your order A1 was delivered yesterday.")
    box(at, "Tool call arguments").input('[{"order_id": "A1", "include": "delivery"}]')
    at = click(at, "Submit")
    assert not at.exception and errors(at) == []
    [row] = item_submissions(chat_store, item_id)
    call, result, final = row["correction"]["messages"]
    assert final == {"role": "assistant", "content": "Your order A1 was delivered yesterday."}
    assert call["tool_calls"][0]["function"]["arguments"] == '{"order_id": "A1", "include": "delivery"}'
    assert result == OUTPUTS["messages"][1]


def test_an_untouched_correction_box_stores_no_correction(chat_store, tmp_path, monkeypatch):
    at = open_review(tmp_path, monkeypatch)
    item_id = at.session_state["item"]["item_id"]
    answer(at)
    at = click(at, "Submit")
    assert item_submissions(chat_store, item_id)[0]["correction"] is None


def test_tool_arguments_that_are_not_json_are_refused_and_the_text_stays(chat_store, tmp_path, monkeypatch):
    at = open_review(tmp_path, monkeypatch)
    item_id = at.session_state["item"]["item_id"]
    answer(at)
    box(at, "Correction").input("Delivered.")
    box(at, "Tool call arguments").input('[{"order_id": "A1"')
    at = click(at, "Submit")
    assert any("Not valid JSON in the tool arguments" in e for e in errors(at))
    assert item_submissions(chat_store, item_id) == []
    assert box(at, "Correction").value == "Delivered."
    assert box(at, "Tool call arguments").value == '[{"order_id": "A1"'
    box(at, "Tool call arguments").input('[{"order_id": "A2"}]')
    at = click(at, "Submit")
    [row] = item_submissions(chat_store, item_id)
    assert row["correction"]["messages"][0]["tool_calls"][0]["function"]["arguments"] == '{"order_id": "A2"}'
