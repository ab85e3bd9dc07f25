"""Helpers for the review store and publish tests: demo warehouses, batches made with plain SQL.

Batches follow the warehouse's m002 schema directly, so these tests need no sampling module.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import select

from reviewdesk.demo.exports import write_runs
from reviewdesk.demo.logs import generate_runs
from reviewdesk.ingest import ingest_file
from reviewdesk.stores.review_schema import metadata
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

QUEUES = Path(__file__).resolve().parent.parent / "queues"
SUPPORT_LLM = "project = 'support' AND run_type = 'llm' AND status = 'success'"


def load_queue(name: str, **changes: object) -> QueueConfig:
    """A queue from queues/<name>.yaml, with top-level keys replaced by `changes`; without its `training` and
    `monitoring` blocks unless `changes` gives them (qualification is tested in test_training.py)."""
    raw = yaml.safe_load((QUEUES / f"{name}.yaml").read_text())
    raw.pop("training", None), raw.pop("monitoring", None)
    return QueueConfig.model_validate({**raw, **changes})


def demo_warehouse(tmp_path: Path, runs: int = 200) -> Warehouse:
    """A warehouse file with `runs` demo runs ingested (seed 1)."""
    path = tmp_path / "runs.jsonl"
    write_runs(generate_runs(runs, seed=1), path)
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    ingest_file(wh, path)
    return wh


def _batch_row(wh: Warehouse, queue: QueueConfig, batch_id: str, strategy: str, size: int) -> None:
    wh.execute(
        "INSERT INTO batches VALUES (?, ?, ?, ?, 42, '{}', ?, (SELECT count(*) FROM runs), ?, now(), NULL)",
        [batch_id, queue.name, queue.kind, strategy, queue.rubric_version, size],
    )


def insert_single_batch(wh: Warehouse, queue: QueueConfig, batch_id: str, n: int = 20, gold: int = 2) -> int:
    """A single-run batch of the first `n` support runs; the first `gold` are gold items. Returns its size."""
    _batch_row(wh, queue, batch_id, "random", n)
    wh.execute(
        f"""INSERT INTO items
            SELECT ? || '-' || lpad(pos::VARCHAR, 4, '0'), ?, ?, pos, run_id, NULL, NULL, NULL, model,
                   CASE WHEN pos <= ? THEN NULL ELSE 0.25 END, pos <= ?,
                   CASE WHEN pos <= ? THEN json_extract(metadata, '$.demo_truth') END, ?, 'run', NULL, NULL, NULL, NULL
            FROM (SELECT row_number() OVER (ORDER BY run_id)::INTEGER AS pos, run_id, model, metadata
                  FROM runs WHERE {SUPPORT_LLM} ORDER BY run_id LIMIT ?)""",
        [batch_id, batch_id, queue.name, gold, gold, gold, queue.reviewers_per_item, n],
    )
    return wh.scalar("SELECT count(*) FROM items WHERE batch_id = ?", [batch_id])


def insert_pairwise_batch(wh: Warehouse, queue: QueueConfig, batch_id: str) -> int:
    """A pairwise batch of every A/B twin pair in the demo runs; odd positions show run_b on the left."""
    _batch_row(wh, queue, batch_id, "weighted", 100)
    wh.execute(
        f"""INSERT INTO items
            SELECT ? || '-' || pos, ?, ?, pos, NULL, a, b, CASE WHEN pos % 2 = 1 THEN b ELSE a END, NULL,
                   0.5, false, NULL, ?, 'run', NULL, NULL, NULL, NULL
            FROM (SELECT row_number() OVER (ORDER BY a)::INTEGER AS pos, a, b
                  FROM (SELECT min(run_id) AS a, max(run_id) AS b FROM runs WHERE {SUPPORT_LLM}
                        GROUP BY md5(inputs::VARCHAR) HAVING count(DISTINCT model) = 2 AND count(*) = 2))""",
        [batch_id, batch_id, queue.name, queue.reviewers_per_item],
    )
    return wh.scalar("SELECT count(*) FROM items WHERE batch_id = ?", [batch_id])


def store_contents(store: ReviewStore) -> dict[str, list[tuple]]:
    """Every row of every review-store table, in primary-key order: for before/after comparisons."""
    with store.read() as conn:
        return {
            name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for name, t in metadata.tables.items()
        }


def write_in_process(url: str, queue: QueueConfig, warehouse: str, batch_id: str, barrier, results) -> None:
    """Child process body: wait for the others, then write the batch from its own copy of the warehouse.

    DuckDB admits one process per file, so each publisher reads a copy, as workers on other machines would.
    """
    from reviewdesk.review.blinding import reviewer_view
    from reviewdesk.review.publication import batch_runs, read_items, write_to_store
    from reviewdesk.sample.batches import batch_for_queue

    try:
        with Warehouse(warehouse) as wh, ReviewStore(url) as store:
            own = batch_runs(wh, batch_id)
            batch = batch_for_queue(wh, queue, batch_id, runs=own)
            view = reviewer_view(queue.reviewer_sees, [queue.gold_source])
            barrier.wait()
            report = write_to_store(
                store, queue, batch, lambda at: read_items(wh, store, batch, view, queue.priority, at, own)
            )
        results.put(("ok", report.published))
    except Exception as e:
        results.put(("error", f"{type(e).__name__}: {e}"))
