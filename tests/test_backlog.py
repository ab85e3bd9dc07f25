"""Backlog control on SQLite and PostgreSQL, with hand-computed answers: the review cycle publishes only what
fits a queue's `max_open_items` or `max_backlog_hours`, records that it was capped, and draws nothing while
the queue is paused or its filter matches no new run. Also: m012 turns the users' old queue lists into grants."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from publish_support import demo_warehouse, load_queue
from review_support import PASSWORD, dialect_store, seed_queue
from sqlalchemy import text

from reviewdesk.config import Settings
from reviewdesk.review import access, accounts
from reviewdesk.review.backlog import batch_room, units_within
from reviewdesk.review.drafts import Draft
from reviewdesk.review.reservations import next_item
from reviewdesk.review.steps import cycle_sample_step, publish_step
from reviewdesk.review.submissions import submit
from reviewdesk.sample.batches import load_batch
from reviewdesk.stores.review_migrations import MIGRATIONS
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

QUEUE, AB = "support-quality", "support-ab"


def queue(size: int, **limits: object) -> QueueConfig:
    """support-quality without gold or overlap (one review an item), drawing `size` runs a batch."""
    q = load_queue(QUEUE, gold_fraction=0.0, reviewers_per_item=1, overlap_fraction=0.0, **limits)
    return q.model_copy(update={"sampling": q.sampling.model_copy(update={"size": size, "seed": None})})


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """A data dir with 300 demo runs in its warehouse and an empty review store (SQLite or PostgreSQL)."""
    demo_warehouse(tmp_path, runs=300).close()
    with dialect_store(request.param, tmp_path, lambda: request.getfixturevalue("postgres_url")) as store:
        url = store.url
    return Settings(data_dir=tmp_path, review_store_url=url)


def cycle(settings: Settings, q: QueueConfig, seed: int):
    """One review cycle's sampling and publishing; the publish report is None when nothing was drawn."""
    drawn = cycle_sample_step(settings, q, seed=seed)
    return drawn, publish_step(settings, q, drawn.batch.batch_id) if drawn.batch else None


def test_cap_10_with_7_open_publishes_3_and_records_it(settings: Settings):
    q = queue(7, max_open_items=10)
    first, published = cycle(settings, q, seed=1)
    assert (first.room.size, first.room.capped, published.published) == (7, False, 7)
    second, published = cycle(settings, q, seed=2)
    assert (second.room.open_items, second.room.size, published.published) == (7, 3, 3)  # 10 - 7
    assert second.room.reason == f"{QUEUE}: drawing 3 of 7: 7 items are open and max_open_items is 10"
    with Warehouse(settings.warehouse_path) as wh:
        recorded = load_batch(wh, second.batch.batch_id).params["backlog"]
        assert "backlog" not in load_batch(wh, first.batch.batch_id).params  # not capped: nothing to record
    assert (recorded["capped"], recorded["requested"], recorded["size"], recorded["open_items"]) == (True, 7, 3, 7)
    third, published = cycle(settings, q, seed=3)  # 10 open: no room at all
    assert (third.batch, published, third.skipped) == (None, None, f"{QUEUE}: drawing 0 of 7: 10 items are open "
                                                                   "and max_open_items is 10")  # fmt: skip


def test_backlog_hours_at_the_measured_rate(settings: Settings):
    q = queue(7, max_backlog_hours=3)
    first, _ = cycle(settings, q, seed=1)
    with ReviewStore(settings.review_url) as store:
        accounts.add_user(store, "reviewer1", "reviewer", PASSWORD)  # granted by the queue file
        published_at = store.batch(first.batch.batch_id)["published_at"]
        room = batch_room(store, q, now=published_at + timedelta(minutes=1))
        assert (room.open_reviews, room.reviews_per_hour, room.size) == (7, None, 0)  # no rate yet, work open
        at = published_at + timedelta(hours=1)
        for _ in range(4):
            item = next_item(store, QUEUE, "reviewer1", now=at)
            submit(store, item["item_id"], "reviewer1", Draft({"correctness": "correct"}), now=at)
        # 4 reviews in the 2 hours since the first batch: 2 an hour; 3 hours hold 6 reviews, 3 are open: room 3
        room = batch_room(store, q, now=published_at + timedelta(hours=2))
    assert (room.open_items, room.open_reviews, room.reviews_per_hour, room.size) == (3, 3, 2.0, 3)
    assert room.reason.endswith("3 reviews are open, reviewers do 2.0 an hour, and max_backlog_hours is 3")


def test_a_paused_queue_or_a_filter_matching_nothing_draws_no_batch(settings: Settings):
    q = queue(5)
    cycle(settings, q, seed=1)
    with ReviewStore(settings.review_url) as store:
        access.set_paused(store, QUEUE, True, by="lead")
    paused, published = cycle(settings, q, seed=2)
    assert paused.batch is None and published is None and paused.room.paused
    assert "drawing 0 of 5: the queue is paused (by lead at " in paused.skipped
    with ReviewStore(settings.review_url) as store:
        access.set_paused(store, QUEUE, False, by="lead")
    nothing = q.model_copy(update={"sampling": q.sampling.model_copy(update={"filter": "project = 'no-such'"})})
    empty, published = cycle(settings, nothing, seed=3)
    assert empty.batch is None and empty.skipped.startswith(f"{QUEUE}: Nothing to sample: no runs match the filter")


def test_gold_items_share_the_room():
    q = load_queue(QUEUE, gold_fraction=0.1)  # round(n * 0.1) gold items, at least 1, on top of n sampled
    assert [units_within(q, room) for room in (0, 1, 2, 10, 11, 12, 23)] == [0, 0, 1, 9, 10, 11, 21]


def test_m012_turns_old_queue_lists_into_the_grants_they_meant(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'review.sqlite'}"
    with ReviewStore(url) as store:
        seed_queue(store, AB, n=1)  # assignees reviewer1..3
        seed_queue(store, QUEUE, n=1, assignees=[])  # named nobody: anyone allowed before m012
        for name, role in (("reviewer1", "reviewer"), ("reviewer2", "reviewer"), ("zed", "reviewer"),
                           ("boss", "lead")):  # fmt: skip
            accounts.add_user(store, name, role, PASSWORD)
        with store.write() as conn:  # back to the shape before m012: lists on the users, no grants
            conn.execute(text("ALTER TABLE users ADD COLUMN queues JSON"))
            conn.execute(text("""UPDATE users SET queues = '["support-quality"]' WHERE name = 'reviewer2'"""))
            conn.execute(text("DELETE FROM queue_grants"))
            conn.execute(text("DELETE FROM migrations WHERE name = 'm012_grants_pauses_flag_resolutions'"))
    with ReviewStore(url) as store:
        assert sorted(store.applied()) == sorted(MIGRATIONS)
        # reviewer3 has no account yet: granted as an assignee, as a first publish would have
        assert access.grants(store) == {AB: ["reviewer1", "reviewer3"], QUEUE: ["reviewer1", "reviewer2", "zed"]}
        assert [u["queues"] for u in accounts.list_users(store)] == [[], [AB, QUEUE], [QUEUE], [QUEUE]]
