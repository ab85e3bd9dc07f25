"""Collect under concurrency (issue 12, item 1): no submission is skipped or collected twice,
whatever the order of ids, clocks and commits, on SQLite and on PostgreSQL."""

from __future__ import annotations

import multiprocessing
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from review_support import add_reviewers, dialect_store, reset_postgres, seed_queue
from sqlalchemy import select, text

from reviewdesk.labels.collection import collect
from reviewdesk.review.drafts import Draft
from reviewdesk.review.submissions import submit
from reviewdesk.stores.review_schema import submissions
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse

QUEUE = "support-quality"
OK = {"correctness": "correct", "helpfulness": 3}
BAD = {"correctness": "maybe", "helpfulness": 3}  # rejected by collect: the rejection path races too
STRESS_SECONDS = 8
SUBMITTERS = 4


def item(pos: int) -> str:
    return f"{QUEUE}-b1-{pos:04d}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    with dialect_store(request.param, tmp_path, lambda: request.getfixturevalue("postgres_url")) as s:
        yield s


def stored_ids(store: ReviewStore) -> list[int]:
    with store.read() as conn:
        return sorted(conn.scalars(select(submissions.c.submission_id)))


def collected_ids(wh: Warehouse) -> list[int]:
    """Every collected submission id, valid or rejected, once per time it was collected."""
    rows = wh.execute("SELECT submission_id FROM submissions UNION ALL SELECT submission_id FROM rejected_submissions")
    return sorted(sid for (sid,) in rows)


def test_a_submission_stamped_later_than_a_higher_id_is_not_lost(store: ReviewStore, warehouse: Warehouse):
    # The case: X gets the lower id but the later `submitted_at` (its clock was read first,
    # its write came second); Y the higher id and the earlier time.
    seed_queue(store, n=2, reviewers_needed=1, assignees=[])
    add_reviewers(store, ["x", "y"])
    t0 = datetime.now(UTC)
    x = submit(store, item(1), "x", Draft(OK), now=t0 + timedelta(milliseconds=5))
    y = submit(store, item(2), "y", Draft(OK), now=t0 - timedelta(milliseconds=5))
    assert x.submission_id < y.submission_id
    # Collect at T0, then 30 s later (where PostgreSQL's old 30 s settle time put the cut at T0).
    for now in (t0, t0 + timedelta(seconds=30), t0 + timedelta(minutes=1)):
        collect(store, warehouse, now=now)
    assert collected_ids(warehouse) == [x.submission_id, y.submission_id]


@pytest.mark.parametrize("writes_early", [True, False], ids=["inserts-early", "takes-xid-early"])
def test_postgres_a_transaction_open_across_a_collect_is_collected_by_the_next(
    postgres_url: str, warehouse: Warehouse, writes_early: bool
):
    with ReviewStore(postgres_url) as store:
        reset_postgres(store)
        queue = seed_queue(store, n=2, reviewers_needed=1, assignees=[])
        add_reviewers(store, ["x", "y"])
        later = datetime.now(UTC) + timedelta(minutes=1)
        x_row = {"item_id": item(1), "reviewer": "x", "revision": 1, "answers": OK, "flags": [],
                 "suggestion_shown": False, "rubric_version": queue.rubric_version,
                 "submitted_at": datetime.now(UTC)}  # fmt: skip
        with store.engine.connect() as conn, conn.begin():  # X: begins first, commits last
            if writes_early:
                conn.execute(submissions.insert().values(**x_row))
            else:
                conn.execute(text("SELECT pg_current_xact_id()"))  # takes its transaction id now
            y = submit(store, item(2), "y", Draft(OK))  # Y: begins and commits while X is open
            while_open = collect(store, warehouse, now=later)
            if not writes_early:
                conn.execute(submissions.insert().values(**x_row))
        after = collect(store, warehouse, now=later)
        assert while_open.read + after.read == 2
        assert len(collected_ids(warehouse)) == 2 and y.submission_id in collected_ids(warehouse)
        assert collected_ids(warehouse) == stored_ids(store)


def test_postgres_an_edit_read_before_the_revision_it_replaces_still_wins(postgres_url: str, warehouse: Warehouse):
    # An edit whose transaction took its id before the first revision's committed comes first in
    # (txid, id) order; read one per chunk, the first revision must not replace the edit's labels.
    with ReviewStore(postgres_url) as store:
        reset_postgres(store)
        queue = seed_queue(store, n=1, reviewers_needed=1, assignees=[])
        add_reviewers(store, ["x"])
        row = {"item_id": item(1), "reviewer": "x", "flags": [], "suggestion_shown": False,
               "rubric_version": queue.rubric_version, "submitted_at": datetime.now(UTC)}  # fmt: skip
        with store.engine.connect() as edit, edit.begin():
            edit.execute(text("SELECT pg_current_xact_id()"))
            with store.write() as first:
                first.execute(submissions.insert().values(**row, revision=1, answers=OK))
            edit.execute(submissions.insert().values(**row, revision=2, answers={**OK, "helpfulness": 5}))
        result = collect(store, warehouse, chunk=1)
    assert (result.read, result.loaded) == (2, 2)
    assert warehouse.execute("SELECT criterion, value, revision FROM labels ORDER BY criterion") == [
        ("correctness", "correct", 2), ("helpfulness", "5", 2),
    ]  # fmt: skip


def submit_for(url: str, reviewer: str, seconds: float, barrier, results) -> None:
    """Submitter process: take items and submit them with `submit_and_next`, as the app does, for `seconds`."""
    from reviewdesk.review.reservations import next_item
    from reviewdesk.review.submissions import submit_and_next

    try:
        with ReviewStore(url) as s:
            barrier.wait()
            deadline, ids = time.monotonic() + seconds, []
            got = next_item(s, QUEUE, reviewer)
            while got is not None and time.monotonic() < deadline:
                answers = BAD if len(ids) % 10 == 9 else OK
                result, got = submit_and_next(s, got["item_id"], reviewer, Draft(answers))
                ids.append(result.submission_id)
        results.put(("ok", reviewer, ids, got is None))
    except Exception as e:  # reported to the test
        results.put(("error", reviewer, f"{type(e).__name__}: {e}", False))


def test_stress_every_submission_is_collected_exactly_once(store: ReviewStore, warehouse: Warehouse):
    """4 submitter processes for 8 s while collect runs in a tight loop, then one last collect."""
    seed_queue(store, n=8_000, reviewers_needed=2, assignees=[])
    reviewers = [f"s{i}" for i in range(SUBMITTERS)]
    add_reviewers(store, reviewers)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(SUBMITTERS + 1), ctx.Queue()
    procs = [ctx.Process(target=submit_for, args=(store.url, r, STRESS_SECONDS, barrier, results)) for r in reviewers]
    for p in procs:
        p.start()
    barrier.wait(timeout=120)
    runs = 0
    while any(p.is_alive() for p in procs):
        collect(store, warehouse)
        runs += 1
    outcomes = [results.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(timeout=10)
    assert [o for o in outcomes if o[0] != "ok"] == []
    assert not any(ran_out for *_, ran_out in outcomes), "a submitter ran out of items: seed more"
    collect(store, warehouse)
    submitted = sorted(sid for _, _, ids, _ in outcomes for sid in ids)
    stored = stored_ids(store)
    assert stored == submitted and len(stored) > 50 and runs > 10
    collected = collected_ids(warehouse)
    lost, twice = sorted(set(stored) - set(collected)), len(collected) - len(set(collected))
    assert (lost, twice) == ([], 0), f"{len(lost)} of {len(stored)} submissions lost, {twice} collected twice"
    assert collected == stored
