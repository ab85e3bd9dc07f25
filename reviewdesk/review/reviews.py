"""Reviewing in the review store: reserve the next item, submit, revise, skip, and count progress.

Each step checks access in a read transaction, then does its work in one short write transaction
(`ReviewStore.write`: on SQLite, writers queue on the store's write gate and BEGIN IMMEDIATE, so
they wait instead of failing). On PostgreSQL the item row is locked first (`SELECT ... FOR
UPDATE`, `SKIP LOCKED` when looking for a free item) and its capacity read again in a fresh
statement, so two reviewers racing for an item's last slot never both get it there either; when
every item with room is held by other transactions for a moment, `next_item` tries again shortly
rather than report that nothing is left.
The app's Submit is `submit_and_next`: the submit and the next reservation in one write
transaction, so a reviewer takes the SQLite write lock once per item instead of twice.

An item has room for a reviewer while `reviews_done` (distinct reviewers who submitted, kept by
`submit`) plus the live reservations of other reviewers is below `reviewers_needed`. Gold items
are ordinary items here; their known answer never leaves the store through `next_item`.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, exists, func, select

from reviewdesk.errors import AccessDenied, NotFound, ReviewConflict
from reviewdesk.stores.review_schema import ITEM_OPEN, ITEM_ORDER, items, queues, reservations, submissions, users
from reviewdesk.stores.reviewstore import ReviewStore, canonical
from schemas.queue import QueueConfig

PRIVILEGED = ("lead", "admin")  # may review any queue
HIDDEN_ITEM_FIELDS = ("gold_answer", "is_gold")  # a reviewer must not tell gold items apart


@dataclass(frozen=True)
class SubmitResult:
    """The stored submission: `duplicate` is True when it was stored before and nothing was added."""

    submission_id: int
    revision: int
    duplicate: bool


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


# -- statements, built once (bound by name): next_item and submit run them under the write lock --

_P = bindparam
_QUEUE = select(queues).where(queues.c.name == _P("queue"))
_USER = select(users).where(users.c.name == _P("reviewer"))
_ITEM = select(items).where(items.c.item_id == _P("item_id"))
_ITEM_QUEUE = select(items.c.queue).where(items.c.item_id == _P("item_id"))
_ITEM_STATE = (  # what submit needs of an item, without parsing its payload under the write lock
    select(items.c.item_id, items.c.queue, items.c.rubric_version, items.c.reviews_done, items.c.reviewers_needed)
    .where(items.c.item_id == _P("item_id"))
    .with_for_update()  # PostgreSQL: serialise submits of one item; SQLite ignores it
)
_SUBMIT_STATE = (  # _ITEM_STATE plus the reviewer's reservation of the item (NULLs without one), one statement
    select(*_ITEM_STATE.selected_columns, reservations.c.reserved_at, reservations.c.expires_at)
    .select_from(
        items.outerjoin(
            reservations, and_(reservations.c.item_id == items.c.item_id, reservations.c.reviewer == _P("reviewer"))
        )
    )
    .where(items.c.item_id == _P("item_id"))
    .with_for_update(of=items)  # PostgreSQL locks the item row only (not the outer join's nullable side)
)
_LIVE_OTHERS = (
    select(func.count())
    .select_from(reservations)
    .where(
        reservations.c.item_id == _P("item_id"),
        reservations.c.reviewer != _P("reviewer"),
        reservations.c.expires_at > _P("now"),
    )
)
_LATEST = (
    select(submissions)
    .where(submissions.c.item_id == _P("item_id"), submissions.c.reviewer == _P("reviewer"))
    .order_by(submissions.c.revision.desc())
    .limit(1)
)
_HELD = (  # the reviewer's live reservation in the queue, if any
    select(items)
    .join(reservations, items.c.item_id == reservations.c.item_id)
    .where(reservations.c.reviewer == _P("reviewer"), reservations.c.expires_at > _P("now"))
    .where(items.c.queue == _P("queue"))
    .order_by(reservations.c.reserved_at, reservations.c.item_id)
    .limit(1)
)
_RENEW = (  # UPDATE parameters must not be named like columns
    reservations.update()
    .where(reservations.c.item_id == _P("b_item_id"), reservations.c.reviewer == _P("b_reviewer"))
    .values(expires_at=_P("b_expires_at"))
)
_EXPIRED = reservations.delete().where(reservations.c.expires_at <= _P("now"))
_RELEASE = reservations.delete().where(
    reservations.c.item_id == _P("item_id"), reservations.c.reviewer == _P("reviewer")
)
_COUNT_REVIEW = items.update().where(items.c.item_id == _P("b_item_id")).values(reviews_done=items.c.reviews_done + 1)
_OPEN_FOR = (  # the first item in review order with room for the reviewer
    select(items)
    .where(
        items.c.queue == _P("queue"),
        ITEM_OPEN,  # the exact term of the partial index ix_items_open_order, so the walk uses it
        ~exists().where(submissions.c.item_id == items.c.item_id, submissions.c.reviewer == _P("reviewer")),
        items.c.reviews_done
        + select(func.count())
        .select_from(reservations)
        .where(
            reservations.c.item_id == items.c.item_id,
            reservations.c.reviewer != _P("reviewer"),
            reservations.c.expires_at > _P("now"),
        )
        .scalar_subquery()
        < items.c.reviewers_needed,
    )
    .order_by(*ITEM_ORDER)
    .limit(1)
)
_CANDIDATE = _OPEN_FOR.with_for_update(skip_locked=True, of=items)  # PostgreSQL: passes rows others hold
_ROOM_LEFT = _OPEN_FOR.with_only_columns(items.c.item_id)  # the same, rows others hold included
GC_EVERY = 16  # delete expired reservations on about one next_item call in this many


def _one(conn: Connection, stmt: Any, **params: Any) -> dict | None:
    row = conn.execute(stmt, params).mappings().first()
    return dict(row) if row else None


def _queue_row(conn: Connection, name: str) -> dict:
    row = _one(conn, _QUEUE, queue=name)
    if row is None:
        raise NotFound(f"No queue {name!r} in the review store: publish a batch of it first (`reviewdesk publish`).")
    return row


def _check_access(conn: Connection, queue: Mapping[str, Any], reviewer: str) -> None:
    """Refuse unknown or disabled users, and reviewers the queue is not assigned to."""
    user = _one(conn, _USER, reviewer=reviewer)
    if user is None:
        raise AccessDenied(f"No user {reviewer!r}: an admin adds reviewers with `accounts.add_user`.")
    if user["disabled"]:
        raise AccessDenied(f"User {reviewer!r} is disabled: ask an admin to enable the account.")
    if user["role"] in PRIVILEGED:
        return
    assignees = (queue["config"] or {}).get("assignees") or []
    allowed = (user["queues"] is None or queue["name"] in user["queues"]) and (not assignees or reviewer in assignees)
    if not allowed:
        raise AccessDenied(
            f"Queue {queue['name']!r} is not assigned to {reviewer!r}: ask a lead to add you to its "
            "assignees, or pick one of your queues."
        )


def _item_row(conn: Connection, item_id: str, lock: bool = False) -> dict:
    """The item's row; with `lock`, only the columns a submission needs, row-locked on PostgreSQL."""
    row = _one(conn, _ITEM_STATE if lock else _ITEM, item_id=item_id)
    if row is None:
        raise NotFound(f"No item {item_id!r} in the review store: it may belong to a batch not yet published.")
    return row


