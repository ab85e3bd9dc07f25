"""Prefect flow: ingest the inbox, every minute by default (see prefect.yaml).

A thin shell over `reviewdesk.ingest.inbox`: closed receiver segments and files dropped into
`data/inbox/` are ingested once each and moved to `done/` (or `failed/` with a reason). Retries
cover what can pass (the warehouse held by another process).

Requires: REVIEWDESK_DATA_DIR (optional, default ./data).
"""

from __future__ import annotations

from prefect import flow, task

from flows.retries import transient
from reviewdesk.config import Settings
from reviewdesk.ingest.inbox import SETTLE_SECONDS, ingest_inbox
from reviewdesk.stores.warehouse import Warehouse


@task(retries=3, retry_delay_seconds=5, retry_condition_fn=transient)
def inbox_task(data_dir: str | None = None, settle_seconds: float = SETTLE_SECONDS) -> dict:
    """One pass over the inbox; returns what became of each file."""
    settings = Settings.load(data_dir)
    settings.ensure_dirs()
    with Warehouse(settings.warehouse_path, memory_limit=settings.memory_limit) as wh:
        return ingest_inbox(wh, settings.inbox_dir, settle_seconds).as_dict()


@flow(name="ingest-inbox")
def ingest_inbox_flow(data_dir: str | None = None, settle_seconds: float = SETTLE_SECONDS) -> dict:
    """Ingest whatever the inbox holds that is ready."""
    return inbox_task(data_dir, settle_seconds)
