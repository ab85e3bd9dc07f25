"""Prefect flow: one review cycle of a queue: sample a batch, pre-score it, publish it to reviewers.

A thin shell over `reviewdesk.sampling` and `reviewdesk.publish`. Sampling writes the warehouse
(DuckDB, one writer), so the deployment runs with concurrency 1. Publishing is idempotent, so a
retried or re-run cycle never shows an item twice.

Requires: REVIEWDESK_DATA_DIR, REVIEWDESK_QUEUES_DIR (optional; ./data and ./queues by default),
REVIEWDESK_REVIEW_STORE_URL (optional; SQLite in the data dir by default).
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from reviewdesk.config import Settings
from reviewdesk.publish import publish
from reviewdesk.queues import get_queue
from reviewdesk.reviewstore import ReviewStore
from reviewdesk.sampling import draw_batch
from reviewdesk.warehouse import Warehouse
from schemas.queue import QueueConfig


def _settings(data_dir: str | None, queues_dir: str | None) -> Settings:
    settings = Settings.load(data_dir, queues_dir)
    settings.ensure_dirs()
    return settings


@task(retries=2, retry_delay_seconds=10)
def sample(queue: QueueConfig, settings: Settings, size: int | None, seed: int | None) -> str:
    """Draw a batch; returns its id."""
    with Warehouse(settings.warehouse_path, memory_limit=settings.memory_limit) as wh:
        return draw_batch(wh, queue, size=size, seed=seed).batch_id


@task
def prescore(queue: QueueConfig, batch_id: str) -> str:
    """Hook for model suggestions on the batch's items; the pre-scoring issue fills it in."""
    get_run_logger().info("no scorer configured for %s: batch %s goes out without suggestions", queue.name, batch_id)
    return batch_id


@task(retries=3, retry_delay_seconds=5)
def publish_batch(queue: QueueConfig, settings: Settings, batch_id: str) -> dict:
    """Publish to the review store; safe to retry."""
    with Warehouse(settings.warehouse_path) as wh, ReviewStore(settings.review_url) as store:
        return publish(wh, store, queue, batch_id).as_dict()


@flow(name="review-cycle")
def review_cycle(
    queue: str, size: int | None = None, seed: int | None = None, data_dir: str | None = None,
    queues_dir: str | None = None,
) -> dict:  # fmt: skip
    """Sample, pre-score and publish one batch of `queue`."""
    settings = _settings(data_dir, queues_dir)
    config = get_queue(queue, settings.queues_dir)
    batch_id = prescore(config, sample(config, settings, size, seed))
    return publish_batch(config, settings, batch_id)