def _item_queue(conn: Connection, item_id: str) -> str:
    queue = conn.scalar(_ITEM_QUEUE, {"item_id": item_id})
    if queue is None:
        raise NotFound(f"No item {item_id!r} in the review store: it may belong to a batch not yet published.")
    return queue


def _live_others(conn: Connection, item_id: str, reviewer: str, now: datetime) -> int:
    return conn.scalar(_LIVE_OTHERS, {"item_id": item_id, "reviewer": reviewer, "now": now})


def _latest(conn: Connection, item_id: str, reviewer: str) -> dict | None:
    return _one(conn, _LATEST, item_id=item_id, reviewer=reviewer)


def _shown(item: Mapping[str, Any], expires_at: datetime, queue: Mapping[str, Any], reviewer: str) -> dict:
    """The item as a reviewer may see it: no gold answer, and suggestions only where the policy shows them."""
    out = {k: v for k, v in item.items() if k not in HIDDEN_ITEM_FIELDS}
    out["reserved_until"] = expires_at
    shown = bool(out.get("suggestions")) and suggestion_shown(queue["config"], item["item_id"], reviewer)
    out["suggestion_shown"] = shown
    if not shown:
        out["suggestions"] = None
    return out


# -- reviewing ------------------------------------------------------------------------------------


