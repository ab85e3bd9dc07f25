"""Progress and oversight: how far a queue is, how each reviewer is doing in it, which reviews were
flagged and which items were set aside; what reviewers see on their queue list and a lead watches.

Counts come from SQL; the median time per item is taken in Python from the fetched durations,
because timestamp arithmetic differs between SQLite and PostgreSQL. Every function only reads.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, exists, func, select

from reviewdesk.errors import NotFound
from reviewdesk.review.lookups import LATEST
from reviewdesk.stores.review_schema import ITEM_OPEN, flag_resolutions, items, queue_grants, reservations, submissions
from reviewdesk.stores.reviewstore import ReviewStore

RESOLUTION = ("category", "note", "resolved_by", "resolved_at")
RATE_WINDOW = timedelta(days=7)  # the review rate is measured over this long


@dataclass(frozen=True)
class Progress:
    """Counts for a queue; the `*_me` ones are None when no reviewer was given."""

    items: int  # items in the queue
    needed: int  # reviews needed over all items
    done: int  # reviews done, counting at most `reviewers_needed` per item
    complete: int  # items with all the reviews they need
    done_by_me: int | None = None
    left_for_me: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ReviewerProgress:
    """One reviewer's work in a queue; `median_seconds` is None when no first revision has a shown time."""

    reviewer: str
    items_done: int  # distinct items submitted
    revisions: int  # stored submissions, every revision counted
    median_seconds: float | None  # of submitted_at - shown_at, first revisions only
    last_submitted_at: datetime | None
    reserved: int  # items held right now
    granted: bool = False  # holds a grant of the queue (leads and admins review without one)
    backlog: int = 0  # open items they have not reviewed: their share of the work still to do

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FlaggedSubmission:
    """A reviewer's latest revision of an item that carries flags, with what a lead needs to follow up."""

    item_id: str
    queue: str
    reviewer: str
    reasons: list[str]
    comment: str | None
    submitted_at: datetime
    run_ids: list[str]  # one run, or both runs of a pairwise item
    resolution: dict | None = None  # a lead's {category, note, resolved_by, resolved_at} (reviewdesk.review.triage)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SetAsideItem:
    """An item taken out of review because its payload cannot be read: nobody is given it any more."""

    item_id: str
    position: int
    run_ids: list[str]
    reason: str
    set_aside_at: datetime | None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Tally:
    """The progress row of the review screen: reviews done of those needed in a batch and in its queue,
    at most `reviewers_needed` counted per item."""

    batch_done: int
    batch_needed: int
    queue_done: int
    queue_needed: int

    def as_dict(self) -> dict:
        return asdict(self)


_NEEDED = items.c.reviewers_needed
_COUNTS = select(  # items, reviews needed, reviews done (capped per item), complete items
    func.count(),
    func.coalesce(func.sum(_NEEDED), 0),
    func.coalesce(func.sum(case((items.c.reviews_done < _NEEDED, items.c.reviews_done), else_=_NEEDED)), 0),
    func.coalesce(func.sum(case((items.c.reviews_done >= _NEEDED, 1), else_=0)), 0),
)


def tally(store: ReviewStore, queue: str, batch_id: str) -> Tally:
    """This batch's and this queue's reviews done and needed, each summed from an index (m010) alone."""
    with store.read() as conn:
        _, batch_needed, batch_done, _ = conn.execute(_COUNTS.where(items.c.batch_id == batch_id)).one()
        _, queue_needed, queue_done, _ = conn.execute(_COUNTS.where(items.c.queue == queue)).one()
    return Tally(batch_done, batch_needed, queue_done, queue_needed)


def reviewed_since(store: ReviewStore, reviewer: str, since: datetime) -> int:
    """Items `reviewer` first submitted at or after `since` (their day so far, say); revisions do not count."""
    with store.read() as conn:
        return conn.scalar(
            select(func.count())
            .select_from(submissions)
            .where(submissions.c.reviewer == reviewer, submissions.c.revision == 1, submissions.c.submitted_at >= since)
        )


