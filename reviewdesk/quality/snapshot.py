"""The quality report's snapshot in the review store: what the app's agreement dashboard reads.

The flows compute a report from the warehouse (`reviewdesk.quality.report`) and keep its JSON here,
because the app only ever opens the review store. This module imports only that store, so the app
can read a snapshot without loading the warehouse, pandas or the agreement statistics.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from reviewdesk.stores.review_schema import quality_reports
from reviewdesk.stores.reviewstore import ReviewStore


def keep(store: ReviewStore, report: Mapping[str, Any]) -> None:
    """Add a queue's report to the review store, as of its `computed_at`."""
    at = datetime.fromisoformat(report["computed_at"])
    with store.write() as conn:
        conn.execute(quality_reports.insert().values(queue=report["queue"], computed_at=at, report=dict(report)))


def latest(store: ReviewStore, queue: str | None = None) -> list[dict]:
    """The newest saved report of each queue (or of one), for the dashboard."""
    newest = select(quality_reports.c.queue, func.max(quality_reports.c.computed_at).label("at")).group_by(
        quality_reports.c.queue
    )
    if queue is not None:
        newest = newest.where(quality_reports.c.queue == queue)
    newest = newest.subquery()
    query = select(quality_reports.c.report).join(
        newest, (newest.c.queue == quality_reports.c.queue) & (newest.c.at == quality_reports.c.computed_at)
    )
    with store.read() as conn:
        return [r for (r,) in conn.execute(query.order_by(quality_reports.c.queue))]


__all__ = ["keep", "latest"]
