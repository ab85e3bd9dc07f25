"""Unit publishing benchmark (issue 18); its sampling target is measured by `bench/sample_bench.py --unit trace`.

Target: publishing one 200-step trace unit, in a warehouse of N runs in traces of 5, takes under 50 ms.
`python bench/unit_sample_bench.py --runs 10000000` (default 2M).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sample_bench import TRACES

from reviewdesk.review.publication import publish
from reviewdesk.sample.designs import draw_batch
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

RUBRIC = {"instructions": "x", "criteria": [{"key": "ok", "type": "boolean"}]}
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def queue(name: str, unit: str, sampling: dict) -> QueueConfig:
    return QueueConfig.model_validate({"name": name, "unit": unit, "rubric": RUBRIC,
                                       "sampling": {"size": 1000, "exclude_reviewed": False, **sampling}})  # fmt: skip


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Warehouse(Path(tmp) / "w.duckdb") as wh:
        wh.execute(TRACES, [args.runs])
        wh.execute("CHECKPOINT")
        # one 200-step trace: a root and 199 steps, 3 levels deep
        wh.execute("""INSERT INTO runs (run_id, trace_id, parent_run_id, run_type, status, inputs, outputs, start_time,
                                        source_format, ingested_at)
                      SELECT 'big-' || i, 'big', CASE WHEN i = 0 THEN NULL ELSE 'big-' || (i // 4) END,
                             CASE WHEN i = 0 THEN 'chain' ELSE 'tool' END, 'success', '{"q": "x"}', '{"a": "y"}',
                             TIMESTAMPTZ '2026-11-20 00:00:00+00' + to_milliseconds(i), 'native', now()
                      FROM range(200) t(i)""")  # fmt: skip
        big = queue("big", "trace", {"strategy": "random", "size": 1, "filter": "count(*) = 200"})
        batch = draw_batch(wh, big, seed=1, now=NOW)
        with ReviewStore(f"sqlite:///{Path(tmp) / 'r.sqlite'}") as store:
            pub_t = timed(lambda: publish(wh, store, big, batch.batch_id))
        # the baseline: raw DuckDB reading the unit's runs whole by its trace id, the one scan publish must make
        raw_t = min(timed(lambda: wh.execute("SELECT * FROM runs WHERE trace_id = 'big'")) for _ in range(3))
    print(f"table: {args.runs:,} runs in {args.runs // 5:,} traces")
    print(f"raw read of its 200 runs   : {raw_t * 1000:6.1f} ms                  (baseline, same run)")
    print(f"publish one 200-step trace : {pub_t * 1000:6.1f} ms = {pub_t / raw_t:4.1f}x raw   (target < 50 ms)")


if __name__ == "__main__":
    main()