def progress(store: ReviewStore, queue: str, reviewer: str | None = None) -> Progress:
    """How far a queue is: reviews needed and done, complete items; and for `reviewer`, theirs."""
    needed = _NEEDED
    with store.read() as conn:
        n, total, got, complete = conn.execute(_COUNTS.where(items.c.queue == queue)).one()
        if reviewer is None:
            return Progress(n, total, got, complete)
        mine = conn.scalar(
            select(func.count(func.distinct(submissions.c.item_id)))
            .join(items, items.c.item_id == submissions.c.item_id)
            .where(items.c.queue == queue, submissions.c.reviewer == reviewer)
        )
        reviewed = exists().where(submissions.c.item_id == items.c.item_id, submissions.c.reviewer == reviewer)
        open_ = and_(items.c.queue == queue, items.c.reviews_done < needed, items.c.set_aside_reason.is_(None))
        left = conn.scalar(select(func.count()).where(open_, ~reviewed))
    return Progress(n, total, got, complete, mine, left)


@dataclass(frozen=True)
class OpenWork:
    """A queue's work still to do, and how fast it gets done; what backlog control and leads go by."""

    open_items: int  # items still needing reviews, not set aside
    open_reviews: int  # the reviews they still need
    reviews_per_hour: float | None  # first submissions per hour over the window; None without one
    paused_at: datetime | None = None
    paused_by: str | None = None

    @property
    def hours(self) -> float | None:
        """The open reviews in hours of work at the measured rate (None without a rate)."""
        return self.open_reviews / self.reviews_per_hour if self.reviews_per_hour else None

    def as_dict(self) -> dict:
        return {**asdict(self), "hours": self.hours}


def open_work(store: ReviewStore, queue: str, now: datetime | None = None) -> OpenWork:
    """The queue's open items and reviews, its review rate over the last `RATE_WINDOW` (or since its first
    batch, if later), and whether it is paused; all zero for a queue never published."""
    now = now or datetime.now(UTC)
    in_queue = items.c.queue == queue
    with store.read() as conn:
        row = store.queue(queue, conn)
        if row is None:
            return OpenWork(0, 0, None)
        open_items, open_reviews = conn.execute(
            select(func.count(), func.coalesce(func.sum(items.c.reviewers_needed - items.c.reviews_done), 0))
            .where(in_queue, ITEM_OPEN, items.c.set_aside_reason.is_(None))
        ).one()  # fmt: skip
        first = conn.scalar(select(func.min(items.c.published_at)).where(in_queue))
        start = max(now - RATE_WINDOW, first) if first is not None else now
        done = conn.scalar(
            select(func.count()).select_from(submissions).join(items, items.c.item_id == submissions.c.item_id)
            .where(in_queue, submissions.c.revision == 1, submissions.c.submitted_at > start)
        )  # fmt: skip
    hours = (now - start).total_seconds() / 3600
    rate = done / hours if done and hours > 0 else None
    return OpenWork(open_items, int(open_reviews), rate, row["paused_at"], row["paused_by"])


