"""One promotion cycle: each queue's resolved items into its dataset versions, per its promotion rules.

The step the promote-datasets flow runs as one retried task and the demo runs at the end of its loop.
Queues are promoted in one warehouse session (DuckDB has one writer); a version is written whole or not
at all, and a dataset whose examples did not change gets no new version, so a rerun changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from reviewdesk.config import Settings
from reviewdesk.datasets.promotion import PromotionResult, promote
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig


def promote_step(settings: Settings, queues: Iterable[QueueConfig]) -> list[PromotionResult]:
    """Promote every one of `queues` that has promotion rules, and rewrite its flagged report."""
    with Warehouse(settings.warehouse_path, settings.memory_limit) as wh, ReviewStore(settings.review_url) as store:
        return [promote(store, wh, q, settings.data_dir) for q in queues if q.promotion]
