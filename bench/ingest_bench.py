"""Ingest benchmark: 1M native JSONL runs, first time and again as duplicates, and peak memory.

Targets: the whole `reviewdesk ingest FILE` process (start-up included, into a fresh data directory)
at most 2x the time raw DuckDB takes to `read_json` the same file into a table (issue 17), and each
ingest inside one process at most 3x (issue 2), measured in the same run; peak RSS under 2 GB.
Run with `make bench`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from reviewdesk.demo.exports import write_runs
from reviewdesk.demo.logs import generate_runs

HERE = Path(__file__).resolve().parent
CLI = str(Path(sys.executable).parent / "reviewdesk")

CHILD = """
import json, sys, time
from reviewdesk.ingest import ingest_file
from reviewdesk.stores.warehouse import Warehouse
with Warehouse(sys.argv[1]) as wh:
    times = []
    for _ in range(2):
        t = time.perf_counter()
        report = ingest_file(wh, sys.argv[2])
        times.append((time.perf_counter() - t, report.as_dict()))
print(json.dumps(times))
"""


def baseline(path: Path, db: Path) -> float:
    """Raw DuckDB: read_json of the same file into a table of a database file, as ours is."""
    con = duckdb.connect(str(db))
    t = time.perf_counter()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_json('{path}', format = 'newline_delimited')").fetchall()
    elapsed = time.perf_counter() - t
    con.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1_000_000)
    args = parser.parse_args()
    path = HERE / "out" / f"runs_{args.runs}.jsonl"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        print(f"generating {args.runs:,} demo runs into {path} ...", flush=True)
        write_runs(generate_runs(args.runs, seed=1), path)
    size_mb = path.stat().st_size / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        raw = baseline(path, Path(tmp) / "baseline.duckdb")
        started = time.perf_counter()  # the command as a user runs it: one whole process
        env = os.environ | {"REVIEWDESK_DATA_DIR": str(Path(tmp) / "data")}
        subprocess.run([CLI, "ingest", "--json", str(path)], env=env, check=True, stdout=subprocess.DEVNULL)
        command = time.perf_counter() - started
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, str(Path(tmp) / "warehouse.duckdb"), str(path)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        raw_after = baseline(path, Path(tmp) / "baseline2.duckdb")
    rss_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024
    (first, r1), (second, r2) = json.loads(proc.stdout)
    base = min(raw, raw_after)
    assert r1["inserted"] == args.runs and r2["duplicates"] == args.runs, (r1, r2)
    print(f"file: {args.runs:,} runs, {size_mb:,.0f} MB; raw DuckDB read_json: {base:.2f} s (best of 2)")
    print(f"reviewdesk ingest  : {command:6.2f} s = {command / base:4.2f}x raw   (target <= 2x, whole process)")
    print(f"ingest, first time : {first:6.2f} s = {first / base:4.2f}x raw   (target <= 3x)")
    print(f"ingest, duplicates : {second:6.2f} s = {second / base:4.2f}x raw   (target <= 3x)")
    print(f"peak RSS           : {rss_gb:6.2f} GB              (target < 2 GB)")


if __name__ == "__main__":
    main()
