"""The suggestion policy: whether a reviewer sees the model's suggestions for an item, and when.

A queue's `suggestions` setting is show, hide, after_answer (revealed once the reviewer has
submitted) or randomized (a fixed half of the items, to measure how far suggestions anchor
reviewers). `next_item` withholds suggestions the policy does not show. A shown suggestion pre-selects
its option in the review form, and each submission records what the reviewer did with it
(`Draft.suggestion_outcomes`: accepted, changed or left, as `schemas.suggestions` defines them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from reviewdesk.review.lookups import latest_submission
from reviewdesk.stores.review_schema import items
from reviewdesk.stores.reviewstore import ReviewStore
from schemas.queue import QueueConfig


def suggestion_shown(
    queue: QueueConfig | Mapping[str, Any], item_id: str, reviewer: str, answered: bool = False
) -> bool:
    """Whether model suggestions are shown for this item, under the queue's `suggestions` policy.

    show / hide: always / never. after_answer: only once the reviewer has answered. randomized:
    a fixed half of the items, decided by a hash of the item id (so the same for every reviewer
    and every time); record the result with the submission.
    """
    policy = queue.suggestions if isinstance(queue, QueueConfig) else queue["suggestions"]
    if policy == "show":
        return True
    if policy == "hide":
        return False
    if policy == "after_answer":
        return answered
    if policy == "randomized":
        return hashlib.sha256(item_id.encode()).digest()[0] % 2 == 0
    raise ValueError(f"unknown suggestions policy {policy!r}: use show, hide, after_answer or randomized")


def revealed_suggestions(store: ReviewStore, item_id: str, reviewer: str) -> dict | None:
    """An item's suggestions once `reviewer` has submitted it (the `after_answer` reveal), else None."""
    with store.read() as conn:
        if latest_submission(conn, item_id, reviewer) is None:
            return None
        return conn.scalar(select(items.c.suggestions).where(items.c.item_id == item_id))


__all__ = ["revealed_suggestions", "suggestion_shown"]
