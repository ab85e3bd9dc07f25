"""End to end in a real browser: Debian's Chromium, through Playwright, against `streamlit run`.

A reviewer logs in, opens Review on the single queue and answers two items with the keyboard only
(number keys for the highlighted criterion, Ctrl+Enter to submit); the review store must then hold
exactly what was pressed. Each key waits until the page has settled from the rerun that the
previous one caused (`app.rerun()`): pressed earlier, a key can be lost, or answer the previous
criterion as well, which is an app bug this test deliberately steps around.
Fixtures (`live_app`, `chromium`, `app_page`) are in conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from publish_support import load_queue
from sqlalchemy import select

from reviewdesk.config import Settings
from reviewdesk.demo.run import DEMO_PASSWORD
from reviewdesk.stores.review_schema import items, sessions, submissions, users
from reviewdesk.stores.reviewstore import ReviewStore

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
QUEUE = "support-quality"
REVIEWER = "reviewer1"  # assigned to both demo queues; support-ab comes first, so the test picks the queue


def log_in(app, name: str, password: str = DEMO_PASSWORD, lands: str | None = "My queues") -> None:
    """Log in through the form; `lands`: the page heading to wait for (None: a refused login)."""
    page = app.page
    page.get_by_role("textbox", name="Username").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    with app.rerun():
        page.get_by_role("button", name="Log in").click()
    if lands is not None:
        expect(page.get_by_role("heading", name=lands)).to_be_visible()


def open_review(app, name: str, queue: str = QUEUE) -> None:
    """Log in, open Review from the sidebar and pick `queue` among the queue pills."""
    page = app.page
    log_in(app, name)
    with app.rerun():
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Review", exact=True).click()
    expect(page.get_by_role("button", name="Submit")).to_be_visible()
    with app.rerun():  # the queue picker: pills, which take no keys
        page.get_by_test_id("stButtonGroup").get_by_role("radio", name=queue, exact=True).click()


def press(app, key: str) -> None:
    """One shortcut key, outside any text field, and the app's rerun it causes."""
    with app.rerun():
        app.page.keyboard.press(key)


def quick_keys_row(page: Page):
    """The "Keys answer <criterion>" line above the number-key buttons."""
    return page.get_by_test_id("stMarkdownContainer").filter(has_text="Keys answer")


def stored(data_dir: Path, reviewer: str) -> list[dict]:
    """The reviewer's submissions, with each item's queue, straight from the review store."""
    with ReviewStore(Settings.load(data_dir).review_url) as store, store.read() as conn:
        query = (
            select(submissions, items.c.queue)
            .join(items, items.c.item_id == submissions.c.item_id)
            .where(submissions.c.reviewer == reviewer)
            .order_by(submissions.c.submission_id)
        )
        return [dict(r) for r in conn.execute(query).mappings()]


def test_reviewer_answers_two_items_with_the_keyboard(app_page, live_app):
    app, page = app_page, app_page.page
    first_option = next(c for c in load_queue(QUEUE).rubric.criteria if c.key == "correctness").options[0]
    open_review(app, REVIEWER)
    keys = quick_keys_row(page)
    position = page.get_by_test_id("stCaptionContainer").filter(has_text="of batch")
    comment = page.get_by_role("textbox", name="Comment")
    heading = position  # somewhere to click that takes no keys

    # Item 1: a comment typed, then focus out of the text field; keys 1 and 4; Ctrl+Enter.
    expect(keys).to_contain_text("Correctness")
    first = position.inner_text()
    comment.fill("e2e: first item")
    with app.rerun():  # leaving the field applies the comment: a rerun
        heading.click()  # number keys are text inside a text field, shortcuts only outside one
    press(app, "1")
    expect(keys).to_contain_text("Helpfulness")
    expect(page.get_by_role("radio", name=first_option, exact=True)).to_be_checked()
    press(app, "4")
    expect(keys).to_have_count(0)  # no choice criterion left open (notes is text, and optional)
    press(app, "Control+Enter")
    expect(position).not_to_have_text(first)

    # Item 2: keys 1 and 2, then a comment, submitted with Ctrl+Enter from inside the comment field.
    expect(keys).to_contain_text("Correctness")
    expect(comment).to_have_value("")  # a new item starts blank
    second = position.inner_text()
    heading.click()
    press(app, "1")
    expect(keys).to_contain_text("Helpfulness")
    press(app, "2")
    expect(keys).to_have_count(0)
    comment.click()
    page.keyboard.type("e2e: second item")
    press(app, "Control+Enter")
    expect(position).not_to_have_text(second)
    expect(page.get_by_text("Answer the required criteria first")).to_have_count(0)

    rows = stored(live_app.data_dir, REVIEWER)
    assert [(r["answers"]["correctness"], r["answers"]["helpfulness"], r["comment"]) for r in rows] == [
        (first_option, 4, "e2e: first item"),
        (first_option, 2, "e2e: second item"),
    ]
    assert len({r["item_id"] for r in rows}) == 2
    assert {r["queue"] for r in rows} == {QUEUE}
    assert [r["revision"] for r in rows] == [1, 1]
    for r in rows:
        assert r["shown_at"] is not None and r["submitted_at"] is not None
        assert r["shown_at"] <= r["submitted_at"]
        assert r["correction"] is None and r["flags"] == []  # untouched fields stay empty


def test_wrong_password_shows_the_generic_error_and_opens_no_session(app_page, live_app):
    page = app_page.page
    log_in(app_page, "reviewer2", "not-the-password", lands=None)
    expect(page.get_by_text("Wrong username or password")).to_be_visible()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)  # nothing behind the login

    with ReviewStore(Settings.load(live_app.data_dir).review_url) as store, store.read() as conn:
        assert conn.execute(select(sessions).where(sessions.c.user == "reviewer2")).first() is None
        assert conn.scalar(select(users.c.failed_logins).where(users.c.name == "reviewer2")) == 1


def test_the_highlighted_criterion_is_named_in_bold(app_page, live_app):
    open_review(app_page, "reviewer3")
    keys = quick_keys_row(app_page.page)
    expect(keys).to_contain_text("Correctness")
    assert "**" not in keys.inner_text()
    assert "Correctness" in keys.locator("strong").all_inner_texts()[0]
