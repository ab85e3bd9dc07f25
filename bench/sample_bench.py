"""Sampling benchmark: a stratified batch of 1,000 from 10M runs, against DuckDB's own reservoir sample; and
1,000 trace units from 10M runs, against the run-level stratified sample of the same table.

Targets: (sampling issue) `draw_batch` stratified by model takes at most 2x the time of
`SELECT * FROM runs USING SAMPLE reservoir(1000 ROWS) REPEATABLE (1)` on the same table, measured in
the same run; peak RSS under 1.5 GB. Random and weighted draws are timed too, for information.
(issue 18) On a table of traces of 5 runs (about 2M traces in 10M runs), 1,000 trace units (stratified by
root.name, filtered on an aggregate) take at most 3x the run-level stratified sample of 1,000 by model.
Run with `python bench/sample_bench.py` (a few minutes; `--unit run` or `--unit trace` for one part).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from reviewdesk.stores.warehouse import Warehouse

MODELS = "['gpt-4o-mini', 'gpt-4.1', 'claude-3-5-haiku', 'llama-3.1-70b']"

# Synthetic runs in SQL: a UUID-shaped id, 4 models with unequal traffic, ~10% billing-bot, ~15% tool
# runs, 5% errors, feedback on 20%, and an inputs JSON shared by A/B twins (every 7th question repeats).
BUILD = f"""
INSERT INTO runs (run_id, project, run_type, model, status, user_feedback, inputs, source_format, ingested_at)
SELECT
    substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-a' || substr(h, 18, 3) || '-'
        || substr(h, 21, 12),
    CASE WHEN i % 10 = 3 THEN 'billing-bot' ELSE 'support' END,
    CASE WHEN i % 20 IN (1, 8, 15) THEN 'tool' ELSE 'llm' END,
    {MODELS}[1 + CASE WHEN i % 100 < 45 THEN 0 WHEN i % 100 < 60 THEN 1 WHEN i % 100 < 85 THEN 2 ELSE 3 END],
    CASE WHEN i % 20 = 11 THEN 'error' ELSE 'success' END,
    CASE WHEN i % 5 = 2 THEN (CASE WHEN i % 3 = 0 THEN -1 ELSE 1 END) END,
    ('{{"messages": [{{"role": "user", "content": "Where is my order NW-' || (i // 7) || '?"}}]}}')::JSON,
    'native', TIMESTAMPTZ '2026-11-01 00:00:00+00'
FROM (SELECT i, md5(i::VARCHAR) AS h FROM range(?) t(i))
"""

# Traces of 5 runs: a chain root, a retriever and a tool under it, an llm under the tool, a final llm.
TRACES = """
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

CHILD = """
import json, resource, sys, time
from reviewdesk.sample.designs import draw_batch
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig
queue = QueueConfig(name="bench", rubric={"instructions": "x", "criteria": [{"key": "ok", "type": "boolean"}]},
                    **json.loads(sys.argv[2]))
with Warehouse(sys.argv[1]) as wh:
    times = []
    for seed in (1, 2):  # the second draw also excludes the first batch's runs
        t = time.perf_counter()
        batch = draw_batch(wh, queue, seed=seed)
        times.append(time.perf_counter() - t)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
print(json.dumps({"times": times, "size": batch.size, "population": batch.population, "rss_gb": rss}))
"""

FILTER = "project = 'support' AND run_type = 'llm' AND status = 'success'"
DESIGNS = {
    "stratified": {"strategy": "stratified", "stratify_by": ["model"], "size": 1000, "filter": FILTER},
    "random": {"strategy": "random", "size": 1000, "filter": FILTER},
    "weighted": {
        "strategy": "weighted", "size": 1000, "filter": FILTER,
        "weights": [{"when": "user_feedback < 0", "weight": 5}, {"when": "model = 'llama-3.1-70b'", "weight": 2}],
    },
}  # fmt: skip
RUN_LEVEL = {"sampling": {"strategy": "stratified", "stratify_by": ["model"], "size": 1000,
                          "filter": "status = 'success'"}}  # fmt: skip
TRACE_UNITS = {"unit": "trace", "sampling": {"strategy": "stratified", "stratify_by": ["root.name"], "size": 1000,
                                             "filter": "sum(total_tokens) > 100"}}  # fmt: skip


def build(db: Path, runs: int, sql: str = BUILD) -> float:
    t = time.perf_counter()
    with Warehouse(db) as wh:
        wh.execute(sql, [runs])
        wh.execute("CHECKPOINT")
    return time.perf_counter() - t


def baseline(db: Path) -> float:
    """DuckDB's reservoir sample of 1,000 rows (all columns), with the warehouse's settings."""
    con = duckdb.connect(str(db), read_only=True)
    con.execute("SET memory_limit = '1GB'")
    t = time.perf_counter()
    rows = con.execute("SELECT * FROM runs USING SAMPLE reservoir(1000 ROWS) REPEATABLE (1)").fetchall()
    elapsed = time.perf_counter() - t
    con.close()
    assert len(rows) == 1000
    return elapsed


def draw(db: Path, queue: dict) -> dict:
    """Two draws of `queue` (seeds 1 and 2) in a fresh process: their times, the batch and the peak RSS."""
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(db), json.dumps(queue)], capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout)