def reviewer_progress(store: ReviewStore, queue: str, now: datetime | None = None) -> list[ReviewerProgress]:
    """Per reviewer of `queue`, by name: who submitted, who holds items, and grantees yet to start; each
    with their backlog (open items they have not reviewed)."""
    now = now or datetime.now(UTC)
    in_queue = items.c.queue == queue
    s = submissions.c
    counts = (
        select(s.reviewer, func.count(func.distinct(s.item_id)), func.count(), func.max(s.submitted_at))
        .join(items, items.c.item_id == s.item_id)
        .where(in_queue)
        .group_by(s.reviewer)
    )
    timed = (
        select(s.reviewer, s.shown_at, s.submitted_at)
        .join(items, items.c.item_id == s.item_id)
        .where(in_queue, s.revision == 1, s.shown_at.is_not(None))
    )
    held = (
        select(reservations.c.reviewer, func.count())
        .join(items, items.c.item_id == reservations.c.item_id)
        .where(in_queue, reservations.c.expires_at > now)
        .group_by(reservations.c.reviewer)
    )
    with store.read() as conn:
        if store.queue(queue, conn) is None:
            raise NotFound(
                f"No queue {queue!r} in the review store: publish a batch of it first (`reviewdesk publish`)."
            )
        done = {name: (n, revisions, last) for name, n, revisions, last in conn.execute(counts)}
        durations: dict[str, list[float]] = {}
        for name, shown_at, submitted_at in conn.execute(timed):
            durations.setdefault(name, []).append((submitted_at - shown_at).total_seconds())
        reserved = dict(conn.execute(held).all())
        granted = set(conn.scalars(select(queue_grants.c.reviewer).where(queue_grants.c.queue == queue)))
        names = set(done) | set(reserved) | granted
        open_ = and_(in_queue, ITEM_OPEN, items.c.set_aside_reason.is_(None))
        mine = dict(conn.execute(
            select(s.reviewer, func.count(func.distinct(s.item_id))).join(items, items.c.item_id == s.item_id)
            .where(open_).group_by(s.reviewer)
        ).all())  # fmt: skip
        open_items = conn.scalar(select(func.count()).where(open_))
    out = []
    for name in sorted(names):
        n, revisions, last = done.get(name, (0, 0, None))
        median = statistics.median(durations[name]) if name in durations else None
        backlog = open_items - mine.get(name, 0)
        out.append(ReviewerProgress(name, n, revisions, median, last, reserved.get(name, 0), name in granted, backlog))
    return out


def set_aside_items(store: ReviewStore, queue: str) -> list[SetAsideItem]:
    """The queue's items set aside because their payload cannot be read, in queue order, with the reason."""
    i = items.c
    query = (
        select(i.item_id, i.position, i.run_id, i.run_a, i.run_b, i.set_aside_reason, i.set_aside_at)
        .where(i.queue == queue, i.set_aside_reason.is_not(None))
        .order_by(i.position, i.item_id)
    )
    with store.read() as conn:
        rows = conn.execute(query).all()
    return [
        SetAsideItem(item_id, position, [r for r in (run_id, a, b) if r], reason, at)
        for item_id, position, run_id, a, b, reason, at in rows
    ]


def flagged_items(store: ReviewStore, queue: str | None = None, state: str = "all") -> list[FlaggedSubmission]:
    """Latest revisions (per item and reviewer) with a non-empty `flags` list, newest first, each with
    a lead's resolution if any; `state` "open" or "resolved" keeps those only.

    A flag removed in a later revision no longer counts: only the latest revision is looked at.
    """
    s, fr = submissions.c, flag_resolutions.c
    query = (
        select(s.item_id, items.c.queue, s.reviewer, s.flags, s.comment, s.submitted_at, *(fr[k] for k in RESOLUTION))
        .add_columns(items.c.run_id, items.c.run_a, items.c.run_b)
        .join(items, items.c.item_id == s.item_id)
        .outerjoin(flag_resolutions, and_(fr.item_id == s.item_id, fr.reviewer == s.reviewer))
        .where(LATEST, func.json_array_length(s.flags) > 0)  # the same function in SQLite and PostgreSQL
        .order_by(s.submitted_at.desc(), s.submission_id.desc())
    )
    if queue is not None:
        query = query.where(items.c.queue == queue)
    if state != "all":
        query = query.where(fr.resolved_at.is_(None) if state == "open" else fr.resolved_at.is_not(None))
    with store.read() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        FlaggedSubmission(
            item_id=r["item_id"],
            queue=r["queue"],
            reviewer=r["reviewer"],
            reasons=[str(f["reason"]) for f in r["flags"] if isinstance(f, dict) and f.get("reason")],
            comment=r["comment"],
            submitted_at=r["submitted_at"],
            run_ids=[run for run in (r["run_id"], r["run_a"], r["run_b"]) if run],
            resolution={k: r[k] for k in RESOLUTION} if r["resolved_at"] is not None else None,
        )
        for r in rows
    ]


__all__ = [
    "RATE_WINDOW",
    "FlaggedSubmission",
    "OpenWork",
    "Progress",
    "ReviewerProgress",
    "SetAsideItem",
    "Tally",
    "flagged_items",
    "open_work",
    "progress",
    "reviewed_since",
    "reviewer_progress",
    "set_aside_items",
    "tally",
]
