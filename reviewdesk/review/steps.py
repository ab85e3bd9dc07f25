"""One review cycle of a queue, step by step: sample a batch, pre-score it, publish it to reviewers.

Each step opens the stores it needs from `Settings` and calls the stage that does the work, so the
review-cycle flow (one Prefect task per step, retried per step) and the demo run the same steps.
The cycle samples within the queue's room (`cycle_sample_step`): a paused queue, a full backlog or a
sampling filter that matches nothing new draws no batch, and the cycle says why instead of failing.
Sampling and pre-scoring write the warehouse (DuckDB, one writer); publishing is idempotent, so a
retried or re-run step never shows an item twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pandas as pd

from reviewdesk.config import Settings
from reviewdesk.errors import EmptyPopulation
from reviewdesk.prescore.factory import get_scorer
from reviewdesk.prescore.run import CHUNK, PrescoreReport, SpanScore, prescore_batch
from reviewdesk.review.backlog import BatchRoom, batch_room
from reviewdesk.review.publication import PublishReport, publish
from reviewdesk.sample.batches import Batch
from reviewdesk.sample.designs import draw_batch
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

log = logging.getLogger(__name__)
# (score, one DuckDB cursor per span, spans) -> each span's suggestions, e.g. mapped over Prefect tasks
SpanMap = Callable[[SpanScore, list[Any], list[tuple[int, int]]], Iterable[pd.DataFrame]]


def sample_step(
    settings: Settings,
    queue: QueueConfig,
    size: int | None = None,
    seed: int | None = None,
    backlog: dict | None = None,
) -> Batch:
    """Draw a batch of the queue (its size unless `size`), recording each item's inclusion probability
    (and, when the cycle capped its size, the `backlog` reason)."""
    with Warehouse(settings.warehouse_path, memory_limit=settings.memory_limit) as wh:
        return draw_batch(wh, queue, size=size, seed=seed, backlog=backlog)


@dataclass(frozen=True)
class CycleSample:
    """What the cycle's sampling did: a `batch`, or None with the reason it `skipped`; the `room` it had."""

    batch: Batch | None
    room: BatchRoom
    skipped: str | None = None


def cycle_sample_step(
    settings: Settings, queue: QueueConfig, size: int | None = None, seed: int | None = None
) -> CycleSample:
    """Sample as a scheduled cycle does: only what fits the queue's backlog limits, nothing when it is
    paused, full, or when its filter matches no run not yet drawn (never an error for those)."""
    with ReviewStore(settings.review_url) as store:
        room = batch_room(store, queue, size)
    if room.reason:
        log.warning(room.reason)
    if room.size == 0:
        return CycleSample(None, room, room.reason)
    try:
        batch = sample_step(settings, queue, room.size, seed, room.as_dict() if room.capped else None)
    except EmptyPopulation as e:
        log.info("%s: %s", queue.name, e)
        return CycleSample(None, room, f"{queue.name}: {e}")
    return CycleSample(batch, room)


def prescore_step(
    settings: Settings,
    queue: QueueConfig,
    batch_id: str,
    scorer: str | None = None,
    chunk: int = CHUNK,
    map_spans: SpanMap | None = None,
) -> PrescoreReport:
    """Suggestions for every item of the batch by the queue's scorer (or `scorer`); `map_spans` may score
    the spans concurrently, each on a DuckDB cursor of its own, else they are scored in turn."""
    with Warehouse(settings.warehouse_path, memory_limit=settings.memory_limit) as wh, ExitStack() as cursors:
        chosen = get_scorer(scorer, queue, wh, settings.models_dir)

        def on_cursors(score: SpanScore, spans: list[tuple[int, int]]) -> Iterator[pd.DataFrame]:
            cons = [cursors.enter_context(wh.con.cursor()) for _ in spans]  # DuckDB: one connection per thread
            yield from map_spans(score, cons, spans)

        return prescore_batch(wh, queue, batch_id, chosen, chunk=chunk, run_spans=on_cursors if map_spans else None)


def publish_step(settings: Settings, queue: QueueConfig, batch_id: str) -> PublishReport:
    """Publish the batch's items to the review store; publishing it again changes nothing."""
    with Warehouse(settings.warehouse_path, settings.memory_limit) as wh, ReviewStore(settings.review_url) as store:
        return publish(wh, store, queue, batch_id)
