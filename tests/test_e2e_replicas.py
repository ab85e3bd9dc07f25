"""Two replicas of the review app on one PostgreSQL review store, as README's "Running for a team" sets
them up: two `streamlit run` servers, each with its own data directory, given the same store URL and
the same `session_secret`. In Debian's Chromium a reviewer logged in on one replica is logged in on
the other with the same reserved item, and two reviewers on the two replicas racing for the last
items leave every item with exactly the reviewers it needs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import opened, serving
from playwright.sync_api import expect
from review_support import reset_postgres, seed_queue
from sqlalchemy import func, select
from test_e2e import open_review

from reviewdesk.demo.run import DEMO_PASSWORD
from reviewdesk.review import access, accounts
from reviewdesk.stores.review_schema import items, submissions
from reviewdesk.stores.reviewstore import ReviewStore

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
QUEUE = "support-quality"
ITEMS = 6
SECRET = "replicas-share-this-secret-0123456789"
DONE = "Nothing left for you in this queue"
SHOTS = Path("/tmp/reviewdesk-shots")  # artifacts to look at, never committed


def caption(page):
    """The line that names the item on screen ("Item N of batch ...")."""
    return page.get_by_test_id("stCaptionContainer").filter(has_text="of batch")


def position(app) -> str:
    return caption(app.page).inner_text()


def answer(app) -> None:
    """Keys 1 and 4 answer the two choice criteria of the item on screen (the keys wait for each run)."""
    app.unfocus()
    for key in ("1", "4"):
        with app.rerun():
            app.page.keyboard.press(key)


def test_replicas_share_sessions_and_reservations_and_split_the_last_items(chromium, postgres_url, tmp_path,
                                                                           monkeypatch):  # fmt: skip
    with ReviewStore(postgres_url) as store:
        reset_postgres(store)
        seed_queue(store, QUEUE, n=ITEMS, reviewers_needed=1)
        for name in ("reviewer1", "reviewer2"):
            accounts.add_user(store, name, "reviewer", DEMO_PASSWORD)
            access.grant(store, QUEUE, name, by="admin")
    monkeypatch.setenv("REVIEWDESK_REVIEW_STORE_URL", postgres_url)
    monkeypatch.setenv("REVIEWDESK_SESSION_SECRET", SECRET)
    with (
        serving(tmp_path / "a", ROOT / "queues", tmp_path / "a.log") as replica_a,
        serving(tmp_path / "b", ROOT / "queues", tmp_path / "b.log") as replica_b,
        opened(chromium, replica_a) as one,
        opened(chromium, replica_b) as two,
    ):
        SHOTS.mkdir(exist_ok=True)
        open_review(one, "reviewer1", QUEUE)
        open_review(two, "reviewer2", QUEUE)
        held = position(one)
        assert held != position(two)  # each holds an item of their own

        # reviewer1's browser on replica B: logged in by the cookie replica A signed, and given the same item
        other = one.page.context.new_page()
        other.goto(f"{replica_b}/review")
        expect(caption(other)).to_have_text(held)
        other.close()

        # the race: both submit at once, again and again, until neither has anything left
        left = [one, two]
        while left:
            for app in left:
                answer(app)
            shown = {app: position(app) for app in left}
            for app in left:
                app.page.keyboard.press("Control+Enter")
            for n, app in enumerate(left):
                moved_on = app.page.get_by_text(DONE).or_(caption(app.page).filter(has_not_text=shown[app]))
                try:
                    expect(moved_on).to_be_visible(timeout=60_000)
                finally:
                    app.page.screenshot(path=SHOTS / f"replica-{n}.png")
            left = [app for app in left if app.page.get_by_text(DONE).count() == 0]

    with ReviewStore(postgres_url) as store, store.read() as conn:
        per_item = dict(conn.execute(select(submissions.c.item_id, func.count()).group_by(submissions.c.item_id)).all())
        by = dict(conn.execute(select(submissions.c.reviewer, func.count()).group_by(submissions.c.reviewer)).all())
        done = dict(conn.execute(select(items.c.item_id, items.c.reviews_done)).all())
    assert per_item == {item_id: 1 for item_id in done}  # every item exactly its one reviewer
    assert done == per_item
    assert sum(by.values()) == ITEMS and set(by) == {"reviewer1", "reviewer2"}
