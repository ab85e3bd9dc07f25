"""Trace and session items in a real browser (issue 18, acceptance): a reviewer answers a trace item (a unit
criterion and a per-step criterion on its tool calls) and a session item with the keys only, in Debian's
Chromium against `streamlit run`; the store then holds exactly those answers, per step by step run id.

A lead then decides a per-step case of a trace on the Adjudication page, a step at a time.

Items come two ways: published by hand into the review store as the payload contract says publish writes
them (tests/unit_support.py), and through the real pipeline (the demo's traces and sessions generated,
ingested, sampled by the example queues' filters and published). Screenshots at 1400x900 go to
/tmp/reviewdesk-shots/: artifacts to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import LiveApp, serving
from playwright.sync_api import expect
from review_support import PASSWORD, seed_batch
from sqlalchemy import select
from test_app_adjudication import STEP4, STEP5
from test_e2e import log_in
from test_e2e_review import HEIGHT, SHOTS, WIDTH, linked_item, open_review, press, screen
from test_step_labels import disputed_both
from unit_support import TRACE_ITEM, TRACE_QUEUE, support_session, support_trace, trace_stores, unit_payload, unit_queue

from reviewdesk.config import Settings
from reviewdesk.demo.exports import write_runs
from reviewdesk.demo.units import generate_unit_runs
from reviewdesk.ingest import ingest
from reviewdesk.labels.adjudication import backlog, decisions
from reviewdesk.queues import load_queues
from reviewdesk.review import accounts
from reviewdesk.review.publication import publish
from reviewdesk.review.units import step_title, steps_of, unit_of
from reviewdesk.sample.designs import draw_batch
from reviewdesk.stores.review_schema import items, submissions
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse

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


def stored_answers(data: Path) -> dict[str, dict]:
    """Every submission in the review store of `data`, as {item id: answers}."""
    with ReviewStore(Settings.load(data).review_url) as store, store.read() as conn:
        return {r.item_id: r.answers for r in conn.execute(select(submissions.c.item_id, submissions.c.answers))}


def test_a_trace_and_a_session_are_answered_with_keys_only_and_stored_by_step(chromium, units_app):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with screen(chromium, units_app.url) as app:
        page = app.page
        log_in(app, "reviewer1", PASSWORD)
        open_review(app, "traces")
        app.unfocus()  # off the queue pill the mouse chose, where Enter (so Ctrl+Enter) would press the pill
        trace = linked_item(page)
        # the final answer, open; step 6 says the same words, sent with the tree but closed, so not shown
        expect(page.locator("p:visible", has_text="Your order A1 shipped on 3 May.")).to_have_count(1)
        step6 = page.locator(f".st-key-content-{trace}-step-6")
        step6.locator("summary").first.click()  # opened in the browser: its output at once, no rerun
        expect(page.locator("p:visible", has_text="Your order A1 shipped on 3 May.")).to_have_count(2)
        expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")
        step6.locator("summary").first.click()
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

    assert stored_answers(units_app.data_dir) == {
        trace: {"correctness": "correct", "helpfulness": 4, "notes": None,
                "tool_call": {"t1-tool1": "wrong", "t1-tool2": "right"}},
        session: {"correctness": "incorrect", "helpfulness": 2, "notes": None,
                  "tool_call": {"s1-turn3-tool": "right", "s1-turn6-tool": "wrong"}},
    }  # fmt: skip


@pytest.fixture(scope="module")
def pipeline_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The demo's traces and sessions (a few) ingested, one item of each example unit queue drawn by the real
    sampler and published by the real publisher, for reviewer1, served for this module alone."""
    data = tmp_path_factory.mktemp("units-pipeline") / "data"
    settings = Settings.load(data, ROOT / "queues")
    settings.ensure_dirs()
    logs = data / "units.jsonl"
    write_runs(generate_unit_runs(2, 4, seed=1, end=datetime.now(UTC)), logs)  # settled an hour ago
    queues = {q.name: q for q in load_queues(settings.queues_dir) if q.unit != "run"}
    with Warehouse(settings.warehouse_path) as wh, ReviewStore(settings.review_url) as store:
        ingest(wh, [logs])
        accounts.add_user(store, "reviewer1", "reviewer", PASSWORD)
        for queue in queues.values():
            publish(wh, store, queue, draw_batch(wh, queue, size=1, seed=1).batch_id)
    with serving(data, settings.queues_dir, data.parent / "streamlit.log") as url:
        yield LiveApp(url, data)


