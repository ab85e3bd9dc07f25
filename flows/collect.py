"""Prefect flow: collect reviewers' submissions from the review store into warehouse.labels.

Requires: REVIEWDESK_DATA_DIR (optional), REVIEWDESK_REVIEW_STORE_URL (optional).
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from flows.retries import transient
from reviewdesk.collect import collect
from reviewdesk.config import Settings
from reviewdesk.reviewstore import ReviewStore
from reviewdesk.warehouse import Warehouse


@task(retries=3, retry_delay_seconds=10, retry_condition_fn=transient)
def collect_task(data_dir: str | None) -> dict:
    """One collect run; it is safe to retry, since each chunk commits with its watermark."""
    settings = Settings.load(data_dir)
    with Warehouse(settings.warehouse_path, settings.memory_limit) as wh, ReviewStore(settings.review_url) as store:
        return collect(store, wh).as_dict()


@flow(name="collect-submissions")
def collect_submissions(data_dir: str | None = None) -> dict:
    """Collect new submissions: validated labels in, rejected ones kept with their reasons."""
    result = collect_task(data_dir)
    get_run_logger().info("collected: %s", result)
    return result