def next_item(
    store: ReviewStore, queue: str, reviewer: str, now: datetime | None = None, exclude: Iterable[str] = ()
) -> dict | None:
    """Reserve and return the next item for `reviewer` in `queue`, or None when none is left for them.

    The item is one they have not reviewed, that still needs reviewers and is not held to capacity
    by live reservations; highest `priority` first (NULL counts as 0), then sample position. A
    reviewer holding a live reservation in the queue gets that item again, its hold renewed. The
    returned dict has the item's columns except its gold answer, plus `reserved_until` and
    `suggestion_shown` (its `suggestions` are None unless the queue's policy shows them now). `exclude`
    holds items the reviewer skipped in this sitting, so Skip moves on instead of coming back.
    """
    now = now or datetime.now(UTC)
    with store.read() as conn:  # access is checked before taking the write lock, to keep that short
        q = _queue_row(conn, queue)
        _check_access(conn, q, reviewer)
    return _reserve_next_retrying(store, q, reviewer, now, exclude)


class _Busy:
    """`_reserve_next` found no free item, but others' transactions hold rows of items with room."""


_BUSY = _Busy()
BUSY_RETRY_SECONDS = 2.0  # PostgreSQL: how long next_item retries while items with room are row-locked


def _reserve_next_retrying(
    store: ReviewStore, q: Mapping[str, Any], reviewer: str, now: datetime, exclude: Iterable[str]
) -> dict | None:
    """`_reserve_next` in its own write transactions, again while the answer is `_BUSY`.

    On PostgreSQL `SKIP LOCKED` passes over items that other transactions hold for a moment (a
    reviewer submitting one, another reserving it), so with none left unlocked there may still be
    room for this reviewer once they commit: try again shortly, holding no lock meanwhile.
    """
    exclude = list(exclude)
    deadline = time.monotonic() + BUSY_RETRY_SECONDS
    while True:
        with store.write() as conn:
            got = _reserve_next(store, conn, q, reviewer, now, exclude)
        if not isinstance(got, _Busy):
            return got
        if time.monotonic() >= deadline:
            return None
        time.sleep(random.uniform(0.002, 0.01))


def _reserve_next(
    store: ReviewStore, conn: Connection, q: Mapping[str, Any], reviewer: str, now: datetime, exclude: Iterable[str]
) -> dict | _Busy | None:
    """`next_item`'s work in the write transaction `conn`, access to queue row `q` already checked.

    `_BUSY` (PostgreSQL only) when no item could be locked but some locked by others have room.
    """
    expires_at = now + timedelta(minutes=q["reservation_minutes"])
    recheck = store.dialect != "sqlite"  # SQLite writers are serialised; PostgreSQL ones are not
    mine = {"reviewer": reviewer, "now": now, "queue": q["name"]}
    held = _one(conn, _HELD, **mine)
    if held is not None:
        conn.execute(_RENEW, {"b_item_id": held["item_id"], "b_reviewer": reviewer, "b_expires_at": expires_at})
        return _shown(held, expires_at, q, reviewer)
    if random.randrange(GC_EVERY) == 0:  # expired rows are ignored anyway; this only tidies up
        conn.execute(_EXPIRED, {"now": now})
    skipped = list(exclude)
    while True:
        query = _CANDIDATE.where(items.c.item_id.not_in(skipped)) if skipped else _CANDIDATE
        item = _one(conn, query, **mine)
        if item is None:
            peek = _ROOM_LEFT.where(items.c.item_id.not_in(skipped)) if skipped else _ROOM_LEFT
            if recheck and conn.execute(peek, mine).first() is not None:
                return _BUSY
            return None
        item_id = item["item_id"]
        if recheck:  # a fresh statement under the row lock sees reservations committed since
            item = _item_row(conn, item_id)
            if item["reviews_done"] + _live_others(conn, item_id, reviewer, now) >= item["reviewers_needed"]:
                skipped.append(item_id)
                continue
        row = {"item_id": item_id, "reviewer": reviewer, "reserved_at": now, "expires_at": expires_at}
        conn.execute(store.replace_stmt(reservations, ("reserved_at", "expires_at")), row)  # an expired hold too
        return _shown(item, expires_at, q, reviewer)


