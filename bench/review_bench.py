"""Review benchmark: 8 reviewer processes taking and submitting items from a 100,000-item queue.

Targets (issue: review app): p95 latency of one next_item + submit under 25 ms, and at least 200
submissions/s in total, with 8 concurrent reviewers on one SQLite review store for ~10 s.
Items are written straight into the store (no warehouse), with payloads of about 1.5 KB.
Run with `.venv/bin/python bench/review_bench.py [--items N] [--reviewers N] [--seconds S]`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

from reviewdesk.reviews import next_item, progress, submit
from reviewdesk.reviewstore import JSONText, ReviewStore, batches, items, users
from schemas.queue import QueueConfig

ROOT = Path(__file__).resolve().parent.parent
QUEUE = "support-quality"


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
            "name": r, "role": "reviewer", "queues": None, "password_hash": "scrypt$bench", "disabled": False,
            "failed_logins": 0, "locked_until": None, "created_at": now,
        } for r in reviewers])  # fmt: skip


def reviewer(url: str, name: str, seconds: float, barrier, results) -> None:
    """Child process: next_item + submit in a loop for `seconds`; reports each round's latency."""
    latencies, errors = [], []
    try:
        with ReviewStore(url) as store:
            barrier.wait()
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                t = time.perf_counter()
                item = next_item(store, QUEUE, name)
                if item is None:
                    break
                submit(store, item["item_id"], name, {"correctness": "correct", "helpfulness": 4})
                latencies.append(time.perf_counter() - t)
    except Exception as e:
        errors.append(f"{type(e).__name__}: {e}")
    results.put((name, latencies, errors))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--reviewers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    queue = QueueConfig.model_validate(
        {**yaml.safe_load((ROOT / "queues" / f"{QUEUE}.yaml").read_text()), "assignees": []}
    )
    names = [f"bench-reviewer-{i}" for i in range(args.reviewers)]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/review.sqlite"
        with ReviewStore(url) as store:
            t = time.perf_counter()
            build(store, queue, args.items, names)
            built = time.perf_counter() - t
        ctx = multiprocessing.get_context("spawn")
        barrier, results = ctx.Barrier(args.reviewers + 1), ctx.Queue()
        procs = [ctx.Process(target=reviewer, args=(url, n, args.seconds, barrier, results)) for n in names]
        for p in procs:
            p.start()
        barrier.wait()
        t = time.perf_counter()
        outcomes = [results.get(timeout=args.seconds + 120) for _ in procs]
        elapsed = time.perf_counter() - t
        for p in procs:
            p.join()
        with ReviewStore(url) as store, store.read() as conn:
            done = progress(store, QUEUE)
            most = conn.exec_driver_sql(
                "SELECT max(n) FROM (SELECT count(*) AS n FROM submissions GROUP BY item_id)"
            ).scalar()
            twice = conn.exec_driver_sql(
                "SELECT count(*) FROM (SELECT 1 FROM submissions GROUP BY item_id, reviewer HAVING count(*) > 1)"
            ).scalar()
    latencies = sorted(x for _, lat, _ in outcomes for x in lat)
    errors = [e for _, _, errs in outcomes for e in errs]
    assert not errors, errors
    assert done.done == len(latencies) and most <= 2 and twice == 0, (done, len(latencies), most, twice)
    p50 = statistics.median(latencies) * 1000
    p95 = latencies[int(0.95 * (len(latencies) - 1))] * 1000
    print(f"store: {args.items:,} items built in {built:.1f} s; {args.reviewers} reviewer processes, {elapsed:.1f} s")
    print(f"submissions: {len(latencies):,}; no errors, no item over its reviewers_needed")
    print(f"next_item + submit: p50 {p50:.1f} ms, p95 {p95:.1f} ms (target p95 < 25 ms)")
    rate = len(latencies) / elapsed
    print(f"throughput: {rate:,.0f} submissions/s (target >= 200)")
    print(f"(closed loop, no think time: mean latency = {args.reviewers} reviewers / throughput = "
          f"{args.reviewers / rate * 1000:.0f} ms; the write lock is the shared resource)")  # fmt: skip


if __name__ == "__main__":
    main()
