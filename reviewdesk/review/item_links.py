"""Item links: what opening an item by its id (the review app's `?item=ID`) shows to whom.

Every item has a link, so a reviewer can send a lead the one they are looking at. The item's holder
opens it to review it (a reload comes back to the same item). A lead or an admin opens any item read
only: its content and every reviewer's latest answer, no Submit. Anyone else is refused, so a link
never shows a reviewer another reviewer's work, nor an item they were not given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import bindparam, exists

from reviewdesk.errors import AccessDenied, NotFound
from reviewdesk.review.lookups import LATEST, item_row, no_item, readable_item
from reviewdesk.review.roles import PRIVILEGED
from reviewdesk.stores.payloads import UnreadablePayload
from reviewdesk.stores.review_schema import reservations, submissions
from reviewdesk.stores.reviewstore import ReviewStore

MAX_ID = 200  # longer than any item id publish makes: refused before the store is asked
_HELD_BY = exists().where(
    reservations.c.item_id == bindparam("item_id"),
    reservations.c.reviewer == bindparam("reviewer"),
    reservations.c.expires_at > bindparam("now"),
)


@dataclass(frozen=True)
class ItemLink:
    """An opened item: `review` when it is reserved for the user, else `read_only` (leads and admins)."""

    mode: Literal["review", "read_only"]
    queue: str
    item: dict = field(default_factory=dict)  # read_only: the item, payload parsed (review: empty, see next_item)
    answers: list[dict] = field(default_factory=list)  # read_only: each reviewer's latest revision


def open_item(store: ReviewStore, item_id: str, user: Mapping[str, Any], now: datetime | None = None) -> ItemLink:
    """What `user` (a user row: name, role) may see of item `item_id`; NotFound for an unknown id,
    AccessDenied for a reviewer who does not hold it."""
    now = now or datetime.now(UTC)
    if not item_id or len(item_id) > MAX_ID:
        raise no_item(item_id[:MAX_ID] + ("..." if len(item_id) > MAX_ID else ""))
    with store.read() as conn:
        row = item_row(conn, item_id)
        held = conn.scalar(_HELD_BY.select(), {"item_id": item_id, "reviewer": user["name"], "now": now})
        if held:
            return ItemLink("review", row["queue"])
        if user["role"] not in PRIVILEGED:
            raise AccessDenied(
                f"Item {item_id!r} is not reserved for you, so you cannot open it: only leads and admins open "
                "other items. Go on with your own queue."
            )
        query = submissions.select().where(submissions.c.item_id == item_id, LATEST).order_by(submissions.c.reviewer)
        answers = [dict(r) for r in conn.execute(query).mappings()]
    try:
        item = readable_item(row)
    except UnreadablePayload as e:  # the link still says what is wrong with the item
        raise NotFound(f"Item {item_id!r} cannot be shown: {e}") from None
    return ItemLink("read_only", row["queue"], item, answers)


__all__ = ["ItemLink", "open_item"]
