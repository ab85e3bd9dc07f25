"""Who may review which queue, and whether a queue hands out work: grants and pauses.

A reviewer may review a queue while their account is active and they hold a grant of it. Leads and
admins grant and revoke (the Users page, `reviewdesk users grant/revoke`); the queue file's `assignees`
seed the grants only when the queue is first published (`ReviewStore.save_queue`), so a queue whose
file names nobody is granted to nobody until someone grants it. Leads and admins need no grant.
Every review step checks access before it reserves or stores anything, so a revoke takes effect on
the reviewer's next action; revoking also ends the reservations they hold in the queue.

A paused queue publishes nothing (`reviewdesk.review.backlog`) and hands out no items, to anyone;
answers to items already held are still stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, exists, select

from reviewdesk.errors import AccessDenied, ConfigError, NotFound, ReviewConflict
from reviewdesk.review.lookups import ITEM_COLUMNS, no_item, no_queue, one, queue_row, readable_item
from reviewdesk.review.oversight import progress
from reviewdesk.review.roles import PRIVILEGED
from reviewdesk.stores.payloads import UnreadablePayload
from reviewdesk.stores.review_schema import items, queue_grants, queues, reservations, submissions, users
from reviewdesk.stores.reviewstore import ReviewStore
from schemas.queue import NAME

_USER = select(users).where(users.c.name == bindparam("reviewer"))
_GRANTED = select(queue_grants.c.queue).where(
    queue_grants.c.queue == bindparam("queue"), queue_grants.c.reviewer == bindparam("reviewer")
)
# An item's queue row, the reviewer's user row (columns prefixed user_) and whether they hold a grant of
# the queue, in one statement: the checks before each submit, one round trip on PostgreSQL instead of four.
_USER_PREFIX = "user_"
_ITEM_ACCESS = (
    select(items.c.queue.label("item_queue"), *queues.c, *(c.label(_USER_PREFIX + c.name) for c in users.c))
    .add_columns(
        exists()
        .where(queue_grants.c.queue == items.c.queue, queue_grants.c.reviewer == bindparam("reviewer"))
        .label("granted")
    )
    .select_from(
        items.outerjoin(queues, queues.c.name == items.c.queue).outerjoin(users, users.c.name == bindparam("reviewer"))
    )
    .where(items.c.item_id == bindparam("item_id"))
)


def _active(user: Mapping[str, Any] | None, name: str) -> dict:
    """The user row of `name`, refused when there is none or the account is disabled."""
    if user is None:
        raise AccessDenied(f"No user {name!r}: an admin adds reviewers with `accounts.add_user`.")
    if user["disabled"]:
        raise AccessDenied(f"User {name!r} is disabled: ask an admin to enable the account.")
    return dict(user)


def _active_user(conn: Connection, name: str) -> dict:
    return _active(one(conn, _USER, reviewer=name), name)


def _admitted(user: dict, queue: str, granted: bool) -> dict:
    """The active user, refused unless a lead or admin or granted the queue."""
    if user["role"] not in PRIVILEGED and not granted:
        raise AccessDenied(
            f"Queue {queue!r} is not granted to {user['name']!r}: ask a lead to grant it to you on the "
            "Users page, or pick one of your queues."
        )
    return user


def check_access(conn: Connection, queue: Mapping[str, Any], reviewer: str) -> dict:
    """Refuse unknown or disabled users, and reviewers holding no grant of the queue (its row); returns the user."""
    user = _active_user(conn, reviewer)
    granted = user["role"] in PRIVILEGED or (
        conn.execute(_GRANTED, {"queue": queue["name"], "reviewer": reviewer}).first() is not None
    )
    return _admitted(user, queue["name"], granted)


def item_access(conn: Connection, item_id: str, reviewer: str) -> tuple[dict, dict]:
    """The row of the item's queue and `reviewer`'s user row, refused as `check_access` refuses; NotFound
    for an item (or its queue) the store does not have."""
    row = one(conn, _ITEM_ACCESS, item_id=item_id, reviewer=reviewer)
    if row is None:
        raise no_item(item_id)
    if row["name"] is None:
        raise no_queue(row["item_queue"])
    queue = {c.name: row[c.name] for c in queues.c}
    user = None if row[_USER_PREFIX + "name"] is None else {c.name: row[_USER_PREFIX + c.name] for c in users.c}
    return queue, _admitted(_active(user, reviewer), queue["name"], row["granted"])


def require_lead(conn: Connection, name: str, action: str) -> None:
    """Refuse `action` (e.g. "adjudicate") unless `name` is an active lead or admin."""
    user = one(conn, _USER, reviewer=name)
    if user is None or user["disabled"] or user["role"] not in PRIVILEGED:
        raise AccessDenied(f"Only an active lead or admin may {action}; {name!r} is not one.")


def check_open(queue: Mapping[str, Any]) -> None:
    """Refuse to hand out items of a paused queue (its row)."""
    if queue["paused_at"] is not None:
        raise ReviewConflict(
            f"Queue {queue['name']!r} is paused by {queue['paused_by']}: no items are handed out until a lead "
            "resumes it. Pick another queue."
        )


def allowed_queues(store: ReviewStore, reviewer: str) -> list[dict]:
    """The published queues (their rows) `reviewer` may review, by name, paused ones included."""
    with store.read() as conn:
        try:
            user = _active_user(conn, reviewer)
        except AccessDenied:
            return []
        query = select(queues).order_by(queues.c.name)
        if user["role"] not in PRIVILEGED:
            query = query.where(
                exists().where(queue_grants.c.queue == queues.c.name, queue_grants.c.reviewer == reviewer)
            )
        return [dict(r) for r in conn.execute(query).mappings()]


def my_queues(store: ReviewStore, reviewer: str) -> list[dict]:
    """The published queues `reviewer` may review, with their instructions, progress and whether paused."""
    return [
        {
            "name": row["name"],
            "kind": row["kind"],
            "description": row["description"],
            "instructions": (row["config"] or {}).get("rubric", {}).get("instructions", ""),
            "paused": row["paused_at"] is not None,
            "progress": progress(store, row["name"], reviewer),
        }
        for row in allowed_queues(store, reviewer)
    ]


def check_queue_name(queue: str) -> None:
    """Refuse what cannot be a queue's name (a grant may name a queue before its first batch)."""
    if not isinstance(queue, str) or re.fullmatch(NAME, queue) is None:
        raise ConfigError(f"{queue!r} is not a queue name: lowercase letters, digits, - and _ (see `queues list`).")


