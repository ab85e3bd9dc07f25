"""A demo data dir built once and copied per test: tests that review, collect and resolve change it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reviewdesk.config import Settings
from reviewdesk.demo.run import run_demo
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]


def build_demo(data: Path, runs: int = 1500, seed: int = 5) -> Path:
    """Demo logs ingested, a batch of each example queue published, demo accounts, no reviews yet."""
    run_demo(Settings.load(data, ROOT / "queues"), runs=runs, seed=seed, simulate=False)
    return data


@contextmanager
def demo_copy(template: Path, where: Path) -> Iterator[tuple[ReviewStore, Warehouse]]:
    """Both stores of a fresh copy of the template."""
    shutil.copytree(template, where)
    settings = Settings.load(where, ROOT / "queues")
    with ReviewStore(settings.review_url) as store, Warehouse(settings.warehouse_path) as wh:
        yield store, wh
