"""A reviewer's own submitted work, latest revision first, so they can look back and edit it.

An edit is stored by `reviews.revise` as a new revision; only the latest revision per item and
reviewer is "current", and `LATEST` is the condition that picks it.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, select

from reviewdesk.stores.review_schema import items, submissions
from reviewdesk.stores.reviewstore import ReviewStore

_later = submissions.alias("later")
LATEST = ~exists().where(
    and_(
        _later.c.item_id == submissions.c.item_id,
        _later.c.reviewer == submissions.c.reviewer,
        _later.c.revision > submissions.c.revision,
    )
)


def my_submissions(store: ReviewStore, reviewer: str, queue: str, limit: int = 50) -> list[dict]:
    """The latest revision of each item `reviewer` submitted in `queue`, newest first, with the item
    (its runs and kind) but never its gold answer."""
    query = (
        select(submissions, items.c.queue, items.c.kind, items.c.position, items.c.batch_id, items.c.payload)
        .add_columns(items.c.run_id, items.c.run_a, items.c.run_b, items.c.left_run_id)
        .join(items, items.c.item_id == submissions.c.item_id)
        .where(submissions.c.reviewer == reviewer, items.c.queue == queue, LATEST)
        .order_by(submissions.c.submitted_at.desc(), submissions.c.submission_id.desc())
        .limit(limit)
    )
    with store.read() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


__all__ = ["LATEST", "my_submissions"]