def grant(store: ReviewStore, queue: str, reviewer: str, by: str, now: datetime | None = None) -> bool:
    """Let `reviewer` review `queue` (published or not yet); returns whether the grant is new."""
    check_queue_name(queue)
    with store.write() as conn:
        user = one(conn, _USER, reviewer=reviewer)
        if user is None:
            raise NotFound(f"No user {reviewer!r}: add the account first (`reviewdesk users add`).")
        if user["role"] in PRIVILEGED:
            raise ConfigError(f"{reviewer!r} is a {user['role']} and may review every queue: no grant is needed.")
        if conn.execute(_GRANTED, {"queue": queue, "reviewer": reviewer}).first() is not None:
            return False
        row = {"queue": queue, "reviewer": reviewer, "granted_by": by, "granted_at": now or datetime.now(UTC)}
        conn.execute(store.insert_ignore_stmt(queue_grants), row)  # a grant made meanwhile stays as it is
        return True


def revoke(store: ReviewStore, queue: str, reviewer: str) -> bool:
    """Take `queue` away from `reviewer`, ending their holds in it; returns whether they had a grant."""
    with store.write() as conn:
        gone = conn.execute(
            queue_grants.delete().where(queue_grants.c.queue == queue, queue_grants.c.reviewer == reviewer)
        ).rowcount
        in_queue = select(items.c.item_id).where(items.c.queue == queue)
        conn.execute(reservations.delete().where(reservations.c.reviewer == reviewer,
                                                 reservations.c.item_id.in_(in_queue)))  # fmt: skip
    return gone > 0


def grants(store: ReviewStore) -> dict[str, list[str]]:
    """Every queue with a grant -> the reviewers granted it, by name."""
    g = queue_grants.c
    query = select(g.queue, g.reviewer).order_by(g.queue, g.reviewer)
    out: dict[str, list[str]] = {}
    with store.read() as conn:
        for queue, reviewer in conn.execute(query):
            out.setdefault(queue, []).append(reviewer)
    return out


def set_paused(store: ReviewStore, queue: str, paused: bool, by: str, now: datetime | None = None) -> None:
    """Pause a published queue (it publishes nothing and hands out no items), or resume it."""
    with store.write() as conn:
        queue_row(conn, queue)
        at, who = (now or datetime.now(UTC), by) if paused else (None, None)
        conn.execute(queues.update().where(queues.c.name == queue).values(paused_at=at, paused_by=who))


def view_item(store: ReviewStore, item_id: str, viewer: str) -> dict:
    """An item to look at, read-only (its JSON parsed; no gold answer unless a lead or admin asks).

    Leads and admins may view any item; a reviewer one of a queue granted to them, or one they submitted.
    """
    with store.read() as conn:
        user = _active_user(conn, viewer)
        row = one(conn, select(*ITEM_COLUMNS).where(items.c.item_id == bindparam("item_id")), item_id=item_id)
        if row is None:
            raise NotFound(f"No item {item_id!r} in the review store.")
        if user["role"] not in PRIVILEGED:
            reviewed = select(submissions.c.item_id).where(
                submissions.c.item_id == item_id, submissions.c.reviewer == viewer
            )
            if conn.execute(reviewed).first() is None:
                check_access(conn, queue_row(conn, row["queue"]), viewer)
    try:
        item = readable_item(row)
    except UnreadablePayload as e:
        raise ReviewConflict(f"Item {item_id} cannot be shown: {e}. Its reviews and flags still count.") from None
    if user["role"] not in PRIVILEGED:
        item["gold_answer"] = item["is_gold"] = item["suggestions"] = None  # blind, as on the Review page
    return item


__all__ = [
    "allowed_queues",
    "check_access",
    "check_open",
    "check_queue_name",
    "grant",
    "grants",
    "item_access",
    "my_queues",
    "require_lead",
    "revoke",
    "set_paused",
    "view_item",
]  # fmt: skip
