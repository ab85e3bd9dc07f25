"""The review store's fast paths: submit_and_next (one write transaction for Submit), the open-items
index that keeps next_item's walk flat, and statements built once; with races of processes."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from review_support import (
    PASSWORD,
    T0,
    add_reviewers,
    check_race,
    race_in_processes,
    race_in_threads,
    reset_postgres,
    seed_queue,
    store_with_reviewers,
)
from sqlalchemy import func, select, text

from reviewdesk.errors import AccessDenied, NotFound, ReviewConflict
from reviewdesk.review import accounts
from reviewdesk.review.drafts import Draft
from reviewdesk.review.oversight import progress
from reviewdesk.review.reservations import next_item, release
from reviewdesk.review.submissions import item_submissions, submit, submit_and_next
from reviewdesk.stores.review_migrations import MIGRATIONS
from reviewdesk.stores.review_schema import items, reservations
from reviewdesk.stores.reviewstore import ReviewStore

QUEUE = "support-quality"
ANSWER = {"correctness": "correct"}


@pytest.fixture
def store(tmp_path: Path):
    with store_with_reviewers(tmp_path) as s:
        yield s


def _holds(store: ReviewStore) -> list[tuple[str, str]]:
    with store.read() as conn:
        return sorted(conn.execute(select(reservations.c.item_id, reservations.c.reviewer)).all())


def test_submit_and_next_stores_the_submission_and_reserves_the_next_item(store: ReviewStore):
    seed_queue(store, n=3, reviewers_needed=1)
    first = next_item(store, QUEUE, "reviewer1", now=T0)
    later = T0 + timedelta(minutes=2)
    result, second = submit_and_next(store, first["item_id"], "reviewer1", Draft(ANSWER, comment="ok"), now=later)
    assert (result.revision, result.duplicate) == (1, False)
    [row] = item_submissions(store, first["item_id"])
    assert (row["submission_id"], row["answers"], row["comment"]) == (result.submission_id, ANSWER, "ok")
    assert (row["shown_at"], row["submitted_at"]) == (T0, later)  # shown_at: when it was reserved
    assert second["item_id"].endswith("0002") and second["reserved_until"] == later + timedelta(minutes=30)
    assert "gold_answer" not in second and "is_gold" not in second and "suggestion_shown" in second
    assert _holds(store) == [(second["item_id"], "reviewer1")]  # the first hold ended, the next began
    assert next_item(store, QUEUE, "reviewer2", now=later)["item_id"].endswith("0003")  # 0001 done, 0002 held
    _, third = submit_and_next(store, second["item_id"], "reviewer1", Draft(ANSWER), now=later)
    assert third is None  # 0003 is held by reviewer2 to capacity
    assert progress(store, QUEUE).done == 2


def test_submit_and_next_serves_the_same_order_as_the_two_calls(tmp_path: Path, store: ReviewStore):
    seed_queue(store, n=6, reviewers_needed=2, priorities={5: 2.0, 3: 0.5, 2: -1.0})
    with ReviewStore(f"sqlite:///{tmp_path / 'other.sqlite'}") as other:
        seed_queue(other, n=6, reviewers_needed=2, priorities={5: 2.0, 3: 0.5, 2: -1.0})
        add_reviewers(other, ["reviewer1", "reviewer2"])
        for reviewer in ("reviewer1", "reviewer2"):
            combined, separate = [], []
            item = next_item(store, QUEUE, reviewer, now=T0)
            while item is not None:
                combined.append(item["item_id"])
                item = submit_and_next(store, item["item_id"], reviewer, Draft(ANSWER), now=T0)[1]
            while (item := next_item(other, QUEUE, reviewer, now=T0)) is not None:
                separate.append(item["item_id"])
                submit(other, item["item_id"], reviewer, Draft(ANSWER), now=T0)
            assert combined == separate and len(combined) == 6
    assert progress(store, QUEUE).complete == 6 and _holds(store) == []


def test_submit_and_next_twice_is_a_duplicate_and_returns_the_same_next_item(store: ReviewStore):
    seed_queue(store, n=3, reviewers_needed=2)
    item = next_item(store, QUEUE, "reviewer1", now=T0)
    first, nxt = submit_and_next(store, item["item_id"], "reviewer1", Draft(ANSWER), now=T0)
    again, nxt_again = submit_and_next(store, item["item_id"], "reviewer1", Draft({"correctness": "wrong"}), now=T0)
    assert not first.duplicate and again.duplicate and again.submission_id == first.submission_id
    assert nxt_again["item_id"] == nxt["item_id"]  # the hold the first one took, renewed
    assert [r["answers"] for r in item_submissions(store, item["item_id"])] == [ANSWER]
    with store.read() as conn:
        assert conn.scalar(select(items.c.reviews_done).where(items.c.item_id == item["item_id"])) == 1


def test_submit_and_next_gives_the_reviewer_the_item_they_still_hold(store: ReviewStore):
    seed_queue(store, n=4, reviewers_needed=1)
    first = next_item(store, QUEUE, "reviewer2", now=T0)  # item 1, so reviewer1 gets item 2
    held = next_item(store, QUEUE, "reviewer1", now=T0)
    release(store, first["item_id"], "reviewer2")  # item 1 is first in order again
    later = T0 + timedelta(minutes=1)  # item 3 answered from another tab
    result, got = submit_and_next(store, "support-quality-b1-0003", "reviewer1", Draft(ANSWER), now=later)
    assert not result.duplicate and got["item_id"] == held["item_id"] == "support-quality-b1-0002"  # not item 1
    assert got["reserved_until"] == later + timedelta(minutes=30)  # its hold renewed
    assert _holds(store) == [(held["item_id"], "reviewer1")]
    result, got = submit_and_next(store, held["item_id"], "reviewer1", Draft(ANSWER), now=later)
    assert got["item_id"] == first["item_id"] and _holds(store) == [(got["item_id"], "reviewer1")]


def test_a_refused_submit_stores_and_reserves_nothing(store: ReviewStore):
    seed_queue(store, n=2, reviewers_needed=1)
    item_id = "support-quality-b1-0001"
    held = next_item(store, QUEUE, "reviewer1", now=T0)
    assert held["item_id"] == item_id
    with pytest.raises(ReviewConflict, match="already has enough reviews"):  # reviewer1 holds its only slot
        submit_and_next(store, item_id, "reviewer2", Draft(ANSWER), now=T0)
    assert _holds(store) == [(item_id, "reviewer1")] and item_submissions(store, item_id) == []
    accounts.add_user(store, "zed", "reviewer", PASSWORD)  # not an assignee of the queue
    with pytest.raises(AccessDenied):
        submit_and_next(store, item_id, "zed", Draft(ANSWER), now=T0)
    with pytest.raises(NotFound, match="No item 'nope'"):
        submit_and_next(store, "nope", "reviewer1", Draft(ANSWER), now=T0)
    assert _holds(store) == [(item_id, "reviewer1")]


def test_submit_and_next_honours_exclude_and_expired_holds(store: ReviewStore):
    seed_queue(store, n=4, reviewers_needed=1)
    first = next_item(store, QUEUE, "reviewer1", now=T0)
    skip = ["support-quality-b1-0002"]
    _, nxt = submit_and_next(store, first["item_id"], "reviewer1", Draft(ANSWER), now=T0, exclude=skip)
    assert nxt["item_id"].endswith("0003")  # 0002 was skipped in this sitting
    late = T0 + timedelta(minutes=31)  # reviewer1's hold on 0003 has expired: reviewer2 may take it
    assert next_item(store, QUEUE, "reviewer2", now=late)["item_id"].endswith("0002")
    _, taken = submit_and_next(store, "support-quality-b1-0002", "reviewer2", Draft(ANSWER), now=late)
    assert taken["item_id"].endswith("0003")
    with pytest.raises(ReviewConflict):  # reviewer1 came back too late: reviewer2 holds its only slot
        submit_and_next(store, nxt["item_id"], "reviewer1", Draft(ANSWER), now=late)


def test_finished_items_leave_the_open_items_index(store: ReviewStore):
    seed_queue(store, n=5, reviewers_needed=1)
    item = next_item(store, QUEUE, "reviewer1", now=T0)
    for _ in range(3):
        item = submit_and_next(store, item["item_id"], "reviewer1", Draft(ANSWER), now=T0)[1]
    with store.read() as conn:  # the partial index holds only the items still needing reviews
        in_index = conn.exec_driver_sql(
            "SELECT count(*) FROM items INDEXED BY ix_items_open_order "
            "WHERE queue = ? AND reviews_done < reviewers_needed",
            (QUEUE,),
        ).scalar()
        names = set(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'").scalars())
    assert in_index == 2
    assert "ix_items_open_order" in names and "ix_items_review_order" not in names  # m007 replaced it


def test_m007_adds_the_open_items_index_to_an_older_store(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'review.sqlite'}"
    with ReviewStore(url) as store, store.write() as conn:  # roll the file back to its m005 shape
        conn.execute(text("DROP INDEX ix_items_open_order"))
        conn.execute(text("CREATE INDEX ix_items_review_order ON items (queue, coalesce(priority, 0) DESC, "
                          "position, item_id)"))  # fmt: skip
        conn.execute(text("DELETE FROM migrations WHERE name = 'm007_open_items_index'"))
    with ReviewStore(url) as store:
        assert sorted(store.applied()) == sorted(MIGRATIONS)
        with store.read() as conn:
            names = set(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'").scalars())
        assert "ix_items_open_order" in names and "ix_items_review_order" not in names


def test_replace_stmt_is_built_once_and_overwrites_only_its_columns(store: ReviewStore):
    seed_queue(store, n=1)
    stmt = store.replace_stmt(reservations, ("expires_at",))
    assert store.replace_stmt(reservations, ("expires_at",)) is stmt
    assert store.insert_ignore_stmt(reservations) is store.insert_ignore_stmt(reservations)
    row = {"item_id": "support-quality-b1-0001", "reviewer": "reviewer1", "reserved_at": T0, "expires_at": T0}
    later = T0 + timedelta(hours=1)
    with store.write() as conn:
        conn.execute(stmt, row)
        conn.execute(stmt, {**row, "reserved_at": later, "expires_at": later})
    with store.read() as conn:
        got = conn.execute(select(reservations.c.reserved_at, reservations.c.expires_at)).all()
    assert got == [(T0, later)]


def submit_and_next_in_process(url: str, queue: str, reviewer: str, barrier, results) -> None:
    """Child process body: take an item, then submit_and_next until none is left; every third round
    also submit a random item without reserving it, to race for last slots."""
    import random

    from reviewdesk.review.reservations import next_item
    from reviewdesk.review.submissions import submit, submit_and_next

    rng = random.Random(reviewer)
    done: list[tuple[str, bool]] = []
    try:
        with ReviewStore(url) as store:
            ids = [i["item_id"] for i in store.items(queue)]
            barrier.wait()
            item = next_item(store, queue, reviewer)
            round_ = 0
            while item is not None:
                result, nxt = submit_and_next(store, item["item_id"], reviewer, Draft({"correctness": "correct"}))
                done.append((item["item_id"], result.duplicate))
                item, round_ = nxt, round_ + 1
                if round_ % 3 == 0:  # any item but the one held (submitting that is the next round's job)
                    try:
                        direct = submit(store, rng.choice([i for i in ids if item is None or i != item["item_id"]]),
                                        reviewer, Draft({"correctness": "wrong"}))  # fmt: skip
                    except ReviewConflict:
                        continue
                    done.append(("direct", direct.duplicate))
        results.put(("ok", done))
    except Exception as e:
        results.put(("error", f"{type(e).__name__}: {e}"))


def test_racing_processes_with_submit_and_next_never_overfill_an_item(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'review.sqlite'}"
    with ReviewStore(url) as store:
        seed_queue(store, n=40, reviewers_needed=3, assignees=[])
    outcomes = race_in_processes(url, QUEUE, submit_and_next_in_process, timeout=120)
    assert [o[1] for o in outcomes if o[0] != "ok"] == []
    with ReviewStore(url) as store:
        check_race(store, needed=3)  # no item over capacity, no reviewer twice, counters match the rows
        assert progress(store, QUEUE).complete == 40  # and every slot was filled
        assert _holds(store) == []  # every hold ended with its submission
    assert not any(dup for o in outcomes for item_id, dup in o[1] if item_id != "direct")


def test_postgres_submit_and_next_race(postgres_url: str):
    with ReviewStore(postgres_url) as store:
        reset_postgres(store)
        seed_queue(store, n=12, reviewers_needed=3, assignees=[])

        def work(reviewer: str) -> None:
            item = next_item(store, QUEUE, reviewer)
            while item is not None:
                result, item = submit_and_next(store, item["item_id"], reviewer, Draft(ANSWER))
                assert not result.duplicate

        assert race_in_threads(store, work) == []
        check_race(store, needed=3)
        assert progress(store, QUEUE).complete == 12
        with store.read() as conn:
            assert conn.scalar(select(func.count()).select_from(reservations)) == 0
            rows = conn.exec_driver_sql("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'items'")
            indexes = dict(rows.all())
        assert "WHERE (reviews_done < reviewers_needed)" in indexes["ix_items_open_order"]
        assert "ix_items_review_order" not in indexes


def test_writes_are_synced_after_the_write_lock_is_released(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from reviewdesk.stores import reviewstore, sqlite_writes
    with ReviewStore(f"sqlite:///{tmp_path / 'review.sqlite'}") as store:
        with store.engine.connect() as conn:  # WAL: SQLite does not fsync each commit, write() does
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        synced: list[tuple[str, int]] = []
        gate = lambda: sqlite_writes._GATES[store._lock_path]  # noqa: E731

        def sync(path: str) -> None:
            synced.append((path, gate().depth))  # the gate's depth: 0 once released
            real_sync(path)

        real_sync = reviewstore.sync_wal
        monkeypatch.setattr(reviewstore, "sync_wal", sync)
        seed_queue(store, n=1)
        assert synced == [(str((tmp_path / "review.sqlite").resolve()) + "-wal", 0)]
        with pytest.raises(RuntimeError), store.write() as conn:  # a rolled-back write has nothing to sync
            conn.execute(reservations.delete())
            raise RuntimeError("boom")
        assert len(synced) == 1
        with store.read() as conn:  # reads never sync
            conn.execute(select(func.count()).select_from(items)).scalar()
        assert len(synced) == 1
    with ReviewStore(f"sqlite:///{tmp_path / 'review.sqlite'}") as store:
        assert len(store.items(QUEUE)) == 1


def test_postgres_next_item_waits_for_items_others_hold_for_a_moment(postgres_url: str, monkeypatch):
    """SKIP LOCKED passes over a row another transaction holds; with room left there, next_item tries
    again shortly instead of saying that nothing is left."""
    from reviewdesk.review import reservations as reserving
    with ReviewStore(postgres_url) as store:
        reset_postgres(store)
        seed_queue(store, n=1, reviewers_needed=1, assignees=["r1"])
        accounts.add_user(store, "r1", "reviewer", PASSWORD)
        item_id = "support-quality-b1-0001"
        locked, release = threading.Event(), threading.Event()

        def hold() -> None:  # another transaction holds the item's row (as a submit would), then lets go
            with store.engine.begin() as conn:
                conn.execute(select(items.c.item_id).where(items.c.item_id == item_id).with_for_update())
                locked.set()
                release.wait(10)

        for patience, expected in ((0.2, None), (5.0, item_id)):
            monkeypatch.setattr(reserving, "BUSY_RETRY_SECONDS", patience)
            locked.clear()
            release.clear()
            holder = threading.Thread(target=hold)
            holder.start()
            assert locked.wait(10)
            if expected is not None:
                threading.Timer(0.3, release.set).start()
            got = next_item(store, QUEUE, "r1")
            release.set()
            holder.join(10)
            assert (got and got["item_id"]) == expected
