"""Prefect flow: collect submissions into warehouse.labels, then resolve consensus and disputes.

A thin shell over `reviewdesk.quality.steps.collect_step`, run as one retried task.

Requires: REVIEWDESK_DATA_DIR (optional), REVIEWDESK_REVIEW_STORE_URL (optional).
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from flows.retries import transient
from reviewdesk.config import Settings
from reviewdesk.quality.steps import collect_step


@task(retries=3, retry_delay_seconds=10, retry_condition_fn=transient)
def collect_task(data_dir: str | None) -> dict:
    """Collect, then resolve and report every queue; safe to retry: chunks commit with their watermark,
    resolve and reports rebuild."""
    return collect_step(Settings.load(data_dir)).as_dict()


@flow(name="collect-submissions")
def collect_submissions(data_dir: str | None = None) -> dict:
    """Collect new submissions (rejected ones kept with reasons) and resolve consensus and disputes."""
    result = collect_task(data_dir)
    get_run_logger().info("collected: %s", result)
    return result
