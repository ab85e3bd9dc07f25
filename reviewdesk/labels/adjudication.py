"""Adjudication: items whose reviewers disagree wait in the review store for a lead's final answer.

The resolve step opens a case per item and required criterion in dispute; a lead sees every
reviewer's answer and comment (only leads and admins may, and the store checks it), and decides
with a reason. A decision is final and kept as made; the next resolve uses it as the consensus. A
lead routes a decision to product owners explicitly (`product_issue`): it then appears in the
queue's product-issues report (`reviewdesk.datasets.flagged`); what the reason says never decides that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from reviewdesk.errors import ConfigError, NotFound, ReviewConflict
from reviewdesk.review.access import require_lead
from reviewdesk.review.lookups import LATEST
from reviewdesk.stores.review_schema import adjudications, items, submissions
from reviewdesk.stores.reviewstore import ReviewStore


def open_cases(store: ReviewStore, cases: Iterable[Mapping[str, Any]], now: datetime | None = None) -> int:
    """Open a case per (item_id, criterion) with its `queue` and `why`; one already open or decided
    stays as it is. Returns how many were opened."""
    now = now or datetime.now(UTC)
    rows = [{**c, "opened_at": now} for c in cases]
    if not rows:
        return 0
    with store.write() as conn:
        # count the rows inserted by what they return: psycopg reports rowcount -1 for these inserts
        stmt = store.insert_ignore_stmt(adjudications).returning(adjudications.c.item_id)
        return len(conn.execute(stmt, rows).all())


def backlog(store: ReviewStore, queue: str | None = None) -> list[dict]:
    """Open cases, oldest first."""
    query = select(adjudications).where(adjudications.c.decided_at.is_(None))
    if queue is not None:
        query = query.where(adjudications.c.queue == queue)
    with store.read() as conn:
        rows = conn.execute(query.order_by(adjudications.c.opened_at, adjudications.c.item_id)).mappings()
        return [dict(r) for r in rows]


def case(store: ReviewStore, item_id: str, lead: str) -> dict:
    """What a lead needs to decide an item: the item (with its runs), its cases, and every
    reviewer's latest submission with comments, corrections and flags."""
    with store.read() as conn:
        require_lead(conn, lead, "adjudicate")
        item = conn.execute(select(items).where(items.c.item_id == item_id)).mappings().first()
        if item is None:
            raise NotFound(f"No item {item_id!r} in the review store.")
        cases = conn.execute(select(adjudications).where(adjudications.c.item_id == item_id)).mappings().all()
        answers = conn.execute(
            select(submissions).where(submissions.c.item_id == item_id, LATEST).order_by(submissions.c.reviewer)
        ).mappings()
        return {"item": dict(item), "cases": [dict(c) for c in cases], "submissions": [dict(a) for a in answers]}


def decide(
    store: ReviewStore,
    item_id: str,
    criterion: str,
    value: Any,
    reason: str,
    lead: str,
    now: datetime | None = None,
    product_issue: bool = False,
) -> None:
    """Record a lead's final answer to an open case, with the reason for it; `product_issue` routes it
    to product owners (the product-issues report). A per-step criterion's answer is `{step run id: value}`."""
    if not reason or not reason.strip():
        raise ConfigError("Give a reason for the decision: other leads and the dataset lineage read it.")
    now = now or datetime.now(UTC)
    key = (adjudications.c.item_id == item_id) & (adjudications.c.criterion == criterion)
    with store.write() as conn:
        require_lead(conn, lead, "adjudicate")
        found = conn.execute(select(adjudications).where(key)).mappings().first()
        if found is None:
            raise NotFound(f"No adjudication case for item {item_id!r} and criterion {criterion!r}.")
        _check_step_decision(store, conn, item_id, criterion, value)
        if found["decided_at"] is not None:
            raise ReviewConflict(
                f"{criterion!r} of item {item_id} was already decided by {found['decided_by']}: "
                "the first decision stands."
            )
        conn.execute(
            adjudications.update()
            .where(key)
            .values(value=value, reason=reason.strip(), decided_by=lead, decided_at=now, product_issue=product_issue)
        )


def _check_step_decision(store: ReviewStore, conn: Any, item_id: str, criterion: str, value: Any) -> None:
    """A per-step criterion's case is decided per step, as `{step run id: value}` (the steps in dispute)."""
    row = conn.execute(select(items.c.queue, items.c.rubric_version).where(items.c.item_id == item_id)).first()
    rubric = store.rubric(row[0], row[1], conn) if row else None
    c = next((c for c in (rubric or {}).get("criteria", []) if c.get("key") == criterion), None)
    if (
        c
        and c.get("per_step")
        and not (isinstance(value, Mapping) and value and all(isinstance(k, str) for k in value))
    ):
        raise ConfigError(
            f"{criterion!r} is answered per step: decide it as {{step run id: value}} for the steps in dispute "
            "(the case says which)."
        )


def decisions(store: ReviewStore, queue: str) -> dict[str, dict[str, Any]]:
    """Decided values of a queue: item_id -> {criterion: value}."""
    query = select(adjudications.c.item_id, adjudications.c.criterion, adjudications.c.value).where(
        adjudications.c.queue == queue, adjudications.c.decided_at.is_not(None)
    )
    out: dict[str, dict[str, Any]] = {}
    with store.read() as conn:
        for item_id, criterion, value in conn.execute(query):
            out.setdefault(item_id, {})[criterion] = value
    return out


__all__ = ["backlog", "case", "decide", "decisions", "open_cases"]
