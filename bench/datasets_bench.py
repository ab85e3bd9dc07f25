"""Datasets benchmark: promote 100,000 consensus items into a version, load it, export it.

Targets (issue: datasets): promote 100,000 consensus items into a new version in under 15 s;
`reviewdesk.datasets.read.load()` of a 100,000-row version in under 1 s; `datasets export` of
100,000 rows in under 10 s (Label Studio 1.23 takes 142 s for a 100,000-task project).

Setup (not timed): demo runs ingested, 100,000 items with distinct inputs, each with unanimous
consensus `correctness = correct`, `helpfulness = 5` from two reviewers, and the queue's agreement
figure; the timed promotion is the sft dataset of support-quality (one row per item). Baselines,
in the same run: raw DuckDB writing the same items' inputs and outputs to Parquet (promote), plain
`pyarrow.parquet.read_table().to_pandas()` of the version (load), and DuckDB copying the version's
Parquet to JSONL (export). Run with `.venv/bin/python bench/datasets_bench.py [--items N]`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from reviewdesk import datasets
from reviewdesk.datasets.promotion import promote
from reviewdesk.demo.exports import write_runs
from reviewdesk.demo.logs import generate_runs
from reviewdesk.ingest import ingest
from reviewdesk.queues import get_queue
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse

ROOT = Path(__file__).resolve().parent.parent
QUEUE = "support-quality"


def build(wh: Warehouse, store: ReviewStore, data: Path, n: int) -> None:
    queue = get_queue(QUEUE, ROOT / "queues")
    logs = data / "runs.jsonl"
    write_runs(generate_runs(int(n * 1.45) + 1000, seed=11), logs)
    ingest(wh, [logs])
    now = datetime.now(UTC)
    with store.write() as conn:
        store.save_queue(conn, queue, now)
    with wh.transaction() as con:
        con.execute(
            "INSERT INTO batches VALUES ('b-bench', ?, 'single', 'random', 1, '{}', ?, ?, ?, ?, ?)",
            [QUEUE, queue.rubric_version, n, n, now, now],
        )
        con.execute(
            """INSERT INTO items (item_id, batch_id, queue, position, run_id, run_a, run_b, left_run_id,
                   stratum, inclusion_probability, is_gold, gold_answer, reviewers_needed)
               SELECT printf('i-%07d', pos), 'b-bench', ?, pos, run_id, NULL, NULL, NULL, NULL, 0.01, false, NULL, 2
               FROM (SELECT run_id, row_number() OVER (ORDER BY run_id) AS pos FROM (
                       SELECT run_id FROM runs WHERE run_type = 'llm' AND status = 'success'
                       QUALIFY row_number() OVER (PARTITION BY md5(inputs::VARCHAR) ORDER BY run_id) = 1))
               WHERE pos <= ?""",
            [QUEUE, n],
        )
        for criterion, value in (("correctness", "correct"), ("helpfulness", "5")):
            con.execute(
                "INSERT INTO consensus "
                "(item_id, queue, criterion, value, value_num, method, confidence, reviewers, agreeing, resolved_at) "
                "SELECT item_id, ?, ?, ?, ?, 'unanimous', 0.75, 2, 2, ? FROM items",
                [QUEUE, criterion, value, 5.0 if value == "5" else None, now],
            )
            for reviewer in ("reviewer1", "reviewer2"):
                con.execute(
                    "INSERT INTO labels (item_id, queue, reviewer, criterion, value, value_num, submission_id, "
                    "revision, rubric_version, suggestion_shown, submitted_at, suggestion_outcome) "
                    "SELECT item_id, ?, ?, ?, ?, ?, 1, 1, ?, false, ?, NULL FROM items",
                    [QUEUE, reviewer, criterion, value, 5.0 if value == "5" else None, queue.rubric_version, now],
                )
        con.execute(
            "INSERT INTO agreement VALUES (?, NULL, 'correctness', 'krippendorff_alpha', 0.8, 0.7, 0.9, ?, 2, ?)",
            [QUEUE, n, now],
        )
    got = wh.scalar("SELECT count(*) FROM items")
    assert got == n, f"only {got:,} distinct-input runs: raise the generated runs"


def timed(fn):
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, value


def line(what: str, seconds: float, target: float, base: float, base_what: str) -> None:
    verdict = "ok" if seconds < target else "OVER TARGET"
    print(
        f"{what:<42} {seconds:7.2f} s   target < {target:>4.0f} s  {verdict:<11}  "
        f"{seconds / base:5.1f}x {base_what} ({base:.2f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args()
    n = args.items
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        with (
            Warehouse(data / "warehouse.duckdb", "2GB") as wh,
            ReviewStore(f"sqlite:///{data / 'review.sqlite'}") as store,
        ):
            t0 = time.perf_counter()
            build(wh, store, data, n)
            print(f"setup: {n:,} items with consensus in {time.perf_counter() - t0:.1f} s (not timed below)")
            queue = get_queue(QUEUE, ROOT / "queues")
            base_promote, _ = timed(
                lambda: wh.execute(
                    f"""COPY (SELECT r.run_id, r.inputs, r.outputs FROM items i JOIN runs r USING (run_id)
                         JOIN consensus c ON c.item_id = i.item_id AND c.criterion = 'correctness'
                         WHERE c.value = 'correct') TO '{Path(tmp) / "raw.parquet"}' (FORMAT parquet)"""
                )
            )
            seconds, result = timed(lambda: promote(store, wh, queue, data, dataset="support-sft"))
            [made] = result.datasets
            assert made.status == "created" and made.rows == n, made
            line(f"promote {n:,} consensus items (sft v1)", seconds, 15, base_promote, "raw DuckDB join -> Parquet")
            again, result = timed(lambda: promote(store, wh, queue, data, dataset="support-sft"))
            assert result.datasets[0].status == "unchanged"
            print(f"{'promote again, nothing new (no version)':<42} {again:7.2f} s")
        folder = datasets.path("support-sft", 1, data)
        base_load, _ = timed(lambda: pq.read_table(folder / "data.parquet").to_pandas())
        seconds, frame = timed(lambda: datasets.load("support-sft", data_dir=data))
        assert len(frame) == n
        line(f"load() {n:,} rows", seconds, 1, base_load, "pyarrow read_table().to_pandas()")
        out = Path(tmp) / "export"
        target = out / "raw.jsonl"
        out.mkdir()
        base_export, _ = timed(
            lambda: duckdb.sql(
                f"COPY (SELECT * FROM read_parquet('{folder / 'data.parquet'}')) TO '{target}' (FORMAT json)"
            )
        )
        for fmt, split in (("jsonl", None), ("parquet", None), ("jsonl", "train")):
            seconds, done = timed(
                lambda f=fmt, s=split: datasets.export("support-sft", f, out / f"x-{s or 'all'}.{f}", None, s, data)
            )
            what = f"export {done['rows']:,} rows as {fmt}" + (f" ({split})" if split else "")
            line(what, seconds, 10, base_export, "DuckDB Parquet -> JSONL")


if __name__ == "__main__":
    main()
