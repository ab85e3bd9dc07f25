"""Sampling benchmark: a stratified batch of 1,000 from 10M runs, against DuckDB's own reservoir sample.

Target (sampling issue): `draw_batch` stratified by model takes at most 2x the time of
`SELECT * FROM runs USING SAMPLE reservoir(1000 ROWS) REPEATABLE (1)` on the same table, measured in
the same run; peak RSS under 1.5 GB. Random and weighted draws are timed too, for information.
Run with `python bench/sample_bench.py` (about a minute).
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

CHILD = """
import json, resource, sys, time
from reviewdesk.sample.designs import draw_batch
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig
sampling = json.loads(sys.argv[2])
queue = QueueConfig(name="bench", rubric={"instructions": "x", "criteria": [{"key": "ok", "type": "boolean"}]},
                    sampling=sampling)
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


def build(db: Path, runs: int) -> float:
    t = time.perf_counter()
    with Warehouse(db) as wh:
        wh.execute(BUILD, [runs])
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


def draw(db: Path, design: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(db), json.dumps(design)], capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "warehouse.duckdb"
        built = build(db, args.runs)
        before = min(baseline(db) for _ in range(3))
        results = {name: draw(db, design) for name, design in DESIGNS.items()}
        base = min(before, *(baseline(db) for _ in range(3)))
    strat = results["stratified"]
    first, second = strat["times"]
    print(f"table: {args.runs:,} runs built in {built:.1f} s; population {strat['population']:,} after the filter")
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


if __name__ == "__main__":
    main()
