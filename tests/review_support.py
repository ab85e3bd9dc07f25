"""Helpers for the accounts and reviews tests: queues and items written straight into a review store."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from publish_support import load_queue
from sqlalchemy import select, text

from reviewdesk.review import access, accounts
from reviewdesk.stores.review_schema import batches, items, metadata, queues, submissions, users
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


@contextmanager
def store_with_reviewers(tmp_path: Path) -> Iterator[ReviewStore]:
    """A new SQLite review store in `tmp_path` with three reviewer accounts, reviewer1..reviewer3."""
    with ReviewStore(f"sqlite:///{tmp_path / 'review.sqlite'}") as s:
        for name in ("reviewer1", "reviewer2", "reviewer3"):
            accounts.add_user(s, name, "reviewer", PASSWORD)
        yield s


def seed_queue(
    store: ReviewStore,
    name: str = "support-quality",
    n: int = 10,
    reviewers_needed: int = 2,
    gold: int = 0,
    priorities: dict[int, float] | None = None,
    batch_id: str | None = None,
    payloads: list[dict] | None = None,
    **changes: object,
) -> QueueConfig:
    """Save queue `name` (with `changes`) and one batch of `n` items: positions 1..n, the first `gold` gold;
    `payloads`: the items' payloads in order (each item's run is the first of its `runs`)."""
    return seed_batch(store, load_queue(name, **changes), n, reviewers_needed, gold, priorities, batch_id, payloads)


def seed_batch(
    store: ReviewStore,
    queue: QueueConfig,
    n: int = 10,
    reviewers_needed: int = 2,
    gold: int = 0,
    priorities: dict[int, float] | None = None,
    batch_id: str | None = None,
    payloads: list[dict] | None = None,
) -> QueueConfig:
    """Save `queue` and one batch of `n` items, as `seed_queue` does."""
    batch_id = batch_id or f"{queue.name}-b1"
    priorities = priorities or {}
    payloads = payloads or [{"runs": {f"run-{pos}": {"run_id": f"run-{pos}", "outputs": f"answer {pos}"}}}
                            for pos in range(1, n + 1)]  # fmt: skip
    with store.write() as conn:
        store.save_queue(conn, queue, T0)
        store.insert_ignore(conn, batches, [{
            "batch_id": batch_id, "queue": queue.name, "rubric_version": queue.rubric_version,
            "strategy": "random", "seed": 1, "size": n, "item_count": n, "published_at": T0,
        }])  # fmt: skip
        rows = [
            {
                "item_id": f"{batch_id}-{pos:04d}",
                "batch_id": batch_id,
                "queue": queue.name,
                "position": pos,
                "kind": "single",
                "run_id": next(iter(payloads[pos - 1]["runs"])),
                "run_a": None,
                "run_b": None,
                "left_run_id": None,
                "rubric_version": queue.rubric_version,
                "inclusion_probability": None if pos <= gold else 0.5,
                "is_gold": pos <= gold,
                "gold_answer": {"correctness": "correct"} if pos <= gold else None,
                "reviewers_needed": reviewers_needed,
                "payload": payloads[pos - 1],
                "published_at": T0,
                "priority": priorities.get(pos),
            }
            for pos in range(1, n + 1)
        ]
        store.insert_ignore(conn, items, rows)
    return queue


def review_in_process(url: str, queue: str, reviewer: str, barrier, results) -> None:
    """Child process body: wait for the others, then take and submit items until none is left.

    Every third round it also submits a random item without reserving it, to race for last slots.
    Reports ("ok", [(item_id, duplicate)...], [refusals]) or ("error", message).
    """
    import random

    from reviewdesk.errors import ReviewConflict
    from reviewdesk.review.drafts import Draft
    from reviewdesk.review.reservations import next_item
    from reviewdesk.review.submissions import submit

    rng = random.Random(reviewer)
    done: list[tuple[str, bool]] = []
    refused: list[str] = []
    try:
        with ReviewStore(url) as store:
            ids = [i["item_id"] for i in store.items(queue)]
            barrier.wait()
            for round_ in range(10_000):
                item = next_item(store, queue, reviewer)
                if item is None:
                    break
                result = submit(store, item["item_id"], reviewer, Draft({"correctness": "correct"}))
                done.append((item["item_id"], result.duplicate))
                if round_ % 3 == 2:
                    try:
                        result = submit(store, rng.choice(ids), reviewer, Draft({"correctness": "wrong"}))
                        done.append(("direct", result.duplicate))
                    except ReviewConflict as e:
                        refused.append(str(e))
        results.put(("ok", done, refused))
    except Exception as e:
        results.put(("error", f"{type(e).__name__}: {e}", []))


def grant_published(store: ReviewStore, names: list[str]) -> None:
    """Grant every queue published so far to each of `names` (a queue file naming nobody grants nobody)."""
    with store.read() as conn:
        published = list(conn.scalars(select(queues.c.name)))
    for queue in published:
        for name in names:
            access.grant(store, queue, name, by="test")


def add_reviewers(store: ReviewStore, names: list[str]) -> None:
    """Reviewer accounts without scrypt (the races are about reviews), granted every published queue."""
    created = datetime(2026, 11, 1, tzinfo=UTC)
    with store.write() as conn:  # through the Table, so PostgreSQL stores take them too
        conn.execute(users.insert(), [{"name": name, "role": "reviewer", "password_hash": "scrypt$x",
                                       "disabled": False, "failed_logins": 0, "created_at": created}
                                      for name in names])  # fmt: skip
    grant_published(store, names)


def race_in_processes(url: str, queue: str, target, count: int = 8, timeout: float = 60) -> list[tuple]:
    """`count` reviewer accounts (r0, r1, ...), each running `target(url, queue, reviewer, barrier,
    results)` in its own spawned process at once; what each put on `results`."""
    reviewers = [f"r{i}" for i in range(count)]
    with ReviewStore(url) as store:
        add_reviewers(store, reviewers)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(len(reviewers)), ctx.Queue()
    procs = [ctx.Process(target=target, args=(url, queue, r, barrier, results)) for r in reviewers]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=timeout) for _ in procs]
    for p in procs:
        p.join(timeout=10)
    return outcomes


def check_race(store: ReviewStore, needed: int) -> None:
    """After a race: no item over `needed` reviews, no reviewer twice, and counters matching the rows."""
    with store.read() as conn:
        rows = conn.execute(select(submissions.c.item_id, submissions.c.reviewer)).all()
        done = dict(conn.execute(select(items.c.item_id, items.c.reviews_done)).all())
    per_item = Counter(item_id for item_id, _ in rows)
    assert max(per_item.values()) <= needed, per_item
    assert len(set(rows)) == len(rows), "a reviewer submitted an item twice"
    assert done == {i: per_item.get(i, 0) for i in done}  # the counter matches the rows


@contextmanager
def dialect_store(dialect: str, tmp_path: Path, postgres_url: Callable[[], str]) -> Iterator[ReviewStore]:
    """An empty, migrated review store: SQLite in `tmp_path`, or PostgreSQL at `postgres_url()` (reset)."""
    url = f"sqlite:///{tmp_path / 'review.sqlite'}" if dialect == "sqlite" else postgres_url()
    with ReviewStore(url) as s:
        if s.dialect == "postgresql":
            reset_postgres(s)
        yield s


@contextmanager
def stores_with_warehouse(
    dialect: str, tmp_path: Path, postgres_url: Callable[[], str]
) -> Iterator[tuple[ReviewStore, Warehouse]]:
    """`dialect_store` with reviewer1 and a new warehouse in `tmp_path`: what collect reads and writes."""
    with dialect_store(dialect, tmp_path, postgres_url) as store, Warehouse(tmp_path / "wh.duckdb") as wh:
        accounts.add_user(store, "reviewer1", "reviewer", PASSWORD)
        yield store, wh


def reset_postgres(store: ReviewStore) -> None:
    """A clean, migrated schema in the shared test cluster: drop what an earlier test left."""
    with store.engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {', '.join(metadata.tables)} CASCADE"))
    store.migrate()


def race_in_threads(store: ReviewStore, work, count: int = 8, password: str = PASSWORD) -> list[str]:
    """`count` reviewer accounts, each running `work(reviewer)` in its own thread at once; the
    failures they raised, as "Type: message" (an empty list when none did)."""
    reviewers = [f"r{i}" for i in range(count)]
    for name in reviewers:
        accounts.add_user(store, name, "reviewer", password)
    grant_published(store, reviewers)
    failures: list[str] = []

    def run(reviewer: str) -> None:
        try:
            work(reviewer)
        except Exception as e:  # reported to the test
            failures.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=run, args=(r,)) for r in reviewers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return failures