def release(store: ReviewStore, item_id: str, reviewer: str) -> bool:
    """Skip: give the item back (the reviewer's reservation ends). Returns whether one was held."""
    with store.write() as conn:
        result = conn.execute(_RELEASE, {"item_id": item_id, "reviewer": reviewer})
    return result.rowcount > 0


def _submission_row(
    item: Mapping[str, Any],
    reviewer: str,
    revision: int,
    answers: Mapping[str, Any],
    comment: str | None,
    correction: str | None,
    flags: Iterable[Mapping[str, Any]],
    suggestion_shown: bool,
    shown_at: datetime | None,
    now: datetime,
) -> dict:
    return {
        "item_id": item["item_id"],
        "reviewer": reviewer,
        "revision": revision,
        "answers": dict(answers),
        "comment": comment,
        "correction": correction,
        "flags": [dict(f) for f in flags],
        "suggestion_shown": bool(suggestion_shown),
        "rubric_version": item["rubric_version"],
        "shown_at": shown_at,
        "submitted_at": now,
    }


def submit(
    store: ReviewStore,
    item_id: str,
    reviewer: str,
    answers: Mapping[str, Any],
    comment: str | None = None,
    correction: str | None = None,
    flags: Iterable[Mapping[str, Any]] = (),
    suggestion_shown: bool = False,
    shown_at: datetime | None = None,
    now: datetime | None = None,
) -> SubmitResult:
    """Store a reviewer's first submission of an item, exactly as sent, and end their reservation.

    A second submit of the same item by the same reviewer (two tabs, a double click) stores
    nothing and returns the stored one with `duplicate=True`; use `revise` to change it. Without a
    live reservation the item must still have room. `shown_at` defaults to when it was reserved.
    Answers are not validated here (the collect stage does that).
    """
    now = now or datetime.now(UTC)
    with store.read() as conn:  # an item's queue never changes: check access before the write lock
        _check_access(conn, _queue_row(conn, _item_queue(conn, item_id)), reviewer)
    with store.write() as conn:
        return _store_submission(
            store, conn, item_id, reviewer, answers, comment, correction, flags, suggestion_shown, shown_at, now
        )


def submit_and_next(
    store: ReviewStore,
    item_id: str,
    reviewer: str,
    answers: Mapping[str, Any],
    comment: str | None = None,
    correction: str | None = None,
    flags: Iterable[Mapping[str, Any]] = (),
    suggestion_shown: bool = False,
    shown_at: datetime | None = None,
    now: datetime | None = None,
    exclude: Iterable[str] = (),
) -> tuple[SubmitResult, dict | None]:
    """`submit`, then `next_item` in the item's queue, in one write transaction: the app's Submit.

    Returns the submit's result and the next item reserved for `reviewer` (None when none is left
    for them), exactly as the two calls would, with the same checks and guarantees; it only takes
    the write lock once instead of twice. A refused submit (`ReviewConflict`, `AccessDenied`,
    `NotFound`) raises before anything is stored or reserved: call `next_item` to move on. After a
    duplicate submit the reviewer gets their live hold again (the item the first submit moved to).
    `exclude` is as for `next_item`.
    """
    now, exclude = now or datetime.now(UTC), list(exclude)
    with store.read() as conn:  # an item's queue never changes: check access before the write lock
        q = _queue_row(conn, _item_queue(conn, item_id))
        _check_access(conn, q, reviewer)
    with store.write() as conn:
        result = _store_submission(
            store, conn, item_id, reviewer, answers, comment, correction, flags, suggestion_shown, shown_at, now
        )
        got = _reserve_next(store, conn, q, reviewer, now, exclude)
    if isinstance(got, _Busy):  # PostgreSQL: retry once this transaction no longer holds the submitted item
        got = _reserve_next_retrying(store, q, reviewer, now, exclude)
    return result, got


