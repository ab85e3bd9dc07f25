"""Review benchmark: 8 reviewer processes taking and submitting items from a 100,000-item queue.

Targets (issue 4: review app): with 8 concurrent reviewers on one SQLite review store, the p95
latency of moving on from one item to the next (submit it, reserve the next) under 25 ms, and at
least 200 submissions/s in total. Items are written straight into the store (no warehouse), with
payloads of about 1.5 KB. Each phase runs ~10 s:

- closed loop: every reviewer submits again as soon as the last call returns (no think time), so
  the 8 processes keep the store's single write lock busy; the mean latency is then
  8 reviewers / throughput. Submit is `submit_and_next`, as in the app (one write transaction);
  `--separate` also measures the former path, `next_item` + `submit` (two).
- open loop: the same reviewers, each submitting at random (Poisson) moments so that together they
  send 200 submissions/s, a realistic load at the target rate; latency counts from the moment a
  submission was due, so one that waits for the reviewer's previous call counts that wait too.

The queue is support-quality without its `training` and `monitoring` blocks (as before issue 15);
`--training` keeps them, with the reviewers qualified by a lead first: every next_item and submit then
also looks up the reviewer's state, and each answer to a gold item checks the monitoring window.

`--store postgres` runs the same phases on PostgreSQL instead (issue 17): the bench starts its own
throwaway cluster from Debian's server programs, as the tests do (or give `--store URL`), and
`--reviewers 8,32` measures each count in turn, for the curve. Targets there: p95 <= 25 ms and
>= 500 submissions/s with 8 reviewers.

Run with `.venv/bin/python bench/review_bench.py [--items N] [--reviewers N[,N...]] [--seconds S] [--rate R]
[--store sqlite|postgres|URL] [--training]`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import yaml

from reviewdesk.review.drafts import Draft
from reviewdesk.review.oversight import progress
from reviewdesk.review.qualification import qualify
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import submit, submit_and_next
from reviewdesk.stores.review_schema import batches, items, queue_grants, users
from reviewdesk.stores.reviewstore import JSONText, ReviewStore
from schemas.queue import QueueConfig

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from process_support import postgres_bin, postgres_cluster  # noqa: E402

QUEUE = "support-quality"
ANSWERS = {"correctness": "correct", "helpfulness": 4}
P95_MS = 25.0
RATE = {"sqlite": 200.0, "postgresql": 500.0}  # submissions/s wanted, closed loop, with 8 reviewers
LEAD = "bench-lead"


def build(store: ReviewStore, queue: QueueConfig, n: int, reviewers: list[str]) -> None:
    """One batch of n single-run items (2 reviewers each, 1 in 50 gold) and the reviewers' accounts."""
    now = datetime.now(UTC)
    with store.write() as conn:
        store.save_queue(conn, queue, now)
        store.insert_ignore(conn, batches, [{
            "batch_id": "bench", "queue": queue.name, "rubric_version": queue.rubric_version, "strategy": "random",
            "seed": 1, "size": n, "item_count": n, "published_at": now,
        }])  # fmt: skip
        filler = "x" * 1400
        for start in range(0, n, 10_000):
            rows = [
                {
                    "item_id": f"item-{pos:07d}", "batch_id": "bench", "queue": queue.name, "position": pos,
                    "kind": "single", "run_id": f"run-{pos}", "run_a": None, "run_b": None, "left_run_id": None,
                    "rubric_version": queue.rubric_version, "inclusion_probability": 0.01, "is_gold": pos % 50 == 0,
                    "gold_answer": JSONText('{"correctness": "correct"}') if pos % 50 == 0 else None,
                    "reviewers_needed": 2, "published_at": now, "priority": 1.0 if pos % 1000 == 0 else None,
                    "payload": JSONText(json.dumps({"runs": {f"run-{pos}": {"run_id": f"run-{pos}", "out": filler}}})),
                }
                for pos in range(start + 1, min(start + 10_000, n) + 1)
            ]  # fmt: skip
            store.insert_ignore(conn, items, rows)
        store.insert_ignore(conn, users, [{
            "name": r, "role": "lead" if r == LEAD else "reviewer", "password_hash": "scrypt$bench", "disabled": False,
            "failed_logins": 0, "locked_until": None, "created_at": now,
        } for r in [*reviewers, LEAD]])  # fmt: skip
        store.insert_ignore(conn, queue_grants, [
            {"queue": queue.name, "reviewer": r, "granted_by": "bench", "granted_at": now} for r in reviewers
        ])  # fmt: skip


def reviewer(url: str, name: str, seconds: float, separate: bool, interval: float, barrier, results) -> None:
    """Child process: submit items in a loop for `seconds`; reports each submission's latency.

    `separate`: `next_item` + `submit` per round instead of `submit_and_next`. `interval` > 0: wait
    for Poisson arrivals `interval` s apart on average (open loop); 0: no wait (closed loop).
    """
    latencies, errors = [], []
    rng = random.Random(name)
    try:
        with ReviewStore(url) as store:
            try:
                item = None if separate else next_item(store, QUEUE, name)  # the item on screen
            finally:
                barrier.wait()  # whatever happened: the parent waits for every reviewer here
            now = time.perf_counter()
            end, due = now + seconds, now + (rng.expovariate(1 / interval) if interval else 0)
            while due < end:
                if interval:
                    time.sleep(max(0.0, due - time.perf_counter()))
                t = due if interval else time.perf_counter()
                if separate:
                    item = next_item(store, QUEUE, name)
                    if item is None:
                        break
                    submit(store, item["item_id"], name, Draft(ANSWERS))
                else:
                    if item is None:
                        break
                    item = submit_and_next(store, item["item_id"], name, Draft(ANSWERS))[1]
                done = time.perf_counter()
                latencies.append(done - t)
                due = due + rng.expovariate(1 / interval) if interval else done
    except Exception as e:
        errors.append(f"{type(e).__name__}: {e}")
    results.put((name, latencies, errors))


