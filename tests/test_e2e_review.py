"""The review screen in a real browser (Debian's Chromium through Playwright, against `streamlit run`
as `reviewdesk app` starts it): keys only, a reload mid-review, everything on one 1400x900 screen,
no developer toolbar, item links.

The app here serves its own demo data directory (module scope), so the reservations and submissions
these tests make meet none of test_e2e.py's. Screenshots of each kind of item go to
/tmp/reviewdesk-shots/ and to the test's tmp dir: artifacts to look at, never committed.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import AppPage, LiveApp, opened, serving
from demo_support import qualify_demo_reviewers
from playwright.sync_api import Page, expect
from sqlalchemy import delete, select
from test_e2e import log_in

from reviewdesk.config import Settings
from reviewdesk.demo.run import run_demo
from reviewdesk.review.drafts import Draft
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import submit
from reviewdesk.stores.review_schema import items, reservations, sessions, submissions
from reviewdesk.stores.reviewstore import ReviewStore

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
SHOTS = Path("/tmp/reviewdesk-shots")
WIDTH, HEIGHT = 1400, 900


@pytest.fixture(scope="module")
def review_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The demo (800 runs, seed 3, no reviews) served for this module alone."""
    root = tmp_path_factory.mktemp("review-screen")
    settings = Settings.load(root / "data", ROOT / "queues")
    run_demo(settings, runs=800, seed=3, simulate=False)
    qualify_demo_reviewers(settings.data_dir)
    with serving(settings.data_dir, ROOT / "queues", root / "streamlit.log") as url:
        yield LiveApp(url, settings.data_dir)


def store_of(app: LiveApp) -> ReviewStore:
    return ReviewStore(Settings.load(app.data_dir).review_url)


@contextlib.contextmanager
def screen(chromium, url: str) -> Iterator[AppPage]:
    """A fresh browser context (its own cookies) at 1400x900 on `url`, first run done."""
    with opened(chromium, url) as app:
        app.page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
        yield app


def open_review(app, queue: str | None = None) -> None:
    """Review from the sidebar; `queue` picked with the mouse (a pill: it keeps no keys)."""
    page = app.page
    with app.rerun():
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Review", exact=True).click()
    expect(page.get_by_role("button", name="Submit")).to_be_visible()
    if queue is not None:
        with app.rerun():
            page.get_by_test_id("stButtonGroup").get_by_role("radio", name=queue, exact=True).click()
        expect(position(page)).to_be_visible()


def press(app, key: str) -> None:
    with app.rerun():
        app.page.keyboard.press(key)


def position(page: Page):
    return page.get_by_test_id("stCaptionContainer").filter(has_text="of batch")


def linked_item(page: Page) -> str:
    """The item id in the address bar."""
    found = re.search(r"[?&]item=([^&]+)", page.url)
    assert found, page.url
    return found.group(1)


def mine(app: LiveApp, reviewer: str) -> list[dict]:
    with store_of(app) as store, store.read() as conn:
        query = select(submissions, items.c.queue).join(items, items.c.item_id == submissions.c.item_id)
        query = query.where(submissions.c.reviewer == reviewer).order_by(submissions.c.submission_id)
        return [dict(r) for r in conn.execute(query).mappings()]


def test_a_single_and_a_pairwise_item_are_answered_with_keys_only(chromium, review_app):
    with screen(chromium, review_app.url) as app:
        page = app.page
        log_in(app, "reviewer1")
        open_review(app)  # support-ab, the first queue: focus is on nothing that takes keys
        expect(page.get_by_text("Keys answer")).to_contain_text("Which answer is better?")
        pair = linked_item(page)
        press(app, "2")  # B better
        expect(page.get_by_role("radio", name="B better", exact=True)).to_be_checked()
        press(app, "3")  # margin: decisive
        expect(position(page)).to_contain_text("today 0 by you")
        runs, cut_short = app.runs, app.cut_short
        press(app, "Control+Enter")
        expect(page).not_to_have_url(re.compile(f"item={pair}$"))
        page.wait_for_timeout(300)  # a second run, were there one, follows at once
        assert (app.runs - runs, app.cut_short - cut_short) == (1, 0)  # one run stores it and draws the next item
        expect(position(page)).to_contain_text("today 1 by you")  # counted by the Submit's run, not read again

        # The queue picked with the mouse, then a radio clicked with the mouse: focus in an input, and the
        # digits still answer (they used to type into the queue box, or do nothing in a radio).
        with app.rerun():
            page.get_by_test_id("stButtonGroup").get_by_role("radio", name="support-quality", exact=True).click()
        single = linked_item(page)
        press(app, "3")  # correctness: incorrect
        expect(page.get_by_role("radio", name="incorrect", exact=True)).to_be_checked()
        with app.rerun():
            page.get_by_test_id("stRadioGroup").get_by_text("partially_correct", exact=True).click()  # the mouse
        press(app, "5")  # helpfulness, though focus is in the radio group
        expect(page.get_by_text("Keys answer")).to_have_count(0)
        expect(position(page)).to_contain_text("today 1 by you")  # read again for another queue
        press(app, "Control+Enter")
        expect(page).not_to_have_url(re.compile(f"item={single}$"))
        expect(position(page)).to_contain_text("today 2 by you")
    rows = {r["item_id"]: r for r in mine(review_app, "reviewer1")}
    assert set(rows) == {pair, single}
    assert rows[pair]["queue"] == "support-ab" and rows[pair]["answers"]["margin"] == "decisive"
    with store_of(review_app) as store, store.read() as conn:
        item = conn.execute(select(items).where(items.c.item_id == pair)).mappings().one()
    right = item["run_b"] if item["left_run_id"] == item["run_a"] else item["run_a"]
    assert rows[pair]["answers"]["preference"] == right  # "B better": the run shown on the right
    assert rows[single]["answers"] == {"correctness": "partially_correct", "helpfulness": 5, "notes": None}


