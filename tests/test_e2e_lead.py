"""End to end in Chromium: running the operation from the app.

An admin grants alice a queue on the Users page; alice logs in and reviews an item of it; the admin revokes
it, and her next action is refused (her held item goes back). A lead resolves a flag on Flagged items, then
decides two adjudication cases of one queue in a row without picking the queue again. The app is served by
`streamlit run` on a fresh copy of the demo (fixtures in conftest.py); every outcome is checked in the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LiveApp, opened, serving
from demo_support import demo_copy
from playwright.sync_api import expect
from sqlalchemy import select
from test_e2e import log_in

from reviewdesk.labels.adjudication import backlog, open_cases
from reviewdesk.review.access import grants
from reviewdesk.review.accounts import add_user
from reviewdesk.review.drafts import Draft
from reviewdesk.review.oversight import flagged_items
from reviewdesk.review.qualification import qualify
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import submit
from reviewdesk.stores.review_schema import adjudications, reservations, submissions
from reviewdesk.stores.reviewstore import ReviewStore

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
QUEUE, AB = "support-quality", "support-ab"
ALICE = "alice-password"


@pytest.fixture(scope="module")
def lead_app(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The demo with alice (granted nothing), one flagged review, and open cases: two in support-quality,
    one in support-ab (the first queue by name), served by `streamlit run`."""
    root = tmp_path_factory.mktemp("lead-app")
    with demo_copy(demo_template, root / "data") as (store, _):
        add_user(store, "alice", "reviewer", ALICE)
        qualify(store, QUEUE, "alice", "lead", "test setup: this test is about grants, not training")
        flagged = next_item(store, QUEUE, "reviewer1")
        submit(store, flagged["item_id"], "reviewer1", Draft({"correctness": "incorrect", "helpfulness": 1},
               comment="Shows a card number", flags=[{"reason": "contains personal data (PII)"}]))  # fmt: skip
        singles = [i["item_id"] for i in store.items(QUEUE) if not i["is_gold"]][-2:]
        pair = store.items(AB)[0]["item_id"]
        open_cases(store, [{"item_id": i, "criterion": "correctness", "queue": QUEUE, "why": "test"} for i in singles]
                   + [{"item_id": pair, "criterion": "preference", "queue": AB, "why": "test"}])  # fmt: skip
    with serving(root / "data", ROOT / "queues", root / "streamlit.log") as url:
        yield LiveApp(url, root / "data")


def store_of(app: LiveApp) -> ReviewStore:
    return ReviewStore(f"sqlite:///{app.data_dir / 'review.sqlite'}")


def go(app, title: str) -> None:
    with app.rerun():
        app.page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    if title == "Review":  # a page with no title, to keep the rubric on screen: its Submit shows it is open
        expect(app.page.get_by_role("button", name="Submit")).to_be_visible()
    else:
        expect(app.page.get_by_role("heading", name=title)).to_be_visible()


def pick(app, box: str, option: str, in_form: bool = False) -> None:
    """Choose `option` in the select box labelled `box` (nothing to do when it shows it already: no rerun; nor
    inside a form, until it is submitted)."""
    select = app.page.get_by_test_id("stSelectbox").filter(has_text=box).first
    shown = [i.input_value() for i in select.locator("input").all()] + select.inner_text().splitlines()
    if option in shown:
        return
    select.click()
    if in_form:  # typed, as the open list may move under a click while the page scrolls to it
        app.page.keyboard.type(option)
        app.page.keyboard.press("Enter")
        expect(select.locator("input")).to_have_value(option)
        return
    with app.rerun():
        app.page.get_by_role("option", name=option, exact=True).click()


def type_into(app, label: str, text: str) -> None:
    """Fill a text area and leave it, so the app takes the text (a rerun)."""
    app.page.get_by_test_id("stTextArea").filter(has_text=label).locator("textarea").fill(text)
    with app.rerun():
        app.page.get_by_role("heading").first.click()


def click(app, name: str) -> None:
    with app.rerun():
        app.page.get_by_role("button", name=name, exact=True).click()


def save_access(admin, queues: list[str]) -> None:
    """On the Users page: set alice's queues to `queues`, and save."""
    pick(admin, "Reviewer", "alice")
    box = admin.page.get_by_test_id("stMultiSelect").filter(has_text="Queues they may review")
    remove = box.locator("button[aria-label^='Remove ']")  # the queues she has now: nothing to keep
    while remove.count():
        remove.first.click()
    for queue in queues:
        box.click()
        admin.page.get_by_role("option", name=queue, exact=True).click()
    admin.page.keyboard.press("Escape")  # close the drop-down
    click(admin, "Save access")