def published_unit(app: LiveApp, queue: str) -> tuple[str, list]:
    """The one item published in `queue`, and its steps as the review screen lists them."""
    with ReviewStore(Settings.load(app.data_dir).review_url) as store, store.read() as conn:
        row = conn.execute(select(items.c.item_id, items.c.payload).where(items.c.queue == queue)).one()
    return row.item_id, steps_of(unit_of(row.payload))


def test_pipeline_trace_and_session_items_are_answered_with_keys_only_and_stored_by_step(chromium, pipeline_app):
    trace, steps = published_unit(pipeline_app, "support-traces")
    (retrieval,) = [s for s in steps if s.run_type == "retriever"]  # a demo trace has one of each
    (tool,) = [s for s in steps if s.run_type == "tool"]
    session, turns = published_unit(pipeline_app, "support-sessions")
    assert len({s.turn for s in turns}) >= 4  # the queue's filter: conversations of four turns or more
    SHOTS.mkdir(parents=True, exist_ok=True)
    with screen(chromium, pipeline_app.url) as app:
        page = app.page
        log_in(app, "reviewer1", PASSWORD)
        open_review(app, "support-traces")
        app.unfocus()
        assert linked_item(page) == trace
        expect(page.get_by_text(f"Trace of {len(steps)} steps")).to_be_visible()
        press(app, "3")  # correctness: incorrect
        expect(page.get_by_role("radio", name="incorrect", exact=True)).to_be_checked()
        expect(keys_answer(page)).to_contain_text(f"Retrieval, {step_title(retrieval)}")  # step 2 · retriever · ...
        press(app, "2")  # the retrieval: irrelevant
        expect(keys_answer(page)).to_contain_text(f"Tool call, {step_title(tool)}")
        page.screenshot(path=str(SHOTS / "unit-trace-pipeline.png"))
        press(app, "1")  # the tool call: right
        expect(keys_answer(page)).to_have_count(0)
        press(app, "Control+Enter")
        expect(page.get_by_text("Nothing left for you in this queue")).to_be_visible()

        app.pick_queue("support-sessions")
        assert linked_item(page) == session
        press(app, "2")  # resolved: no
        expect(page.get_by_role("radio", name="no", exact=True)).to_be_checked()
        page.screenshot(path=str(SHOTS / "unit-session-pipeline.png"))
        press(app, "Control+Enter")
        expect(page.get_by_text("Nothing left for you in this queue")).to_be_visible()
    assert stored_answers(pipeline_app.data_dir) == {
        trace: {"correctness": "incorrect", "retrieval": {retrieval.run_id: "irrelevant"},
                "tool_call": {tool.run_id: "right"}, "notes": None},
        session: {"resolved": "no", "notes": None},
    }  # fmt: skip


@pytest.fixture(scope="module")
def step_case_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """A trace item whose two reviewers split on both tool steps (one per-step case), served for the lead."""
    data = tmp_path_factory.mktemp("units-adjudication") / "data"
    with trace_stores(data) as (store, wh):
        disputed_both(store, wh)
    with serving(data, ROOT / "queues", data.parent / "streamlit.log") as url:
        yield LiveApp(url, data)


def test_a_lead_decides_a_per_step_case_step_by_step(chromium, step_case_app):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with screen(chromium, step_case_app.url) as app:
        page = app.page
        log_in(app, "lead", PASSWORD)
        with app.rerun():
            page.get_by_test_id("stSidebarNav").get_by_role("link", name="Adjudication").click()
        expect(page.get_by_text("2 steps in dispute")).to_be_visible()
        page.screenshot(path=str(SHOTS / "adjudication-trace.png"))  # the case, as it opens
        for step, value in ((STEP4, "wrong"), (STEP5, "right")):
            with app.rerun():
                page.get_by_test_id("stRadio").filter(has_text=step).get_by_text(value, exact=True).click()
        page.get_by_test_id("stTextArea").filter(has_text="Reason").locator("textarea").fill("Step 4 timed out.")
        page.screenshot(path=str(SHOTS / "adjudication-trace-steps.png"))
        with app.rerun():
            page.get_by_role("button", name="Record decision", exact=True).click()
        expect(page.get_by_text("Nothing to adjudicate")).to_be_visible()
    with ReviewStore(Settings.load(step_case_app.data_dir).review_url) as store:
        assert backlog(store, TRACE_QUEUE) == []
        assert decisions(store, TRACE_QUEUE) == {TRACE_ITEM: {"tool_call": {"t1-tool1": "wrong", "t1-tool2": "right"}}}
