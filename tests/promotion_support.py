"""A reviewed demo data dir for promotion tests: simulated reviews, collected, resolved, agreement saved."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
