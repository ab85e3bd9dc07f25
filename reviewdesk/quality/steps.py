"""One collect cycle: new submissions into labels, then consensus and a fresh quality report per queue.

The step the collect-submissions flow runs as one retried task and the demo runs after its simulated
reviewers. Safe to repeat: collected chunks commit with their watermark, consensus and the reports
are rebuilt from the labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewdesk.config import Settings
from reviewdesk.labels.collection import CollectResult, collect
from reviewdesk.labels.resolve import ResolveResult, resolve_queue
from reviewdesk.quality.report import refresh
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse


@dataclass(frozen=True)
class CollectCycle:
    """What one collect cycle did: the submissions collected, each published queue resolved and reported."""

    collected: CollectResult
    resolved: list[ResolveResult]
    reports: list[Path]  # the quality reports written, one per queue

    def as_dict(self) -> dict[str, Any]:
        return {**self.collected.as_dict(), "resolved": [r.as_dict() for r in self.resolved],
                "reports": [str(p) for p in self.reports]}  # fmt: skip


def collect_step(settings: Settings, seed: int = 0) -> CollectCycle:
    """Collect new submissions (invalid ones kept as rejected), then resolve and report every published queue."""
    with Warehouse(settings.warehouse_path, settings.memory_limit) as wh, ReviewStore(settings.review_url) as store:
        collected = collect(store, wh)
        resolved = [resolve_queue(store, wh, name) for name in store.published_counts()]
        reports = [refresh(store, wh, r.queue, settings.reports_dir, seed=seed)[1] for r in resolved]
    return CollectCycle(collected, resolved, reports)
