"""Reservations: the next item a reviewer gets, held for them until a timeout, and Skip.

`next_item` checks access in a read transaction, then reserves in one short write transaction
(`ReviewStore.write`: on SQLite, writers queue on the store's write gate and BEGIN IMMEDIATE, so
they wait instead of failing). On PostgreSQL the item row is locked first (`SELECT ... FOR UPDATE
SKIP LOCKED` when looking for a free item) and its capacity read again in a fresh statement, so two
reviewers racing for an item's last slot never both get it there either; when every item with room
is held by other transactions for a moment, `next_item` tries again shortly rather than report that
nothing is left.

An item has room for a reviewer while `reviews_done` (distinct reviewers who submitted, kept by
`submit`) plus the live reservations of other reviewers is below `reviewers_needed`. Gold items
are ordinary items here; their known answer never leaves the store through `next_item`.

An item whose payload cannot be read (malformed, nested too deeply for Python's parser) is set
aside with its reason, in the same transaction, and the walk goes on to the next item: the
transaction still commits, with the submission it may carry, and the queue is never blocked.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, exists, func, select

from reviewdesk.review.access import check_access, check_open
from reviewdesk.review.lookups import ITEM_COLUMNS, live_others, one, queue_row, readable_item
from reviewdesk.review.qualification import live_refusal, training_config
from reviewdesk.review.suggestions import suggestion_shown
from reviewdesk.review.training import training_item
from reviewdesk.stores.payloads import UnreadablePayload
from reviewdesk.stores.review_schema import ITEM_OPEN, ITEM_ORDER, items, reservations, submissions, training_answers
from reviewdesk.stores.reviewstore import ReviewStore

HIDDEN_ITEM_FIELDS = ("gold_answer", "is_gold")  # a reviewer must not tell gold items apart
GC_EVERY = 16  # delete expired reservations on about one next_item call in this many
BUSY_RETRY_SECONDS = 2.0  # PostgreSQL: how long next_item retries while items with room are row-locked

# -- statements, built once (bound by name): they run under the write lock --

_P = bindparam
_HELD = (  # the reviewer's live reservation in the queue, if any
    select(*ITEM_COLUMNS)
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
RELEASE = reservations.delete().where(
    reservations.c.item_id == _P("item_id"), reservations.c.reviewer == _P("reviewer")
)
_SET_ASIDE = (
    items.update()
    .where(items.c.item_id == _P("b_item_id"))
    .values(set_aside_reason=_P("b_reason"), set_aside_at=_P("b_at"))
)
_RELEASE_ALL = reservations.delete().where(reservations.c.item_id == _P("item_id"))
_OPEN_FOR = (  # the first item in review order with room for the reviewer
    select(*ITEM_COLUMNS)
    .where(
        items.c.queue == _P("queue"),
        ITEM_OPEN,  # the exact term of the partial index ix_items_open_order, so the walk uses it
        items.c.set_aside_reason.is_(None),
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
# Queues with training: live items pass over the gold items the reviewer trained on (they saw the answers).
_UNTRAINED = ~exists().where(
    training_answers.c.item_id == items.c.item_id, training_answers.c.reviewer == _P("reviewer")
)
_CANDIDATE_TRAINED = _OPEN_FOR.where(_UNTRAINED).with_for_update(skip_locked=True, of=items)
_ROOM_LEFT_TRAINED = _ROOM_LEFT.where(_UNTRAINED)


class Busy:
    """`reserve_next` found no free item, but others' transactions hold rows of items with room."""


BUSY = Busy()


def _readable(conn: Connection, item: Mapping[str, Any], now: datetime) -> dict | None:
    """The item with its JSON parsed, or None once it is set aside (its payload unreadable) and its holds ended.

    Written in the caller's transaction, which goes on and commits: a reviewer's submission in it is
    never lost to another item's bad payload.
    """
    try:
        return readable_item(item)
    except UnreadablePayload as e:
        conn.execute(_SET_ASIDE, {"b_item_id": item["item_id"], "b_reason": str(e), "b_at": now})
        conn.execute(_RELEASE_ALL, {"item_id": item["item_id"]})
        return None


def _shown(item: Mapping[str, Any], expires_at: datetime, queue: Mapping[str, Any], reviewer: str) -> dict:
    """The item as a reviewer may see it: no gold answer, and suggestions only where the policy shows them."""
    out = {k: v for k, v in item.items() if k not in HIDDEN_ITEM_FIELDS}
    out["reserved_until"] = expires_at
    shown = bool(out.get("suggestions")) and suggestion_shown(queue["config"], item["item_id"], reviewer)
    out["suggestion_shown"] = shown
    if not shown:
        out["suggestions"] = None
    return out


