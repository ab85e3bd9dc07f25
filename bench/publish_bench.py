"""Publish benchmark: a batch of 100,000 items from the warehouse into a fresh SQLite review store.

Target (issue: review store and publishing): under 15 s, with payloads of about 1.5 KB each.
The warehouse is built with SQL (`range()`), so building it takes a second or two, not minutes.
Run with `.venv/bin/python bench/publish_bench.py [--items N]`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml

from reviewdesk.review.publication import publish
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

ROOT = Path(__file__).resolve().parent.parent

# Runs shaped like the demo's: a chat of a system prompt and a question in, one answer out.
RUNS_SQL = """
INSERT INTO runs
SELECT uuid()::VARCHAR, uuid()::VARCHAR, NULL, uuid()::VARCHAR, 'support', 'ChatOpenAI', 'llm',
       ['gpt-4o-mini', 'gpt-4.1', 'claude-3-5-haiku', 'llama-3.1-70b'][1 + i % 4],
       TIMESTAMPTZ '2026-11-01 00:00:00+00' + INTERVAL (i) SECOND,
       TIMESTAMPTZ '2026-11-01 00:00:01+00' + INTERVAL (i) SECOND,
       800 + i % 900, 300 + i % 200, 40 + i % 90, 340 + i % 290, 0.0002 * (1 + i % 7),
       'success', NULL,
       json_object('messages', [
           json_object('role', 'system', 'content', 'You are Nora, the customer support assistant. ' || repeat(md5(i::VARCHAR), 14)),
           json_object('role', 'user', 'content', 'Where is my order NW-' || (1000000 + i) || '? ' || repeat(md5((i + 1)::VARCHAR), 3))]),
       json_object('message', json_object('role', 'assistant', 'content', 'Your order ' || repeat(md5((i + 2)::VARCHAR), 6))),
       ['prod', 'web'],
       json_object('prompt_version', 'v2', 'channel', 'web', 'locale', 'en-US', 'customer_tier', 'basic',
                   'demo_truth', json_object('correctness', 'correct', 'helpfulness', 4)),
       CASE WHEN i % 5 = 0 THEN 1.0 END, 'native', now()
FROM range(?) t(i)
"""  # noqa: E501


def build(wh: Warehouse, queue: QueueConfig, n: int) -> str:
    """n runs and one batch of n single-run items over them; returns the batch id."""
    wh.execute(RUNS_SQL, [n])
    batch_id = "bench-batch"
    wh.execute(
        "INSERT INTO batches VALUES (?, ?, 'single', 'random', 1, '{}', ?, ?, ?, now(), NULL)",
        [batch_id, queue.name, queue.rubric_version, n, n],
    )
    wh.execute(
        """INSERT INTO items
           SELECT 'item-' || row_number() OVER (), ?, ?, row_number() OVER (), run_id, NULL, NULL, NULL,
                  model, 0.01, false, NULL, 2
           FROM runs""",
        [batch_id, queue.name],
    )
    return batch_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args()
    queue = QueueConfig.model_validate(yaml.safe_load((ROOT / "queues" / "support-quality.yaml").read_text()))
    with tempfile.TemporaryDirectory() as tmp, Warehouse(Path(tmp) / "warehouse.duckdb") as wh:
        t = time.perf_counter()
        batch_id = build(wh, queue, args.items)
        built = time.perf_counter() - t
        url = f"sqlite:///{tmp}/review.sqlite"
        with ReviewStore(url) as store:
            t = time.perf_counter()
            report = publish(wh, store, queue, batch_id)
            first = time.perf_counter() - t
            t = time.perf_counter()
            again = publish(wh, store, queue, batch_id)
            second = time.perf_counter() - t
            payload = store.engine.connect().exec_driver_sql("SELECT avg(length(payload)) FROM items").scalar()
        size_mb = (Path(tmp) / "review.sqlite").stat().st_size / 1e6
    assert report.published == args.items and again.published == 0 and again.already_published, (report, again)
    print(f"warehouse: {args.items:,} runs and a batch of {args.items:,} items built in {built:.1f} s")
    print(f"payload: {payload / 1000:.2f} KB per item on average; store file {size_mb:,.0f} MB")
    print(f"publish {args.items:,} items: {first:.2f} s (target < 15 s)")
    print(f"publish again (no-op): {second:.2f} s")


if __name__ == "__main__":
    main()