def answer_with_keys(app) -> None:
    """Answer the highlighted criteria with key 1 each (correctness, then helpfulness), outside any field."""
    app.unfocus()
    for _ in range(2):
        with app.rerun():
            app.page.keyboard.press("1")


def test_an_admin_grants_alice_a_queue_she_reviews_and_a_revoke_stops_her_next_action(chromium, lead_app):
    with opened(chromium, lead_app.url) as admin, opened(chromium, lead_app.url) as alice:
        log_in(admin, "admin")
        go(admin, "Users")
        expect(admin.page.get_by_text("Granted to nobody yet")).to_have_count(0)  # the demo's queues have grantees
        save_access(admin, [QUEUE])
        expect(admin.page.get_by_text(f"alice may now review {QUEUE}.")).to_be_visible()
        with store_of(lead_app) as store:
            assert "alice" in grants(store)[QUEUE]

        log_in(alice, "alice", ALICE)
        expect(alice.page.get_by_role("heading", name=f"{QUEUE} (single)")).to_be_visible()
        go(alice, "Review")
        position = alice.page.get_by_test_id("stCaptionContainer").filter(has_text="of batch")
        first = position.inner_text()
        answer_with_keys(alice)
        with alice.rerun():
            alice.page.keyboard.press("Control+Enter")
        expect(position).not_to_have_text(first)  # stored, and the next item is hers now
        with store_of(lead_app) as store, store.read() as conn:
            assert conn.scalar(select(submissions.c.reviewer).where(submissions.c.reviewer == "alice")) == "alice"
            held = conn.execute(select(reservations.c.item_id).where(reservations.c.reviewer == "alice")).all()
        assert len(held) == 1

        save_access(admin, [])  # revoke
        expect(admin.page.get_by_text(f"alice may no longer review {QUEUE} (from their next action).")).to_be_visible()
        alice.unfocus()
        with alice.rerun():  # answering the item she holds (the form alone reruns: the store is not asked) ...
            alice.page.keyboard.press("1")
        with alice.rerun():  # ... then her next action that reaches the store, Submit, is refused
            alice.page.keyboard.press("Control+Enter")
        expect(alice.page.get_by_text(f"Queue {QUEUE!r} is not granted to 'alice'")).to_be_visible()  # and says why
        expect(alice.page.get_by_text("No queue is assigned to you yet")).to_be_visible()
        expect(alice.page.get_by_role("button", name="Submit")).to_have_count(0)
        with store_of(lead_app) as store, store.read() as conn:
            mine = conn.execute(select(submissions.c.item_id).where(submissions.c.reviewer == "alice")).all()
            still = conn.execute(select(reservations.c.item_id).where(reservations.c.reviewer == "alice")).all()
        assert len(mine) == 1 and still == []  # nothing more stored; her held item was released


def test_a_lead_resolves_a_flag_and_decides_two_cases_in_a_row(chromium, lead_app):
    with opened(chromium, lead_app.url) as lead:
        log_in(lead, "lead")
        go(lead, "Flagged items")
        expect(lead.page.get_by_text("read-only")).to_be_visible()  # the flagged item, opened
        pick(lead, "Category", "product issue", in_form=True)
        note = lead.page.get_by_test_id("stTextArea").filter(has_text="Note").locator("textarea")
        note.fill("Card numbers reach the model: reported to the payments team.")
        click(lead, "Resolve flag")
        expect(lead.page.get_by_text("No open flags here.")).to_be_visible()
        with store_of(lead_app) as store:
            [flag] = flagged_items(store, QUEUE)
        assert flag.resolution["category"] == "product issue" and flag.resolution["resolved_by"] == "lead"

        go(lead, "Adjudication")
        pick(lead, "Queue", QUEUE)
        for n in range(2):  # the queue is picked once; each decision opens the next case
            expect(lead.page.get_by_role("combobox", name="Queue")).to_have_value(QUEUE)
            with lead.rerun():
                lead.page.get_by_test_id("stRadio").get_by_text("incorrect", exact=True).click()
            type_into(lead, "Reason", f"Decision {n + 1}: the order number is wrong.")
            click(lead, "Record decision")
            expect(lead.page.get_by_text("Decided correctness of ")).to_be_visible()
        with store_of(lead_app) as store:
            assert backlog(store, QUEUE) == [] and len(backlog(store, AB)) == 1
            with store.read() as conn:
                reasons = conn.scalars(select(adjudications.c.reason).where(adjudications.c.queue == QUEUE)).all()
        assert sorted(reasons) == [f"Decision {n}: the order number is wrong." for n in (1, 2)]
