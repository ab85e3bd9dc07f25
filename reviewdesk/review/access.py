"""Who may review which queue: leads and admins any, a reviewer those assigned to them.

A reviewer may review a queue when their account is active, the queue is among their `queues`
(or they have no list), and the queue's `assignees` name them (or it names nobody). Every review
step checks this before it reserves or stores anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, select

from reviewdesk.errors import AccessDenied
from reviewdesk.review.lookups import one
from reviewdesk.review.oversight import progress
from reviewdesk.review.roles import PRIVILEGED
from reviewdesk.stores.review_schema import queues, users
from reviewdesk.stores.reviewstore import ReviewStore

_USER = select(users).where(users.c.name == bindparam("reviewer"))


def check_access(conn: Connection, queue: Mapping[str, Any], reviewer: str) -> None:
    """Refuse unknown or disabled users, and reviewers the queue (its row) is not assigned to."""
    user = one(conn, _USER, reviewer=reviewer)
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


def allowed_queues(store: ReviewStore, reviewer: str) -> list[dict]:
    """The published queues (their rows) `reviewer` may review, by name."""
    with store.read() as conn:
        rows = [dict(r) for r in conn.execute(select(queues).order_by(queues.c.name)).mappings()]
        allowed = []
        for row in rows:
            try:
                check_access(conn, row, reviewer)
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


__all__ = ["allowed_queues", "check_access", "my_queues"]
