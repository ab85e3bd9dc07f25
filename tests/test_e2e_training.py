"""Training and monitoring end to end: Debian's Chromium through Playwright, against `streamlit run`.

A new reviewer logs in, answers the training items of the demo's quality queue, sees the right answer and
the gold explanation after each, fails once and is held; the hold's end is moved into the past in the
store file (the app reads its time from the clock, so the store is where time is advanced), they train
again, pass and get live items. A qualified reviewer pushed under the monitoring threshold by wrong
answers to gold items (simulated through the store API, as another client) is paused on their next item
in the browser, and the lead sees it on Queue progress. Screenshots go to /tmp/reviewdesk-shots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from conftest import LiveApp, opened, serving
from playwright.sync_api import expect
from sqlalchemy import select
from test_e2e import log_in

from reviewdesk.config import Settings
from reviewdesk.demo.run import DEMO_PASSWORD, run_demo
from reviewdesk.review.access import grant
from reviewdesk.review.accounts import add_user
from reviewdesk.review.drafts import Draft
from reviewdesk.review.qualification import qualify, standing
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import submit
from reviewdesk.stores.review_schema import items, reviewer_states
from reviewdesk.stores.reviewstore import ReviewStore

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
SHOTS = Path("/tmp/reviewdesk-shots")
QUEUE = "support-quality"
LIVE_SUBMIT = re.compile(r"^Submit(?! training)")  # a live item's Submit (its name may carry the shortcut)
WINDOW = 3  # the monitoring window here: the demo's batch has too few gold items for its 20


@pytest.fixture(scope="module")
def training_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The demo (800 runs, seed 3, no reviews; its quality queue with monitoring over 3 gold items) with two new
    reviewers granted it, newbie and mo, served for this module alone."""
    root = tmp_path_factory.mktemp("training")
    queues = root / "queues"
    queues.mkdir()
    for path in (ROOT / "queues").glob("*.yaml"):
        config = yaml.safe_load(path.read_text())
        if config["name"] == QUEUE:
            config["monitoring"]["window"] = WINDOW
        (queues / path.name).write_text(yaml.safe_dump(config))
    settings = Settings.load(root / "data", queues)
    run_demo(settings, runs=800, seed=3, simulate=False)
    with ReviewStore(settings.review_url) as store:
        for name in ("newbie", "mo"):
            add_user(store, name, "reviewer", DEMO_PASSWORD)
            grant(store, QUEUE, name, by="lead")
    with serving(settings.data_dir, queues, root / "streamlit.log") as url:
        yield LiveApp(url, settings.data_dir)


def store_of(app: LiveApp) -> ReviewStore:
    return ReviewStore(Settings.load(app.data_dir).review_url)


