"""Collect benchmark: 100,000 submissions from the review store, validated and loaded as labels.

Target (issue: agreement): collect 100,000 submissions in under 20 s. One in 50 is invalid, so the
rejection path runs too. The baseline is reading the same submissions with the sqlite3 module
and parsing their JSON answers, in the same run, so the ratio says what validation and loading add.
Run with `.venv/bin/python bench/collect_bench.py [--submissions N]`.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from review_bench import QUEUE, build

from reviewdesk.labels.collection import collect
from reviewdesk.stores.review_schema import submissions
from reviewdesk.stores.reviewstore import JSONText, ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

ROOT = Path(__file__).resolve().parent.parent
CORRECTNESS = ["correct", "partially_correct", "incorrect"]


def fill(store: ReviewStore, rubric_version: str, n: int) -> None:
    """One submission per item from `bench-reviewer-0`; every 50th answers outside the options."""
    now = datetime.now(UTC)
    with store.write() as conn:
        for start in range(0, n, 10_000):
            rows = [
                {
                    "item_id": f"item-{pos:07d}", "reviewer": "bench-reviewer-0", "revision": 1,
                    "answers": JSONText(json.dumps({
                        "correctness": "maybe" if pos % 50 == 0 else CORRECTNESS[pos % 3],
                        "helpfulness": pos % 5 + 1, "notes": None if pos % 4 else "short note"})),
                    "comment": None, "correction": None, "flags": JSONText("[]"), "suggestion_shown": False,
                    "rubric_version": rubric_version, "shown_at": now - timedelta(seconds=40), "submitted_at": now,
                }
                for pos in range(start + 1, min(start + 10_000, n) + 1)
            ]  # fmt: skip
            conn.execute(submissions.insert(), rows)


def baseline(path: str) -> float:
    t = time.perf_counter()
    con = sqlite3.connect(path)
    rows = con.execute("SELECT submission_id, item_id, reviewer, answers, flags, submitted_at FROM submissions")
    parsed = [(r[0], r[1], r[2], json.loads(r[3]), json.loads(r[4]), r[5]) for r in rows]
    con.close()
    assert parsed
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submissions", type=int, default=100_000)
    args = parser.parse_args()
    queue = QueueConfig.model_validate({**yaml.safe_load((ROOT / "queues" / f"{QUEUE}.yaml").read_text()),
                                        "assignees": []})  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/review.sqlite"
        with ReviewStore(url) as store, Warehouse(Path(tmp) / "wh.duckdb") as wh:
            build(store, queue, args.submissions, ["bench-reviewer-0"])
            fill(store, queue.rubric_version, args.submissions)
            raw = baseline(f"{tmp}/review.sqlite")
            t = time.perf_counter()
            result = collect(store, wh)
            took = time.perf_counter() - t
            labels = wh.scalar("SELECT count(*) FROM labels")
    assert result.read == args.submissions and result.rejected == args.submissions // 50, result
    print(f"collected {result.read:,} submissions: {result.loaded:,} loaded as {labels:,} labels, "
          f"{result.rejected:,} rejected with reasons")  # fmt: skip
    print(f"collect: {took:.1f} s (target < 20 s); {result.read / took:,.0f} submissions/s")
    print(f"baseline (sqlite3 read + json parse of the same rows): {raw:.2f} s; collect is {took / raw:.1f}x that")


if __name__ == "__main__":
    main()
