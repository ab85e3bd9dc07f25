"""A demo data dir built once and copied per test: tests that review, collect and resolve change it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reviewdesk.config import Settings
from reviewdesk.demo.run import DEMO_USERS, run_demo
from reviewdesk.review.qualification import qualify
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]


def build_demo(data: Path, runs: int = 1500, seed: int = 5) -> Path:
    """Demo logs ingested, a batch of each example queue published, demo accounts, no reviews yet."""
    run_demo(Settings.load(data, ROOT / "queues"), runs=runs, seed=seed, simulate=False)
    qualify_demo_reviewers(data)
    return data


def qualify_demo_reviewers(data: Path) -> None:
    """A lead qualifies the demo reviewers in every published queue with `training`, so a test of live
    reviewing starts where a trained reviewer would (training itself: test_training.py)."""
    with ReviewStore(Settings.load(data).review_url) as store:
        for queue in store.published_counts():
            if (store.queue(queue)["config"] or {}).get("training"):
                for name in (n for n, role in DEMO_USERS.items() if role == "reviewer"):
                    qualify(store, queue, name, "lead", "test setup: starts qualified")


@contextmanager
def demo_copy(template: Path, where: Path) -> Iterator[tuple[ReviewStore, Warehouse]]:
    """Both stores of a fresh copy of the template."""
    shutil.copytree(template, where)
    settings = Settings.load(where, ROOT / "queues")
    with ReviewStore(settings.review_url) as store, Warehouse(settings.warehouse_path) as wh:
        yield store, wh