def _store_submission(
    store: ReviewStore,
    conn: Connection,
    item_id: str,
    reviewer: str,
    answers: Mapping[str, Any],
    comment: str | None,
    correction: str | None,
    flags: Iterable[Mapping[str, Any]],
    suggestion_shown: bool,
    shown_at: datetime | None,
    now: datetime,
) -> SubmitResult:
    """`submit`'s work in the write transaction `conn`, access already checked."""
    item = _one(conn, _SUBMIT_STATE, item_id=item_id, reviewer=reviewer)
    if item is None:
        raise NotFound(f"No item {item_id!r} in the review store: it may belong to a batch not yet published.")
    mine = item if item["reserved_at"] is not None else None  # the reviewer's reservation of it
    full = item["reviews_done"] >= item["reviewers_needed"]
    if not full and (mine is None or mine["expires_at"] <= now):
        full = item["reviews_done"] + _live_others(conn, item_id, reviewer, now) >= item["reviewers_needed"]
    if full:
        if (latest := _latest(conn, item_id, reviewer)) is not None:
            return SubmitResult(latest["submission_id"], latest["revision"], duplicate=True)
        raise ReviewConflict(
            f"Item {item_id} already has enough reviews ({item['reviewers_needed']}), counting the reviewers "
            "holding it: your answer was not stored; take the next item."
        )
    if shown_at is None and mine is not None:
        shown_at = mine["reserved_at"]
    row = _submission_row(item, reviewer, 1, answers, comment, correction, flags, suggestion_shown, shown_at, now)
    inserted = conn.execute(store.insert_ignore_stmt(submissions), row)
    if inserted.rowcount == 0:  # revision 1 exists: a double submit
        latest = _latest(conn, item_id, reviewer)
        return SubmitResult(latest["submission_id"], latest["revision"], duplicate=True)
    submission_id = inserted.inserted_primary_key[0]
    conn.execute(_COUNT_REVIEW, {"b_item_id": item_id})
    if mine is not None:
        conn.execute(_RELEASE, {"item_id": item_id, "reviewer": reviewer})
    return SubmitResult(submission_id, 1, duplicate=False)


def revise(
    store: ReviewStore,
    item_id: str,
    reviewer: str,
    answers: Mapping[str, Any],
    comment: str | None = None,
    correction: str | None = None,
    flags: Iterable[Mapping[str, Any]] = (),
    suggestion_shown: bool | None = None,
    shown_at: datetime | None = None,
    now: datetime | None = None,
) -> SubmitResult:
    """Store an edit of a submitted review as the next revision; earlier revisions stay as they were.

    An edit identical to the latest revision (a double click) adds nothing: `duplicate=True`.
    `suggestion_shown` defaults to the latest revision's.
    """
    now = now or datetime.now(UTC)
    with store.write() as conn:
        item = _item_row(conn, item_id, lock=True)
        _check_access(conn, _queue_row(conn, item["queue"]), reviewer)
        latest = _latest(conn, item_id, reviewer)
        if latest is None:
            raise NotFound(f"{reviewer!r} has not submitted item {item_id} yet: submit it first, then edit it.")
        if suggestion_shown is None:
            suggestion_shown = latest["suggestion_shown"]
        row = _submission_row(
            item, reviewer, latest["revision"] + 1, answers, comment, correction, flags, suggestion_shown, shown_at, now
        )
        same = ("answers", "comment", "correction", "flags")
        if all(canonical(row[k]) == canonical(latest[k]) for k in same):
            return SubmitResult(latest["submission_id"], latest["revision"], duplicate=True)
        submission_id = conn.execute(submissions.insert().values(**row)).inserted_primary_key[0]
    return SubmitResult(submission_id, row["revision"], duplicate=False)


