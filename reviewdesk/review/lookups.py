"""The rows every review step starts from: a queue, an item, a reviewer's latest submission of it,
and the live holds of others; each lookup says what to do when its row is missing, and an item's
JSON is parsed only where a payload that cannot be read can be set aside.

Shared by access, reservations, submissions and the suggestion reveal. The statements are built
once at import: reservations and submissions run them under the write lock, where building a
statement anew costs more than running it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, Text, and_, bindparam, cast, exists, func, select

from reviewdesk.errors import NotFound
from reviewdesk.stores.payloads import UnreadablePayload, read_json
from reviewdesk.stores.review_schema import items, queues, reservations, submissions

_P = bindparam
_QUEUE = select(queues).where(queues.c.name == _P("queue"))
# An item's columns with the JSON ones (payload, suggestions, gold answer) read as text, so that a
# payload the driver could not parse fails no statement: `readable_item` parses them, and says why not.
_JSON_COLUMNS = tuple(c.name for c in items.c if isinstance(c.type, JSON))
ITEM_COLUMNS = tuple(cast(c, Text).label(c.name) if c.name in _JSON_COLUMNS else c for c in items.c)
_ITEM = select(*ITEM_COLUMNS).where(items.c.item_id == _P("item_id"))
_ITEM_QUEUE = select(items.c.queue).where(items.c.item_id == _P("item_id"))
# What a submission needs of an item, without parsing its payload under the write lock.
ITEM_STATE_COLUMNS = (items.c.item_id, items.c.queue, items.c.rubric_version, items.c.reviews_done,
                      items.c.reviewers_needed, items.c.is_gold)  # fmt: skip
_ITEM_STATE = (
    select(*ITEM_STATE_COLUMNS)
    .where(items.c.item_id == _P("item_id"))
    .with_for_update()  # PostgreSQL: serialise submits of one item; SQLite ignores it
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
# The condition that picks the current (latest) revision of each item and reviewer: an edit is stored
# as a new revision, and earlier ones stay as they were.
_later = submissions.alias("later")
LATEST = ~exists().where(
    and_(
        _later.c.item_id == submissions.c.item_id,
        _later.c.reviewer == submissions.c.reviewer,
        _later.c.revision > submissions.c.revision,
    )
)


def one(conn: Connection, stmt: Any, **params: Any) -> dict | None:
    """The first row of `stmt` run with `params`, as a dict, or None."""
    row = conn.execute(stmt, params).mappings().first()
    return dict(row) if row else None


def no_item(item_id: str) -> NotFound:
    """The error for an item the store does not have."""
    return NotFound(f"No item {item_id!r} in the review store: it may belong to a batch not yet published.")


def no_queue(name: str) -> NotFound:
    """The error for a queue never published."""
    return NotFound(f"No queue {name!r} in the review store: publish a batch of it first (`reviewdesk publish`).")


def queue_row(conn: Connection, name: str) -> dict:
    """The published queue's row; NotFound when it was never published."""
    row = one(conn, _QUEUE, queue=name)
    if row is None:
        raise no_queue(name)
    return row


def item_row(conn: Connection, item_id: str, lock: bool = False) -> dict:
    """The item's row, JSON columns as text (see `readable_item`); with `lock`, only the columns a
    submission needs, row-locked on PostgreSQL."""
    row = one(conn, _ITEM_STATE if lock else _ITEM, item_id=item_id)
    if row is None:
        raise no_item(item_id)
    return row


def readable_item(row: dict) -> dict:
    """An item row read with `ITEM_COLUMNS`, its JSON columns parsed; `UnreadablePayload` saying which
    and why when one cannot be, or when the payload holds no `runs` object to show."""
    out = dict(row)
    for name in _JSON_COLUMNS:
        try:
            out[name] = read_json(row[name])
        except UnreadablePayload as e:
            raise UnreadablePayload(f"{name} cannot be read: {e}") from None
    if not isinstance(out["payload"], dict) or not isinstance(out["payload"].get("runs"), dict):
        raise UnreadablePayload("payload holds no runs object to show")
    return out


def item_queue(conn: Connection, item_id: str) -> str:
    """The name of the queue the item belongs to (it never changes)."""
    queue = conn.scalar(_ITEM_QUEUE, {"item_id": item_id})
    if queue is None:
        raise no_item(item_id)
    return queue


def live_others(conn: Connection, item_id: str, reviewer: str, now: datetime) -> int:
    """How many reviewers other than `reviewer` hold the item at `now`."""
    return conn.scalar(_LIVE_OTHERS, {"item_id": item_id, "reviewer": reviewer, "now": now})


def latest_submission(conn: Connection, item_id: str, reviewer: str) -> dict | None:
    """The reviewer's latest revision of the item, or None when they have not submitted it."""
    return one(conn, _LATEST, item_id=item_id, reviewer=reviewer)


__all__ = [
    "ITEM_COLUMNS",
    "ITEM_STATE_COLUMNS",
    "LATEST",
    "item_queue",
    "item_row",
    "latest_submission",
    "live_others",
    "no_item",
    "no_queue",
    "one",
    "queue_row",
    "readable_item",
]
