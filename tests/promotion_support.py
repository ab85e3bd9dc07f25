"""A reviewed demo data dir for promotion tests: simulated reviews, collected, resolved, agreement saved."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from reviewdesk.config import Settings
from reviewdesk.demo.simulate import simulate_reviews
from reviewdesk.labels.collection import collect
from reviewdesk.labels.resolve import resolve_queue
from reviewdesk.quality.report import queue_quality, save
from reviewdesk.queues import get_queue
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

ROOT = Path(__file__).resolve().parents[1]
QUALITY, AB = "support-quality", "support-ab"


@dataclass
class Reviewed:
    """Both stores and the data dir of a fresh copy, with the example queues' configs."""

    data: Path
    store: ReviewStore
    wh: Warehouse

    def queue(self, name: str = QUALITY) -> QueueConfig:
        return get_queue(name, ROOT / "queues")


def close(store: ReviewStore, wh: Warehouse, queues: tuple[str, ...] = (QUALITY, AB)) -> None:
    """Collect, resolve and measure agreement (few resamples: the tests read only the point figure)."""
    collect(store, wh)
    for name in queues:
        resolve_queue(store, wh, name)
        save(store, wh, queue_quality(store, wh, name, resamples=20, seed=0))


def build_reviewed(template: Path, data: Path, quality_limit: int) -> Path:
    """A copy of the demo template where simulated reviewers (always right, so agreement is perfect)
    did `quality_limit` support-quality reviews and all of support-ab, then collect and resolve."""
    shutil.copytree(template, data)
    settings = Settings.load(data, ROOT / "queues")
    with ReviewStore(settings.review_url) as store, Warehouse(settings.warehouse_path) as wh:
        simulate_reviews(store, wh, QUALITY, reviewers=3, accuracy=1.0, seed=1, limit=quality_limit)
        simulate_reviews(store, wh, AB, reviewers=3, accuracy=1.0, seed=1)
        close(store, wh)
    return data


@contextmanager
def reviewed_copy(template: Path, where: Path) -> Iterator[Reviewed]:
    shutil.copytree(template, where)
    settings = Settings.load(where, ROOT / "queues")
    with ReviewStore(settings.review_url) as store, Warehouse(settings.warehouse_path) as wh:
        yield Reviewed(where, store, wh)


# Trace and session items built straight in the warehouse (runs, a batch, items with their unit, labels,
# consensus with per-step rows, a correction), as sampling, collect and resolve would leave them.
T0 = datetime(2026, 5, 3, 9, 0, tzinfo=UTC)


def insert_unit_runs(
    wh: Warehouse,
    steps: list[dict],
    trace_id: str | None = None,
    session_id: str | None = None,
    starts: list[float] | None = None,
) -> None:
    """Insert payload-shaped steps (tests/unit_support.py) as runs: start times `starts` seconds after T0
    (default: in the listed order), in reverse order so that the warehouse's row order means nothing."""
    starts = starts if starts is not None else list(range(len(steps)))
    rows = [
        [
            s["run_id"],
            trace_id,
            s["parent_run_id"],
            session_id,
            "support",
            s.get("name"),
            s["run_type"],
            "gpt-test" if s["run_type"] == "llm" else None,
            T0 + timedelta(seconds=at),
            T0 + timedelta(seconds=at + 0.5),
            s.get("status", "success"),
            s.get("error"),
            json.dumps(s.get("inputs")),
            json.dumps(s.get("outputs")),
            json.dumps({"prompt_version": "v1"}),
        ]
        for s, at in zip(steps, starts, strict=True)
    ]
    wh.con.executemany(
        """INSERT INTO runs (run_id, trace_id, parent_run_id, session_id, project, name, run_type, model,
               start_time, end_time, status, error, inputs, outputs, metadata, tags, source_format, ingested_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, [], 'native', now())""",
        rows[::-1],
    )  # fmt: skip


def insert_unit_items(wh: Warehouse, queue: QueueConfig, items: list[tuple[str, str, str]]) -> None:
    """A batch of `queue` with one item per (item_id, unit_id, run_id), of the queue's unit."""
    batch = f"b-{queue.name}"
    wh.execute(
        "INSERT INTO batches VALUES (?, ?, 'single', 'random', 1, '{}', ?, ?, ?, now(), now())",
        [batch, queue.name, queue.rubric_version, len(items), len(items)],
    )
    for position, (item_id, unit_id, run_id) in enumerate(items):
        wh.execute(
            """INSERT INTO items (item_id, batch_id, queue, position, run_id, inclusion_probability, reviewers_needed,
                   unit, unit_id) VALUES (?, ?, ?, ?, ?, 1.0, 2, ?, ?)""",
            [item_id, batch, queue.name, position, run_id, queue.unit, unit_id],
        )


def insert_consensus(
    wh: Warehouse, queue: QueueConfig, rows: list[tuple], reviewers: tuple[str, ...] = ("ann", "bob")
) -> None:
    """Consensus rows (item_id, criterion, value, step_run_id, method), and each reviewer's matching label."""
    for item_id, criterion, value, step, method in rows:
        wh.execute(
            """INSERT INTO consensus (item_id, queue, criterion, value, method, confidence, reviewers, agreeing,
                   resolved_at, step_run_id) VALUES (?, ?, ?, ?, ?, 1.0, 2, 2, now(), ?)""",
            [item_id, queue.name, criterion, value, method, step],
        )
        for r in reviewers:
            wh.execute(
                """INSERT INTO labels (item_id, queue, reviewer, criterion, value, submission_id, revision,
                       rubric_version, suggestion_shown, submitted_at, step_run_id)
                   VALUES (?, ?, ?, ?, ?, 0, 1, ?, false, now(), ?)""",
                [item_id, queue.name, r, criterion, value, queue.rubric_version, step],
            )


def insert_correction(wh: Warehouse, queue: QueueConfig, item_id: str, reviewer: str, text: str) -> None:
    """A reviewer's collected submission of `item_id` carrying a correction (in a run's output shape)."""
    n = wh.execute("SELECT count(*) FROM submissions")[0][0] + 1
    wh.execute(
        """INSERT INTO submissions (submission_id, item_id, queue, reviewer, revision, rubric_version, answers,
               correction, flags, suggestion_shown, submitted_at, collected_at)
           VALUES (?, ?, ?, ?, 1, ?, '{}', ?, '[]', false, now(), now())""",
        [n, item_id, queue.name, reviewer, queue.rubric_version, json.dumps({"output": text})],
    )


@contextmanager
def unit_stores(data: Path) -> Iterator[tuple[Warehouse, ReviewStore, Path]]:
    """A fresh warehouse and review store in `data`, for building unit items by hand."""
    data.mkdir(parents=True, exist_ok=True)
    with Warehouse(data / "warehouse.duckdb") as wh, ReviewStore(f"sqlite:///{data / 'review.sqlite'}") as store:
        yield wh, store, data