def test_a_digit_selects_in_the_page_and_a_second_one_pressed_at_once_answers_the_next_criterion(chromium, review_app):
    with screen(chromium, review_app.url) as app:
        page = app.page
        log_in(app, "reviewer1")
        open_review(app, "support-quality")
        item_id = linked_item(page)
        runs = app.runs
        page.keyboard.press("2")  # correctness: partially_correct, selected in the page before any rerun
        expect(page.get_by_role("radio", name="partially_correct", exact=True)).to_be_checked(timeout=1_000)
        page.keyboard.press("4")  # at once: helpfulness (the form has not redrawn yet), not correctness again
        expect(page.get_by_text("Keys answer")).to_have_count(0)
        expect(page.get_by_role("radio", name="partially_correct", exact=True)).to_be_checked()
        assert app.runs > runs  # the selections reached the server
        press(app, "Control+Enter")
        expect(page).not_to_have_url(re.compile(f"item={item_id}$"))
    rows = {r["item_id"]: r for r in mine(review_app, "reviewer1")}
    assert rows[item_id]["answers"] == {"correctness": "partially_correct", "helpfulness": 4, "notes": None}


def test_a_reload_mid_review_keeps_the_session_and_the_reserved_item(chromium, review_app):
    with screen(chromium, review_app.url) as app:
        page = app.page
        log_in(app, "reviewer2")
        open_review(app, "support-quality")
        held = linked_item(page)
        cookie = next(c for c in page.context.cookies() if c["name"] == "reviewdesk_session")
        assert cookie["sameSite"] == "Strict" and held not in cookie["value"]
        assert "reviewdesk_session" not in page.url and cookie["value"] not in page.url  # never in the URL
        with app.rerun():
            page.reload()
        expect(page.get_by_role("textbox", name="Username")).to_have_count(0)  # still logged in
        expect(page.get_by_role("button", name="Submit")).to_be_visible()
        assert linked_item(page) == held
        with store_of(review_app) as store, store.read() as conn:
            held_rows = conn.execute(select(reservations.c.item_id).where(reservations.c.reviewer == "reviewer2"))
            assert held_rows.scalars().all() == [held]
        press(app, "1")
        press(app, "4")
        press(app, "Control+Enter")  # the reloaded page submits the held item
        assert [r["item_id"] for r in mine(review_app, "reviewer2")] == [held]

        with app.rerun():  # logging out ends the session in the store and deletes the cookie
            page.get_by_role("button", name="Log out").click()
        expect(page.get_by_role("textbox", name="Username")).to_be_visible()
        with app.rerun():
            page.reload()
        expect(page.get_by_role("textbox", name="Username")).to_be_visible()
        with store_of(review_app) as store, store.read() as conn:
            assert conn.execute(select(sessions).where(sessions.c.user == "reviewer2")).first() is None


def inside(box: dict, area: dict) -> bool:
    """Whether `box` lies within `area` (1 px of rounding allowed)."""
    x, y, right, bottom = area["x"] - 1, area["y"] - 1, area["x"] + area["width"] + 1, area["y"] + area["height"] + 1
    return box["x"] >= x and box["y"] >= y and box["x"] + box["width"] <= right and box["y"] + box["height"] <= bottom


def demo_items(app: LiveApp) -> dict[str, str]:
    """One item of each kind: a single run, a pair, and the single run with the longest conversation."""
    with store_of(app) as store, store.read() as conn:
        rows = conn.execute(select(items.c.item_id, items.c.kind, items.c.run_id, items.c.payload)).mappings().all()

    def turns(row) -> int:
        run = row["payload"]["runs"][row["run_id"]]
        return len(run["inputs"]["messages"])

    singles = sorted((r for r in rows if r["kind"] == "single"), key=turns)
    pair = next(r for r in rows if r["kind"] == "pairwise")
    return {"single": singles[0]["item_id"], "pairwise": pair["item_id"], "long": singles[-1]["item_id"]}


