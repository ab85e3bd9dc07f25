"""End to end in Chromium: a shown suggestion is pre-selected and accepted with one key, and no pairwise item
ever shows two identical answers.

On the demo (served by the `live_app` fixture, conftest.py), support-quality shows the heuristic's
suggestions: the reviewer skips to an item that has some, sees them pre-selected and marked with the
model's reason (a screenshot at 1400x900 is saved under /tmp/reviewdesk-shots/, a test artifact), presses
`A` and submits with Ctrl+Enter; the store must hold the suggested answers, recorded as accepted.
On support-ab, each item walked shows two answers that differ, and every published pair in the store differs
once whitespace is removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import AppPage, opened
from playwright.sync_api import expect
from sqlalchemy import select
from test_e2e import log_in, open_review, press, stored

from reviewdesk.config import Settings
from reviewdesk.demo.run import DEMO_PASSWORD
from reviewdesk.stores.review_schema import items
from reviewdesk.stores.reviewstore import ReviewStore

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/reviewdesk-shots")
REVIEWER = "reviewer3"  # test_e2e submits as reviewer1 and checks reviewer2 never logged in; reviewer3 only looks
WALK = 25  # pairwise items walked in the browser (the store check covers every published pair)


@pytest.fixture
def wide_page(chromium, live_app) -> Iterator[AppPage]:
    """A fresh session on the demo app in a 1400x900 window, the size reviewers are designed for."""
    with opened(chromium, live_app.url) as app:
        app.page.set_viewport_size({"width": 1400, "height": 900})
        yield app


def suggestions_of(data_dir: Path, item_id: str) -> dict:
    with ReviewStore(Settings.load(data_dir).review_url) as store, store.read() as conn:
        return conn.scalar(select(items.c.suggestions).where(items.c.item_id == item_id))


def test_a_pre_selected_suggestion_is_accepted_with_a_and_submitted_with_ctrl_enter(wide_page, live_app):
    app, page = wide_page, wide_page.page
    open_review(app, REVIEWER)
    accept = page.get_by_role("button", name="Accept suggestions")
    position = page.get_by_test_id("stCaptionContainer").filter(has_text="of batch")
    for _ in range(40):  # skip (Ctrl+K) to the first item the heuristic has suggestions for
        if accept.count():
            break
        before = position.inner_text()
        press(app, "Control+k")
        expect(position).not_to_have_text(before)
    expect(accept).to_be_visible()
    marks = page.get_by_test_id("stCaptionContainer").filter(has_text="Suggested:")
    expect(marks.first).to_contain_text("confident (model heuristic-1).")
    expect(marks.first).to_contain_text("to accept")
    SHOTS.mkdir(parents=True, exist_ok=True)
    accept.scroll_into_view_if_needed()  # the rubric, wherever the layout puts it
    page.screenshot(path=str(SHOTS / "suggestion-preselected-1400x900.png"))
    item_id = re.search(r"Item (\d+) of batch (\S+)", position.inner_text())
    assert item_id is not None

    app.unfocus()
    press(app, "a")
    expect(accept).to_have_count(0)
    expect(marks.first).to_contain_text("accepted")
    press(app, "Control+Enter")
    expect(position).not_to_contain_text(f"Item {item_id[1]} of batch")

    [row] = stored(live_app.data_dir, REVIEWER)
    suggested = suggestions_of(live_app.data_dir, row["item_id"])
    assert row["suggestion_shown"] is True and suggested
    assert row["suggestion_outcomes"] == dict.fromkeys(suggested, "accepted")
    assert {k: row["answers"][k] for k in suggested} == {k: s["value"] for k, s in suggested.items()}


def open_pairwise(app: AppPage, name: str) -> None:
    """Log in, open Review and pick support-ab among the queue pills."""
    page = app.page
    log_in(app, name, DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="My queues")).to_be_visible()
    with app.rerun():
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Review", exact=True).click()
    app.pick_queue("support-ab")


def answer_text(page, side: str) -> str:
    """What the page shows under "Answer A" or "Answer B", without the heading."""
    column = page.get_by_test_id("stColumn").filter(has=page.get_by_role("heading", name=f"Answer {side}"))
    return column.last.inner_text().split("\n", 1)[-1].strip()


def skip(page, position) -> None:
    """Skip with the mouse, then wait until the page shows another item (or none left) and has finished
    drawing it: what is on screen, not a count of runs (keys and runs have tests of their own)."""
    shown = position.inner_text().split("\n")[0]  # "Item N of batch B"
    page.get_by_role("button", name="Skip", exact=False).first.click()
    expect(position.filter(has_text=shown)).to_have_count(0, timeout=20_000)
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")
    expect(page.locator("[data-stale='true']")).to_have_count(0)


def test_no_pairwise_item_shows_two_identical_answers(app_page, live_app):
    app, page = app_page, app_page.page
    open_pairwise(app, "reviewer1")
    position = page.get_by_test_id("stCaptionContainer").filter(has_text="of batch")
    walked = set()
    for _ in range(WALK):
        expect(page.get_by_role("heading", name="Answer B")).to_be_visible()
        a, b = answer_text(page, "A"), answer_text(page, "B")
        assert a and b and "".join(a.split()) != "".join(b.split()), position.inner_text()
        walked.add(position.inner_text())
        skip(page, position)
        if position.count() == 0 or position.inner_text() in walked:
            break
    assert len(walked) >= 10

    with ReviewStore(Settings.load(live_app.data_dir).review_url) as store, store.read() as conn:
        published = conn.execute(select(items.c.run_a, items.c.run_b, items.c.payload)
                                 .where(items.c.queue == "support-ab")).all()  # fmt: skip
    assert published
    for run_a, run_b, payload in published:
        a, b = (payload["runs"][r] for r in (run_a, run_b))
        assert "".join(str(a.get("outputs")).split()) != "".join(str(b.get("outputs")).split())