def revealed_suggestions(store: ReviewStore, item_id: str, reviewer: str) -> dict | None:
    """An item's suggestions once `reviewer` has submitted it (the `after_answer` reveal), else None."""
    with store.read() as conn:
        if _latest(conn, item_id, reviewer) is None:
            return None
        return conn.scalar(select(items.c.suggestions).where(items.c.item_id == item_id))


def item_submissions(store: ReviewStore, item_id: str, reviewer: str | None = None) -> list[dict]:
    """Every stored submission of an item (or of one reviewer's), oldest first, all revisions."""
    query = select(submissions).where(submissions.c.item_id == item_id)
    if reviewer is not None:
        query = query.where(submissions.c.reviewer == reviewer)
    with store.read() as conn:
        return [dict(r) for r in conn.execute(query.order_by(submissions.c.submission_id)).mappings()]


def progress(store: ReviewStore, queue: str, reviewer: str | None = None) -> Progress:
    """How far a queue is: reviews needed and done, complete items; and for `reviewer`, theirs."""
    needed = items.c.reviewers_needed
    done = case((items.c.reviews_done < needed, items.c.reviews_done), else_=needed)
    full = case((items.c.reviews_done >= needed, 1), else_=0)
    with store.read() as conn:
        n, total, got, complete = conn.execute(
            select(
                func.count(),
                func.coalesce(func.sum(needed), 0),
                func.coalesce(func.sum(done), 0),
                func.coalesce(func.sum(full), 0),
            ).where(items.c.queue == queue)
        ).one()
        if reviewer is None:
            return Progress(n, total, got, complete)
        mine = conn.scalar(
            select(func.count(func.distinct(submissions.c.item_id)))
            .join(items, items.c.item_id == submissions.c.item_id)
            .where(items.c.queue == queue, submissions.c.reviewer == reviewer)
        )
        reviewed = exists().where(submissions.c.item_id == items.c.item_id, submissions.c.reviewer == reviewer)
        left = conn.scalar(
            select(func.count()).where(and_(items.c.queue == queue, items.c.reviews_done < needed, ~reviewed))
        )
    return Progress(n, total, got, complete, mine, left)


def missing_answers(criteria: Iterable[Mapping[str, Any]], answers: Mapping[str, Any]) -> list[str]:
    """Keys of required criteria left unanswered (a boolean always has an answer): the form and the
    collect stage refuse a submission for the same reasons."""
    return [c["key"] for c in criteria if c.get("required") and answers.get(c["key"]) in (None, "")]


def allowed_queues(store: ReviewStore, reviewer: str) -> list[dict]:
    """The published queues (their rows) `reviewer` may review, by name."""
    with store.read() as conn:
        rows = [dict(r) for r in conn.execute(select(queues).order_by(queues.c.name)).mappings()]
        allowed = []
        for row in rows:
            try:
                _check_access(conn, row, reviewer)
            except AccessDenied:
                continue
            allowed.append(row)
    return allowed


def my_queues(store: ReviewStore, reviewer: str) -> list[dict]:
    """The published queues `reviewer` may review, with their instructions and progress."""
    return [
        {
            "name": row["name"],
            "kind": row["kind"],
            "description": row["description"],
            "instructions": (row["config"] or {}).get("rubric", {}).get("instructions", ""),
            "progress": progress(store, row["name"], reviewer),
        }
        for row in allowed_queues(store, reviewer)
    ]


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


__all__ = [
    "Progress",
    "SubmitResult",
    "allowed_queues",
    "item_submissions",
    "next_item",
    "progress",
    "release",
    "revealed_suggestions",
    "revise",
    "submit",
    "submit_and_next",
    "suggestion_shown",
]