def runs_part(runs: int) -> None:
    """Run-level designs against DuckDB's reservoir sample."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "warehouse.duckdb"
        built = build(db, runs)
        before = min(baseline(db) for _ in range(3))
        results = {name: draw(db, {"sampling": design}) for name, design in DESIGNS.items()}
        base = min(before, *(baseline(db) for _ in range(3)))
    strat = results["stratified"]
    first, second = strat["times"]
    print(f"table: {runs:,} runs built in {built:.1f} s; population {strat['population']:,} after the filter")
    print(f"DuckDB reservoir(1000 ROWS): {base:.3f} s (best of 6)")
    print(f"stratified, first draw : {first:6.3f} s = {first / base:4.2f}x reservoir   (target <= 2x)")
    print(
        f"stratified, second draw: {second:6.3f} s = {second / base:4.2f}x reservoir   (target <= 2x; excludes batch 1)"
    )
    print(f"peak RSS, stratified   : {strat['rss_gb']:6.2f} GB                  (target < 1.5 GB)")
    for name in ("random", "weighted"):
        r = results[name]
        t = min(r["times"])
        rss = r["rss_gb"]
        print(f"{name + ',':11s} best of 2: {t:6.3f} s = {t / base:4.2f}x reservoir, peak RSS {rss:.2f} GB (no target)")


def traces_part(runs: int) -> None:
    """Trace units against the run-level stratified sample, on one table of traces, alternating (best of 2 each)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "warehouse.duckdb"
        built = build(db, runs, TRACES)
        run_level, units = [draw(db, RUN_LEVEL)], [draw(db, TRACE_UNITS)]
        run_level.append(draw(db, RUN_LEVEL))
        units.append(draw(db, TRACE_UNITS))
    base = min(t for r in run_level for t in r["times"])
    best = min(t for r in units for t in r["times"])
    print(f"table: {runs:,} runs in traces of 5 built in {built:.1f} s; {units[0]['population']:,} complete trace "
          "units pass the filter")  # fmt: skip
    print(f"run-level stratified 1,000, best of 4: {base:6.3f} s")
    print(f"trace units 1,000, best of 4         : {best:6.3f} s = {best / base:4.2f}x run-level   (target <= 3x); "
          f"peak RSS {max(r['rss_gb'] for r in units):.2f} GB (no target)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000_000)
    parser.add_argument("--unit", choices=["run", "trace"], help="only this part (default: both)")
    args = parser.parse_args()
    if args.unit != "trace":
        runs_part(args.runs)
    if args.unit != "run":
        traces_part(args.runs)


if __name__ == "__main__":
    main()