def run(url: str, names: list[str], seconds: float, separate: bool = False, rate: float = 0.0) -> tuple:
    """One phase: every reviewer in its own process; returns (sorted latencies in s, elapsed s)."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(len(names) + 1), ctx.Queue()
    interval = len(names) / rate if rate else 0.0
    procs = [ctx.Process(target=reviewer, args=(url, n, seconds, separate, interval, barrier, results)) for n in names]
    for p in procs:
        p.start()
    barrier.wait()
    t = time.perf_counter()
    outcomes = [results.get(timeout=seconds + 120) for _ in procs]
    elapsed = time.perf_counter() - t
    for p in procs:
        p.join()
    errors = [e for _, _, errs in outcomes for e in errs]
    assert not errors, errors
    return sorted(x for _, lat, _ in outcomes for x in lat), elapsed


def report(label: str, latencies: list[float], elapsed: float, closed: bool, wanted: float) -> None:
    p50 = statistics.median(latencies) * 1000
    p95 = latencies[int(0.95 * (len(latencies) - 1))] * 1000
    rate = len(latencies) / elapsed
    verdict = "met" if p95 < P95_MS and (rate >= wanted or not closed) else "MISSED"
    rate_note = "offered" if not closed else f"target >= {wanted:.0f}" if wanted else "no target at this count"
    figures = f"p50 {p50:.1f} ms, p95 {p95:.1f} ms (target p95 < {P95_MS:.0f} ms)"
    print(f"{label}: {len(latencies):,} submissions, {figures}, {rate:,.0f} submissions/s ({rate_note}): {verdict}")


@contextmanager
def review_store(kind: str) -> Iterator[str]:
    """The store to measure: a new SQLite file, a throwaway PostgreSQL cluster, or the URL given."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/review.sqlite"
    elif kind == "postgres":
        if (bindir := postgres_bin()) is None:
            raise SystemExit("no PostgreSQL server programs: apt-get install postgresql (or give --store URL)")
        with postgres_cluster(bindir) as url:
            yield url
    else:
        yield kind


def phases(url: str, names: list[str], args: argparse.Namespace, wanted: float) -> int:
    """The closed-loop, optional two-call and open-loop phases for `names`; returns submissions made."""
    print(f"{len(names)} reviewer processes, {args.seconds:.0f} s per phase")
    closed, elapsed = run(url, names, args.seconds)
    report("closed loop, submit_and_next (the app's Submit), no think time", closed, elapsed, True, wanted)
    mean = len(names) / len(closed) * elapsed * 1000
    print(f"  (mean latency = {len(names)} reviewers / throughput = {mean:.0f} ms: they take turns at the write lock)")
    both = []
    if args.separate:
        both, elapsed = run(url, names, args.seconds, separate=True)
        report("closed loop, next_item + submit (two write transactions)", both, elapsed, True, wanted)
    opened, elapsed = run(url, names, args.seconds, rate=args.rate)
    report(f"open loop, submit_and_next, {args.rate:.0f}/s offered (Poisson)", opened, elapsed, False, wanted)
    return len(closed) + len(both) + len(opened)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--reviewers", default="8", help="reviewer processes; several, comma-separated, in turn")
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase")
    parser.add_argument("--rate", type=float, default=200.0, help="open loop: submissions/s offered in total")
    parser.add_argument("--separate", action="store_true", help="also measure next_item + submit, closed loop")
    parser.add_argument("--store", default="sqlite", help="sqlite, postgres (a throwaway cluster) or a store URL")
    parser.add_argument("--training", action="store_true", help="keep the queue's training; reviewers qualified")
    args = parser.parse_args()
    config = {**yaml.safe_load((ROOT / "queues" / f"{QUEUE}.yaml").read_text()), "assignees": []}
    if not args.training:
        config.pop("training", None), config.pop("monitoring", None)
    queue = QueueConfig.model_validate(config)
    counts = [int(n) for n in args.reviewers.split(",")]
    names = [f"bench-reviewer-{i}" for i in range(max(counts))]
    with review_store(args.store) as url, ReviewStore(url) as store:
        t = time.perf_counter()
        build(store, queue, args.items, names)
        store.refresh_statistics(items)  # as `publish` does
        for name in names if args.training else ():
            qualify(store, QUEUE, name, LEAD, "bench: starts qualified")
        print(f"{store.dialect} store: {args.items:,} items built in {time.perf_counter() - t:.1f} s")
        total = sum(phases(url, names[:n], args, RATE[store.dialect] if n == 8 else 0.0) for n in counts)
        done = progress(store, QUEUE)
        with store.read() as conn:
            most = conn.exec_driver_sql(
                "SELECT max(n) FROM (SELECT count(*) AS n FROM submissions GROUP BY item_id) AS per_item"
            ).scalar()
            twice = conn.exec_driver_sql(
                "SELECT count(*) FROM (SELECT 1 FROM submissions GROUP BY item_id, reviewer HAVING count(*) > 1) AS t"
            ).scalar()
    assert done.done == total and most <= 2 and twice == 0, (done, total, most, twice)
    print(f"checked: {total:,} submissions stored, no errors, no item over its reviewers_needed, none twice")


if __name__ == "__main__":
    main()
