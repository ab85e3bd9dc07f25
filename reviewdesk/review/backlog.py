"""Backlog control: how large a queue's next batch may be, so scheduled cycles never pile up work.

Reviewers work at their own pace while the review cycle runs on a clock, so without a limit every
cycle adds a batch whatever is still open (one hourly cycle of the demo doubled the open reviews).
Before sampling, the cycle asks `batch_room`:

- a paused queue gets nothing;
- `max_open_items`: open items (still needing reviews, not set aside) plus the new batch stay within it;
- `max_backlog_hours`: the open reviews plus the new batch's stay within that many hours of work at the
  measured review rate (`oversight.open_work`: first submissions per hour over the last week, or since
  the first batch). With no submission in that window there is no rate to go by: a new batch is drawn
  only once nothing is open.

Gold items come on top of the sampled ones, so the room is shared between them. A cycle that draws
less than asked records why in the batch's parameters (`backlog`), and says so in its log.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from reviewdesk.review.oversight import RATE_WINDOW, open_work
from reviewdesk.sample.gold import gold_wanted
from reviewdesk.stores.reviewstore import ReviewStore
from schemas.queue import QueueConfig


@dataclass(frozen=True)
class BatchRoom:
    """How many units the next batch of `queue` may sample (`size`, of `requested`), and why."""

    queue: str
    requested: int
    size: int
    open_items: int
    open_reviews: int
    reviews_per_hour: float | None  # measured over the window; None without a submission in it
    max_open_items: int | None
    max_backlog_hours: float | None
    paused: bool
    reason: str | None  # why `size` < `requested`; None when the batch is not capped

    @property
    def capped(self) -> bool:
        return self.size < self.requested

    def as_dict(self) -> dict:
        return {**asdict(self), "capped": self.capped}


def reviews_per_new_item(queue: QueueConfig) -> float:
    """The reviews a sampled item needs on average: one, more for the overlap share."""
    return 1 + queue.overlap_fraction * (queue.reviewers_per_item - 1)


def units_within(queue: QueueConfig, items_room: int) -> int:
    """The most sampled units whose batch, gold items included, has at most `items_room` items."""
    n = max(0, items_room)
    if queue.gold_fraction <= 0 or queue.gold_source is None:
        return n
    while n > 0 and n + gold_wanted(queue, n) > items_room:
        n -= 1
    return n


def batch_room(
    store: ReviewStore, queue: QueueConfig, size: int | None = None, now: datetime | None = None
) -> BatchRoom:
    """How many units the next batch of `queue` may sample: `size` (or the queue's) unless paused or capped."""
    now = now or datetime.now(UTC)
    requested = queue.sampling.size if size is None else size
    work = open_work(store, queue.name, now)
    open_items, open_reviews, rate = work.open_items, work.open_reviews, work.reviews_per_hour
    limits: list[tuple[int, str]] = []  # (units allowed, why)
    if work.paused_at is not None:
        limits.append((0, f"the queue is paused (by {work.paused_by} at {work.paused_at:%Y-%m-%d %H:%M} UTC)"))
    if queue.max_open_items is not None:
        room = units_within(queue, queue.max_open_items - open_items)
        limits.append((room, f"{open_items:,} items are open and max_open_items is {queue.max_open_items:,}"))
    if queue.max_backlog_hours is not None:
        if rate is None:
            room = requested if open_reviews == 0 else 0
            why = (f"{open_reviews:,} reviews are open and none was submitted in the last {RATE_WINDOW.days} days, "
                   "so there is no review rate to size the batch by (max_backlog_hours)")  # fmt: skip
        else:
            spare = queue.max_backlog_hours * rate - open_reviews
            room = units_within(queue, math.floor(max(0.0, spare) / reviews_per_new_item(queue)))
            why = (f"{open_reviews:,} reviews are open, reviewers do {rate:.1f} an hour, and max_backlog_hours is "
                   f"{queue.max_backlog_hours:g}")  # fmt: skip
        limits.append((room, why))
    allowed, reason = min(limits, default=(requested, None), key=lambda limit: limit[0])
    allowed = max(0, min(requested, allowed))
    why = f"{queue.name}: drawing {allowed:,} of {requested:,}: {reason}" if allowed < requested else None
    return BatchRoom(queue.name, requested, allowed, open_items, open_reviews, rate, queue.max_open_items,
                     queue.max_backlog_hours, work.paused_at is not None, why)  # fmt: skip


__all__ = ["BatchRoom", "batch_room", "reviews_per_new_item", "units_within"]
