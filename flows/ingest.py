"""Prefect flow: ingest production log files into the warehouse.

A thin shell over `reviewdesk.ingest`: one task per file, run one after another because DuckDB
allows a single writer. Retries cover what can pass (the warehouse held by another process, a
file still being written); a file with bad records is not retried, its records are quarantined.
It has no deployment: it ingests files named by hand; whatever arrives in `data/inbox/` is
ingested by the scheduled `ingest-inbox` flow (flows/inbox.py).

Requires: REVIEWDESK_DATA_DIR (optional, default ./data).
"""

from __future__ import annotations

from prefect import flow, task

from flows.retries import transient
from reviewdesk.config import Settings
from reviewdesk.ingest import ingest_file
from reviewdesk.stores.warehouse import Warehouse


@task(retries=3, retry_delay_seconds=5, retry_condition_fn=transient)
def ingest_path(path: str, fmt: str = "auto", data_dir: str | None = None) -> dict:
    """Ingest one file atomically and return its counts."""
    settings = Settings.load(data_dir)
    settings.ensure_dirs()
    with Warehouse(settings.warehouse_path, memory_limit=settings.memory_limit) as wh:
        return ingest_file(wh, path, fmt).as_dict()


@flow(name="ingest-logs")
def ingest_logs(paths: list[str], fmt: str = "auto", data_dir: str | None = None) -> list[dict]:
    """Ingest each file in turn; the run fails if a file is missing, after the others are in."""
    return [ingest_path(path, fmt, data_dir) for path in paths]
