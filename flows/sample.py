"""Prefect flow: one review cycle of a queue: sample a batch, pre-score it, publish it to reviewers.

A thin shell over `reviewdesk.sample.designs`, `reviewdesk.prescore.run` and `reviewdesk.review.publication`. Sampling
writes the warehouse (DuckDB, one writer), so the deployment runs with concurrency 1. Pre-scoring
maps spans of the batch's items over concurrent tasks (each reads its span through its own DuckDB
cursor), then writes all suggestions in one place. Publishing is idempotent, so a retried or re-run
cycle never shows an item twice.

Requires: REVIEWDESK_DATA_DIR, REVIEWDESK_QUEUES_DIR (optional; ./data and ./queues by default),
REVIEWDESK_REVIEW_STORE_URL (optional; SQLite in the data dir by default).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task, unmapped
from prefect.cache_policies import NO_CACHE

from reviewdesk.config import Settings
from reviewdesk.prescore.factory import get_scorer
from reviewdesk.prescore.run import CHUNK, SpanScore, prescore_batch
from reviewdesk.queues import get_queue
from reviewdesk.review.publication import publish
from reviewdesk.sample.designs import draw_batch
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse
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


@task(cache_policy=NO_CACHE)  # its inputs are a connection and a scorer: nothing to cache on
def score_span(score: SpanScore, con: Any, span: tuple[int, int]) -> pd.DataFrame:
    """Suggestions for one span of the batch's items."""
    return score(con, span)


def prescore(queue: QueueConfig, settings: Settings, batch_id: str, scorer: str | None, chunk: int) -> dict:
    """Suggestions for every item of the batch (the queue's scorer unless `scorer`), spans scored concurrently."""
    with Warehouse(settings.warehouse_path, memory_limit=settings.memory_limit) as wh:
        chosen = get_scorer(scorer, queue, wh, settings.models_dir)
        cursors: list = []

        def concurrently(score: SpanScore, spans: list[tuple[int, int]]) -> Iterator[pd.DataFrame]:
            cursors.extend(wh.con.cursor() for _ in spans)  # DuckDB: one connection per thread
            yield from score_span.map(unmapped(score), cursors, spans).result()

        try:
            report = prescore_batch(wh, queue, batch_id, chosen, chunk=chunk, run_spans=concurrently)
        finally:
            for cursor in cursors:
                cursor.close()
    for warning in report.warnings:
        get_run_logger().warning(warning)
    get_run_logger().info("pre-scored %s: %d of %d items have suggestions", batch_id, report.scored, report.items)
    return report.as_dict()


@task(retries=3, retry_delay_seconds=5)
def publish_batch(queue: QueueConfig, settings: Settings, batch_id: str) -> dict:
    """Publish to the review store; safe to retry."""
    with Warehouse(settings.warehouse_path) as wh, ReviewStore(settings.review_url) as store:
        return publish(wh, store, queue, batch_id).as_dict()


@flow(name="review-cycle")
def review_cycle(
    queue: str, size: int | None = None, seed: int | None = None, data_dir: str | None = None,
    queues_dir: str | None = None, scorer: str | None = None, chunk: int = CHUNK,
) -> dict:  # fmt: skip
    """Sample, pre-score and publish one batch of `queue` (`scorer` overrides the queue's prescore.scorer)."""
    settings = _settings(data_dir, queues_dir)
    config = get_queue(queue, settings.queues_dir)
    batch_id = sample(config, settings, size, seed)
    prescored = prescore(config, settings, batch_id, scorer, chunk)
    return publish_batch(config, settings, batch_id) | {"prescore": prescored}
