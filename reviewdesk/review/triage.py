"""Triage of flags: a lead resolves each reviewer's flag on an item with a category and a note.

A flag is a reviewer's latest revision of an item carrying flags (`oversight.flagged_items`). Its
resolution says what it turned out to be; every category but `not an issue` keeps it in the queue's
product-issues report (`reviewdesk.datasets.flagged`), with the category and the lead's note. A
resolution can be changed later (the latest one counts); only leads and admins may resolve.
"""

from __future__ import annotations

from datetime import UTC, datetime

from reviewdesk.errors import ConfigError, NotFound
from reviewdesk.review.access import require_lead
from reviewdesk.review.lookups import latest_submission
from reviewdesk.stores.review_schema import flag_resolutions
from reviewdesk.stores.reviewstore import ReviewStore

CATEGORIES = ("product issue", "policy violation", "personal data", "broken run", "not an issue")
DISMISSED = "not an issue"  # the one category that leaves the product-issues report


def resolve_flag(
    store: ReviewStore, item_id: str, reviewer: str, category: str, note: str, lead: str, now: datetime | None = None
) -> None:
    """Resolve `reviewer`'s flag on an item as `category`, with a note saying what was done."""
    if category not in CATEGORIES:
        raise ConfigError(f"Unknown category {category!r}: use one of {', '.join(CATEGORIES)}.")
    if not note or not note.strip():
        raise ConfigError("Add a note: what the flag turned out to be, and what was done about it.")
    with store.write() as conn:
        require_lead(conn, lead, "resolve flags")
        latest = latest_submission(conn, item_id, reviewer)
        if latest is None or not latest["flags"]:
            raise NotFound(f"{reviewer!r} has no flag on item {item_id!r}: pick one from the Flagged items list.")
        row = {"item_id": item_id, "reviewer": reviewer, "category": category, "note": note.strip(),
               "resolved_by": lead, "resolved_at": now or datetime.now(UTC)}  # fmt: skip
        conn.execute(store.upsert_stmt(flag_resolutions, row))


def describe(resolution: dict | None) -> str:
    """A flag's resolution in words: "open", or the category, who resolved it, and their note."""
    if resolution is None:
        return "open"
    return f"{resolution['category']} ({resolution['resolved_by']}): {resolution['note']}"


__all__ = ["CATEGORIES", "DISMISSED", "describe", "resolve_flag"]
