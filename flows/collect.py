"""Prefect flow: collect reviewers' submissions from the review store into warehouse.labels.

Declared now so that deployments and schedules are in place; validation and loading of
submissions arrive with the agreement issue, and until then a run only reports what is published.

Requires: REVIEWDESK_DATA_DIR (optional), REVIEWDESK_REVIEW_STORE_URL (optional).
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from reviewdesk.config import Settings
from reviewdesk.reviewstore import ReviewStore


@flow(name="collect-submissions")
def collect_submissions(data_dir: str | None = None) -> dict:
    """Report the published items per queue (submissions are collected from the agreement issue on)."""
    settings = Settings.load(data_dir)
    with ReviewStore(settings.review_url) as store:
        published = store.published_counts()
    get_run_logger().info("published items per queue: %s; no submissions are collected yet", published)
    return {"published": published, "collected": 0}