def hold(app: LiveApp, reviewer: str, item_id: str) -> None:
    """Reserve exactly `item_id` for `reviewer` (and nothing else), as `next_item` would."""
    now = datetime.now(UTC)
    with store_of(app) as store, store.write() as conn:
        conn.execute(delete(reservations).where(reservations.c.reviewer == reviewer))
        conn.execute(reservations.insert().values(item_id=item_id, reviewer=reviewer, reserved_at=now,
                                                  expires_at=now + timedelta(minutes=20)))  # fmt: skip


def test_the_answer_every_criterion_and_submit_fit_one_1400x900_screen(chromium, review_app, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with screen(chromium, review_app.url) as app:
        page = app.page
        log_in(app, "reviewer3")
        for kind, item_id in demo_items(review_app).items():
            hold(review_app, "reviewer3", item_id)
            with app.rerun():
                page.goto(f"{review_app.url}/review?item={item_id}")  # a new session: the cookie logs in
            expect(page.get_by_role("button", name="Submit")).to_be_visible()
            assert linked_item(page) == item_id
            page.wait_for_function("""() => { const p = document.querySelector('.st-key-content_pane');
                return p && !p.querySelector('[data-testid="stSkeleton"]')
                    && p.scrollTop + p.clientHeight >= p.scrollHeight - 2; }""", timeout=60_000)  # drawn, at its end
            for path in (SHOTS / f"{kind}.png", tmp_path / f"{kind}.png"):
                page.screenshot(path=str(path))
            viewport = {"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT}
            assert page.evaluate("document.scrollingElement.scrollHeight") <= HEIGHT  # no page scrolling
            pane = page.locator(".st-key-content_pane").bounding_box()
            answers = page.locator(".st-key-content_pane .answer")
            last = [answers.last] if kind != "pairwise" else [
                page.locator(".st-key-content_pane [data-testid='stColumn']").nth(i).locator(".answer").last
                for i in (0, 1)
            ]  # fmt: skip
            for answer in last:
                assert inside(answer.bounding_box(), pane), (kind, answer.bounding_box(), pane)
            widgets = page.locator(".st-key-form_pane [data-testid='stElementContainer']").filter(
                has=page.locator("[data-testid='stWidgetLabel']")
            )
            assert widgets.count() >= 3
            for i in range(widgets.count()):
                box = widgets.nth(i).bounding_box()
                label = widgets.nth(i).locator("[data-testid='stWidgetLabel']").first.inner_text()
                if label.startswith(("Comment", "Correction", "Flag")):
                    continue  # the optional extras below the rubric may need the pane scrolled
                assert inside(box, viewport), (kind, label, box)
            assert inside(page.get_by_role("button", name="Submit").bounding_box(), viewport)
            marked = page.evaluate("""() => [...document.querySelectorAll('.st-key-form_pane [class*="st-key-"]')]
                .filter(e => getComputedStyle(e).borderLeftWidth === '4px').length""")
            assert marked == 1  # the criterion the number keys answer


def test_reviewers_get_no_deploy_button_and_no_developer_menu(chromium, review_app):
    with screen(chromium, review_app.url) as app:
        log_in(app, "lead")
        open_review(app)
        expect(app.page.get_by_test_id("stAppDeployButton")).to_have_count(0)
        expect(app.page.get_by_role("button", name="Deploy")).to_have_count(0)
        expect(app.page.get_by_test_id("stMainMenu")).to_have_count(0)


def test_an_item_link_opens_read_only_for_a_lead_and_is_refused_to_another_reviewer(chromium, review_app):
    with store_of(review_app) as store:
        item = next_item(store, "support-quality", "reviewer1")
        submit(store, item["item_id"], "reviewer1", Draft({"correctness": "correct", "helpfulness": 2},
                                                           comment="e2e: linked"))  # fmt: skip
    link = f"{review_app.url}/review?item={item['item_id']}"
    with screen(chromium, review_app.url) as app:
        page = app.page
        log_in(app, "lead")
        with app.rerun():
            page.goto(link)
        expect(page.get_by_text("read only, as it is not reserved for you")).to_be_visible()
        expect(page.get_by_text("reviewer1, revision 1")).to_be_visible()
        expect(page.get_by_role("button", name="Submit")).to_have_count(0)
        expect(page.locator(".st-key-form_pane [data-testid='stJson']").first).to_contain_text("helpfulness")
        with app.rerun():
            page.goto(f"{review_app.url}/review?item=no-such-item")
        expect(page.get_by_text("No item 'no-such-item' in the review store")).to_be_visible()
    with screen(chromium, review_app.url) as app:
        log_in(app, "reviewer3")
        with app.rerun():
            app.page.goto(link)
        expect(app.page.get_by_text("is not reserved for you, so you cannot open it")).to_be_visible()
        expect(app.page.get_by_text("e2e: linked")).to_have_count(0)
        expect(app.page.get_by_role("button", name="Submit")).to_have_count(0)
