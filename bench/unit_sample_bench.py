"""Unit sampling and publishing benchmark (issue 18).

Targets: sampling 1,000 trace units (stratified by root.name, filter on an aggregate) from N runs in traces of
5 takes at most 3x today's run-level stratified sample (1,000 by model) on the same table, same run; publishing
one 200-step trace unit takes under 50 ms. `python bench/unit_sample_bench.py --runs 10000000` (default 2M).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from reviewdesk.review.publication import publish
from reviewdesk.sample.designs import draw_batch
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

# Traces of 5 runs: a chain root, a retriever and a tool under it, an llm under the tool, a final llm.
BUILD = """
INSERT INTO runs (run_id, trace_id, parent_run_id, project, name, run_type, model, status, total_tokens, start_time,
                  source_format, ingested_at)
SELECT md5(i::VARCHAR), md5('t' || (i // 5)::VARCHAR),
       CASE WHEN i % 5 = 0 THEN NULL WHEN i % 5 = 3 THEN md5((i - 1)::VARCHAR) ELSE md5((i - i % 5)::VARCHAR) END,
       'support', CASE WHEN i // 5 % 3 = 0 THEN 'agent-a' ELSE 'agent-b' END,
       ['chain', 'retriever', 'tool', 'llm', 'llm'][1 + i % 5],
       ['gpt-4o-mini', 'gpt-4.1', 'claude-3-5-haiku', 'llama-3.1-70b'][1 + (i // 7) % 4],
       CASE WHEN i % 23 = 2 THEN 'error' ELSE 'success' END, (i % 97)::BIGINT,
       TIMESTAMPTZ '2026-11-01 00:00:00+00' + to_milliseconds(i), 'native', TIMESTAMPTZ '2026-11-01 00:00:00+00'
FROM range(?) t(i)
"""
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
    runs_q = queue("runs", "run", {"strategy": "stratified", "stratify_by": ["model"], "filter": "status = 'success'"})
    trace_q = queue("traces", "trace", {"strategy": "stratified", "stratify_by": ["root.name"],
                                        "filter": "sum(total_tokens) > 100"})  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, Warehouse(Path(tmp) / "w.duckdb") as wh:
        wh.execute(BUILD, [args.runs])
        wh.execute("CHECKPOINT")
        run_t = min(timed(lambda s=s: draw_batch(wh, runs_q, seed=s, now=NOW)) for s in (1, 2))
        unit_t = min(timed(lambda s=s: draw_batch(wh, trace_q, seed=s, now=NOW)) for s in (1, 2))
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
    print(f"table: {args.runs:,} runs in {args.runs // 5:,} traces")
    print(f"run-level stratified 1,000 : {run_t:6.3f} s (best of 2)")
    print(f"trace units 1,000          : {unit_t:6.3f} s = {unit_t / run_t:4.2f}x run-level   (target <= 3x)")
    print(f"publish one 200-step trace : {pub_t * 1000:6.1f} ms                  (target < 50 ms)")


if __name__ == "__main__":
    main()