def next_item(
    store: ReviewStore, queue: str, reviewer: str, now: datetime | None = None, exclude: Iterable[str] = ()
) -> dict | None:
    """Reserve and return the next item for `reviewer` in `queue`, or None when none is left for them.

    The item is one they have not reviewed, that still needs reviewers and is not held to capacity
    by live reservations; highest `priority` first (NULL counts as 0), then sample position. A
    reviewer holding a live reservation in the queue gets that item again, its hold renewed. The
    returned dict has the item's columns except its gold answer, plus `reserved_until` and
    `suggestion_shown` (its `suggestions` are None unless the queue's policy shows them now). `exclude`
    holds items the reviewer skipped in this sitting, so Skip moves on instead of coming back. A paused
    queue hands out nothing (`ReviewConflict`), nor one the reviewer holds no grant of (`AccessDenied`).

    In a queue with `training`, a reviewer not qualified gets their next training item instead (marked
    `training: True`, see `reviewdesk.review.training`), or `NotQualified` saying until when they are
    held, or that a lead paused them.
    """
    now = now or datetime.now(UTC)
    with store.read() as conn:  # access is checked before taking the write lock, to keep that short
        q = queue_row(conn, queue)
        user = check_access(conn, q, reviewer)
        check_open(q)
        unqualified = live_refusal(conn, q, user) is not None
    if unqualified and (trainee := training_item(store, q, reviewer, now)) is not None:
        return trainee
    return reserve_next_retrying(store, q, reviewer, now, exclude)


def reserve_next_retrying(
    store: ReviewStore, q: Mapping[str, Any], reviewer: str, now: datetime, exclude: Iterable[str]
) -> dict | None:
    """`reserve_next` in its own write transactions, again while the answer is `BUSY`.

    On PostgreSQL `SKIP LOCKED` passes over items that other transactions hold for a moment (a
    reviewer submitting one, another reserving it), so with none left unlocked there may still be
    room for this reviewer once they commit: try again shortly, holding no lock meanwhile.
    """
    exclude = list(exclude)
    deadline = time.monotonic() + BUSY_RETRY_SECONDS
    while True:
        with store.write() as conn:
            got = reserve_next(store, conn, q, reviewer, now, exclude)
        if not isinstance(got, Busy):
            return got
        if time.monotonic() >= deadline:
            return None
        time.sleep(random.uniform(0.002, 0.01))


def reserve_next(
    store: ReviewStore,
    conn: Connection,
    q: Mapping[str, Any],
    reviewer: str,
    now: datetime,
    exclude: Iterable[str],
    holds: bool = True,
) -> dict | Busy | None:
    """`next_item`'s work in the write transaction `conn`, access to queue row `q` already checked.

    `BUSY` (PostgreSQL only) when no item could be locked but some locked by others have room.
    `holds=False`: the caller has just seen, in this transaction, that the reviewer holds no item, so
    their hold is not looked up (on PostgreSQL, one their other tab takes meanwhile is kept, not given).
    """
    expires_at = now + timedelta(minutes=q["reservation_minutes"])
    recheck = store.dialect != "sqlite"  # SQLite writers are serialised; PostgreSQL ones are not
    mine = {"reviewer": reviewer, "now": now, "queue": q["name"]}
    held = one(conn, _HELD, **mine) if holds else None
    if held is not None and (held := _readable(conn, held, now)) is not None:
        conn.execute(_RENEW, {"b_item_id": held["item_id"], "b_reviewer": reviewer, "b_expires_at": expires_at})
        return _shown(held, expires_at, q, reviewer)
    if random.randrange(GC_EVERY) == 0:  # expired rows are ignored anyway; this only tidies up
        conn.execute(_EXPIRED, {"now": now})
    skipped = list(exclude)
    candidate, room_left = (_CANDIDATE_TRAINED, _ROOM_LEFT_TRAINED) if training_config(q) else (_CANDIDATE, _ROOM_LEFT)
    while True:
        query = candidate.where(items.c.item_id.not_in(skipped)) if skipped else candidate
        item = one(conn, query, **mine)
        if item is None:
            peek = room_left.where(items.c.item_id.not_in(skipped)) if skipped else room_left
            if recheck and conn.execute(peek, mine).first() is not None:
                return BUSY
            return None
        item_id = item["item_id"]
        # The locked row is its latest version (PostgreSQL reads it again under the lock), but the
        # statement counted reservations as of its start: a fresh one sees those committed since.
        others = live_others(conn, item_id, reviewer, now) if recheck else 0
        if item["reviews_done"] + others >= item["reviewers_needed"]:
            skipped.append(item_id)
            continue
        if (item := _readable(conn, item, now)) is None:
            continue  # set aside: the walk no longer finds it
        row = {"item_id": item_id, "reviewer": reviewer, "reserved_at": now, "expires_at": expires_at}
        conn.execute(store.replace_stmt(reservations, ("reserved_at", "expires_at")), row)  # an expired hold too
        return _shown(item, expires_at, q, reviewer)


def release(store: ReviewStore, item_id: str, reviewer: str) -> bool:
    """Skip: give the item back (the reviewer's reservation ends). Returns whether one was held."""
    with store.write() as conn:
        result = conn.execute(RELEASE, {"item_id": item_id, "reviewer": reviewer})
    return result.rowcount > 0


__all__ = ["next_item", "release"]
