"""Prefect flow: one review cycle of a queue: sample a batch, pre-score it, publish it to reviewers.

A thin shell over the steps of `reviewdesk.review.steps`, one task each, so each is retried on its
own. It samples only what fits the queue's backlog limits, and nothing while the queue is paused,
its backlog is full or no new run matches its filter: then it logs why and ends without a batch.
Sampling writes the warehouse (DuckDB, one writer), so the deployment runs with concurrency 1.
Pre-scoring maps spans of the batch's items over concurrent tasks (each reads its span through its
own DuckDB cursor), then writes all suggestions in one place. Publishing is idempotent, so a retried
or re-run cycle never shows an item twice.

Requires: REVIEWDESK_DATA_DIR, REVIEWDESK_QUEUES_DIR (optional; ./data and ./queues by default),
REVIEWDESK_REVIEW_STORE_URL (optional; SQLite in the data dir by default).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task, unmapped
from prefect.cache_policies import NO_CACHE

from reviewdesk.config import Settings
from reviewdesk.prescore.run import CHUNK, SpanScore
from reviewdesk.queues import get_queue
from reviewdesk.review.steps import cycle_sample_step, prescore_step, publish_step
from schemas.queue import QueueConfig


@task(retries=2, retry_delay_seconds=10)
def sample(queue: QueueConfig, settings: Settings, size: int | None, seed: int | None) -> dict:
    """Draw a batch within the queue's room; returns its id (None if skipped), the room and why."""
    drawn = cycle_sample_step(settings, queue, size, seed)
    if drawn.skipped or drawn.room.capped:  # the step logs it too, to the library's logger
        get_run_logger().warning(drawn.skipped or drawn.room.reason)
    return {"batch_id": drawn.batch.batch_id if drawn.batch else None, "room": drawn.room.as_dict(),
            "skipped": drawn.skipped}  # fmt: skip


@task(cache_policy=NO_CACHE)  # its inputs are a connection and a scorer: nothing to cache on
def score_span(score: SpanScore, con: Any, span: tuple[int, int]) -> pd.DataFrame:
    """Suggestions for one span of the batch's items."""
    return score(con, span)


def concurrently(score: SpanScore, cons: list[Any], spans: list[tuple[int, int]]) -> list[pd.DataFrame]:
    """Score each span in a task of its own, on its own cursor."""
    return score_span.map(unmapped(score), cons, spans).result()


def prescore(queue: QueueConfig, settings: Settings, batch_id: str, scorer: str | None, chunk: int) -> dict:
    """Suggestions for every item of the batch (the queue's scorer unless `scorer`), spans scored concurrently."""
    report = prescore_step(settings, queue, batch_id, scorer, chunk, map_spans=concurrently)
    for warning in report.warnings:
        get_run_logger().warning(warning)
    get_run_logger().info("pre-scored %s: %d of %d items have suggestions", batch_id, report.scored, report.items)
    return report.as_dict()


@task(retries=3, retry_delay_seconds=5)
def publish_batch(queue: QueueConfig, settings: Settings, batch_id: str) -> dict:
    """Publish to the review store; safe to retry."""
    return publish_step(settings, queue, batch_id).as_dict()


@flow(name="review-cycle")
def review_cycle(
    queue: str, size: int | None = None, seed: int | None = None, data_dir: str | None = None,
    queues_dir: str | None = None, scorer: str | None = None, chunk: int = CHUNK,
) -> dict:  # fmt: skip
    """Sample, pre-score and publish one batch of `queue` (`scorer` overrides the queue's prescore.scorer);
    with no room or nothing new to sample, only what was skipped and why."""
    settings = Settings.load(data_dir, queues_dir)
    settings.ensure_dirs()
    config = get_queue(queue, settings.queues_dir)
    drawn = sample(config, settings, size, seed)
    if drawn["batch_id"] is None:
        return {"queue": queue, "skipped": drawn["skipped"], "backlog": drawn["room"]}
    prescored = prescore(config, settings, drawn["batch_id"], scorer, chunk)
    return publish_batch(config, settings, drawn["batch_id"]) | {"prescore": prescored, "backlog": drawn["room"]}
