"""Prefect flow: collect submissions into warehouse.labels, then resolve consensus and disputes.

Requires: REVIEWDESK_DATA_DIR (optional), REVIEWDESK_REVIEW_STORE_URL (optional).
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from flows.retries import transient
from reviewdesk.config import Settings
from reviewdesk.labels.collection import collect
from reviewdesk.labels.resolve import resolve_queue
from reviewdesk.quality.report import refresh
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse


@task(retries=3, retry_delay_seconds=10, retry_condition_fn=transient)
def collect_task(data_dir: str | None) -> dict:
    """Collect, then resolve and report every queue; safe to retry: chunks commit with their watermark,
    resolve and reports rebuild."""
    settings = Settings.load(data_dir)
    with Warehouse(settings.warehouse_path, settings.memory_limit) as wh, ReviewStore(settings.review_url) as store:
        collected = collect(store, wh).as_dict()
        queues = list(store.published_counts())
        resolved = [resolve_queue(store, wh, name).as_dict() for name in queues]
        written = [str(refresh(store, wh, name, settings.reports_dir)[1]) for name in queues]
    return {**collected, "resolved": resolved, "reports": written}


@flow(name="collect-submissions")
def collect_submissions(data_dir: str | None = None) -> dict:
    """Collect new submissions (rejected ones kept with reasons) and resolve consensus and disputes."""
    result = collect_task(data_dir)
    get_run_logger().info("collected: %s", result)
    return result
