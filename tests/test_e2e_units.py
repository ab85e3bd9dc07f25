"""Trace and session items in a real browser (issue 18, acceptance): a reviewer answers a trace item (a unit
criterion and a per-step criterion on its tool calls) and a session item with the keys only, in Debian's
Chromium against `streamlit run`; the store then holds exactly those answers, per step by step run id.

Items are published by hand into the review store as the payload contract says publish writes them
(tests/unit_support.py). Screenshots at 1400x900 go to /tmp/reviewdesk-shots/: artifacts to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LiveApp, serving
from playwright.sync_api import expect
from review_support import PASSWORD, seed_batch
from sqlalchemy import select
from test_e2e import log_in
from test_e2e_review import HEIGHT, SHOTS, WIDTH, linked_item, open_review, press, screen
from unit_support import support_session, support_trace, unit_payload, unit_queue

from reviewdesk.config import Settings
from reviewdesk.review import accounts
from reviewdesk.stores.review_schema import submissions
from reviewdesk.stores.reviewstore import ReviewStore

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def units_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """A trace queue and a session queue, one item each, for reviewer1, served for this module alone."""
    data = tmp_path_factory.mktemp("units-screen") / "data"
    with ReviewStore(Settings.load(data).review_url) as store:
        accounts.add_user(store, "reviewer1", "reviewer", PASSWORD)
        traces = unit_queue("traces", "trace", assignees=["reviewer1"])
        seed_batch(store, traces, n=1, reviewers_needed=1, payloads=[unit_payload("trace", "t1", support_trace())])
        sessions = unit_queue("sessions", "session", assignees=["reviewer1"])
        seed_batch(
            store, sessions, n=1, reviewers_needed=1, payloads=[unit_payload("session", "s1", support_session(8))]
        )
    with serving(data, ROOT / "queues", data.parent / "streamlit.log") as url:
        yield LiveApp(url, data)


def keys_answer(page):
    return page.get_by_text("Keys answer")


def test_a_trace_and_a_session_are_answered_with_keys_only_and_stored_by_step(chromium, units_app):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with screen(chromium, units_app.url) as app:
        page = app.page
        log_in(app, "reviewer1", PASSWORD)
        open_review(app, "traces")
        app.unfocus()  # off the queue pill the mouse chose, where Enter (so Ctrl+Enter) would press the pill
        trace = linked_item(page)
        expect(page.get_by_text("Your order A1 shipped on 3 May.")).to_be_visible()  # the final answer, open
        expect(page.get_by_text("Trace of 6 steps · 1 failed")).to_be_visible()
        press(app, "1")  # correctness: correct
        expect(page.get_by_role("radio", name="correct", exact=True)).to_be_checked()
        press(app, "4")  # helpfulness: 4
        expect(keys_answer(page)).to_contain_text("Tool call, step 4 · tool · get_order")
        row = page.locator(f".st-key-content-{trace}-step-4")  # the step the keys answer, marked in the tree
        expect(row).to_have_css("border-left-style", "solid")
        expect(row).to_be_in_viewport()
        page.screenshot(path=str(SHOTS / "unit-trace.png"))
        press(app, "2")  # step 4: wrong
        expect(keys_answer(page)).to_contain_text("Tool call, step 5 · tool · get_order")
        press(app, "1")  # step 5: right
        expect(keys_answer(page)).to_have_count(0)
        press(app, "Control+Enter")
        expect(page.get_by_text("Nothing left for you in this queue")).to_be_visible()

        app.pick_queue("sessions")  # the pill the mouse chose keeps the focus: keys still answer, Ctrl+Enter submits
        session = linked_item(page)
        expect(page.get_by_text("Show 5 earlier turns (1 step the form asks about)")).to_be_visible()
        last = page.get_by_role("paragraph").filter(has_text="Answer 8: order A8 shipped.")
        expect(last).to_be_in_viewport()  # the last answer, in view
        press(app, "3")  # correctness: incorrect
        press(app, "2")  # helpfulness: 2
        expect(keys_answer(page)).to_contain_text("Tool call, turn 3 · step 4 · tool · get_order")
        press(app, "1")  # turn 3's tool call: right
        expect(keys_answer(page)).to_contain_text("Tool call, turn 6 · step 8 · tool · get_order")
        press(app, "2")  # turn 6's tool call: wrong
        page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
        page.screenshot(path=str(SHOTS / "unit-session.png"))
        press(app, "Control+Enter")
        expect(page).not_to_have_url(re.compile(f"item={session}$"))

    with ReviewStore(Settings.load(units_app.data_dir).review_url) as store, store.read() as conn:
        stored = {r.item_id: r.answers for r in conn.execute(select(submissions.c.item_id, submissions.c.answers))}
    assert stored == {
        trace: {"correctness": "correct", "helpfulness": 4, "notes": None,
                "tool_call": {"t1-tool1": "wrong", "t1-tool2": "right"}},
        session: {"correctness": "incorrect", "helpfulness": 2, "notes": None,
                  "tool_call": {"s1-turn3-tool": "right", "s1-turn6-tool": "wrong"}},
    }  # fmt: skip