def shoot(page, name: str, tmp_path: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for path in (SHOTS / f"{name}.png", tmp_path / f"{name}.png"):
        page.screenshot(path=str(path))


def open_queue(app) -> None:
    """Review from the sidebar, then the quality queue among the pills."""
    page = app.page
    with app.rerun():
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Review", exact=True).click()
    pill = page.get_by_test_id("stButtonGroup").get_by_role("radio", name=QUEUE, exact=True)
    if pill.get_attribute("aria-checked") != "true":
        with app.rerun():
            pill.click()


def on_screen(app: LiveApp, reviewer: str) -> dict:
    """The known answer of the training item the page shows: the store hands the same one to every client."""
    with store_of(app) as store:
        item = next_item(store, QUEUE, reviewer)
        assert item["training"] is True
        with store.read() as conn:
            return conn.scalar(select(items.c.gold_answer).where(items.c.item_id == item["item_id"]))


def choose(app, correctness: str, helpfulness: int) -> None:
    """Pick the answers with the mouse: the options' text (the radio's own input sits under its label)."""
    pane = app.page.locator(".st-key-form_pane")
    with app.rerun():
        pane.get_by_test_id("stRadioGroup").get_by_text(correctness, exact=True).click()
    with app.rerun():
        pane.get_by_test_id("stButtonGroup").get_by_text(str(helpfulness), exact=True).click()


def answer_on_screen(app, correctness: str, helpfulness: int) -> None:
    choose(app, correctness, helpfulness)
    with app.rerun():
        app.page.get_by_role("button", name="Submit training answer").click()


def train_on_screen(app, live: LiveApp, reviewer: str, right: bool, attempt: int, tmp_path: Path) -> None:
    """Answer the 8 training items in the browser, all right or all wrong in correctness, reading each feedback."""
    page = app.page
    for n in range(1, 9):
        expect(page.get_by_text(f"Training item {n} of 8")).to_be_visible()
        gold = on_screen(live, reviewer)
        wrong = "incorrect" if gold["correctness"] != "incorrect" else "correct"
        answer_on_screen(app, gold["correctness"] if right else wrong, gold["helpfulness"])
        expect(
            page.get_by_role("heading", name=f"Training item {n} of 8: {2 if right else 1} of 2 right")
        ).to_be_visible()
        expect(page.get_by_text(f"the right answer is {gold['correctness']}")).to_be_visible()
        expect(page.get_by_text(f"Why: {gold['explanation']}")).to_be_visible()  # the gold explanation
        if n == 1:
            shoot(page, f"training-feedback-attempt-{attempt}", tmp_path)
        if n < 8:
            with app.rerun():
                page.get_by_role("button", name="Next").click()


def test_a_new_reviewer_trains_fails_is_held_then_passes_and_gets_live_items(chromium, training_app, tmp_path):
    with opened(chromium, training_app.url) as app:
        page = app.page
        page.set_viewport_size({"width": 1400, "height": 900})
        log_in(app, "newbie")
        open_queue(app)
        expect(page.get_by_text("Training item 1 of 8")).to_be_visible()
        expect(page.get_by_role("button", name="Skip")).to_have_count(0)  # no live item's buttons
        shoot(page, "training-item", tmp_path)
        train_on_screen(app, training_app, "newbie", right=False, attempt=1, tmp_path=tmp_path)
        expect(
            page.get_by_text("You did not pass the training this time: 50% of your answers were right")
        ).to_be_visible()
        expect(page.get_by_text("You can train again from")).to_be_visible()
        with app.rerun():
            page.get_by_role("button", name="Next").click()
        expect(page.get_by_text("You are held from this queue until")).to_be_visible()
        shoot(page, "training-held", tmp_path)
        with store_of(training_app) as store:
            assert standing(store, QUEUE, "newbie").state == "held"
            with store.write() as conn:  # a day later: the hold ends (time moved in the store file)
                conn.execute(reviewer_states.update().where(reviewer_states.c.reviewer == "newbie")
                             .values(retry_at=datetime.now(UTC) - timedelta(minutes=1)))  # fmt: skip
        with app.rerun():
            page.reload()
        open_queue(app)
        expect(page.get_by_text("(attempt 2)")).to_be_visible()
        train_on_screen(app, training_app, "newbie", right=True, attempt=2, tmp_path=tmp_path)
        expect(page.get_by_text("You passed the training: 100% of your answers were right")).to_be_visible()
        shoot(page, "training-passed", tmp_path)
        with app.rerun():
            page.get_by_role("button", name="Next").click()
        expect(page.get_by_role("button", name=LIVE_SUBMIT)).to_be_visible()  # a live item
        expect(page.get_by_test_id("stCaptionContainer").filter(has_text="of batch")).to_be_visible()
        with store_of(training_app) as store:
            assert standing(store, QUEUE, "newbie").state == "qualified"


def test_a_reviewer_under_the_monitoring_threshold_is_paused_on_the_next_item_and_the_lead_sees_it(
    chromium, training_app, tmp_path
):
    with store_of(training_app) as store:
        qualify(store, QUEUE, "mo", "lead", "reviewed this queue before")
    with opened(chromium, training_app.url) as app:
        page = app.page
        log_in(app, "mo")
        open_queue(app)
        expect(page.get_by_role("button", name=LIVE_SUBMIT)).to_be_visible()  # qualified: a live item
        with store_of(training_app) as store:  # wrong answers to gold items, sent by another client
            while standing(store, QUEUE, "mo").state == "qualified":
                item = next_item(store, QUEUE, "mo")
                with store.read() as conn:
                    gold = conn.scalar(select(items.c.gold_answer).where(items.c.item_id == item["item_id"]))
                wrong = "incorrect" if (gold or {}).get("correctness") != "incorrect" else "correct"
                submit(store, item["item_id"], "mo", Draft({"correctness": wrong, "helpfulness": 1}))
        with app.rerun():  # their next item: Skip gives this one back and asks for the next
            page.get_by_role("button", name=re.compile(r"^Skip")).click()
        expect(page.get_by_text("Training item 1 of 8")).to_be_visible()  # paused: back to training
        expect(page.get_by_text("Back in training: gold accuracy")).to_be_visible()
        shoot(page, "monitoring-paused", tmp_path)
    with opened(chromium, training_app.url) as app:
        page = app.page
        log_in(app, "lead")
        with app.rerun():
            page.get_by_test_id("stSidebarNav").get_by_role("link", name="Queue progress").click()
        notice = page.get_by_test_id("stAlert").filter(has_text="mo in support-quality")
        expect(notice).to_contain_text(f"over the last {WINDOW} gold items, under 60%")
        shoot(page, "monitoring-lead-notice", tmp_path)
