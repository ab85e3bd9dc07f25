"""Submissions: storing what a reviewer sent, exactly as sent, and reading their submitted work back.

A first submission (`submit`) counts a review of the item and ends the reviewer's hold; an edit
(`revise`) is stored as the next revision, and earlier revisions stay as they were. Each step checks
access in a read transaction, then does its work in one short write transaction. The app's Submit
is `submit_and_next`: the submit and the next reservation in one write transaction, so a reviewer
takes the SQLite write lock once per item instead of twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, exists, select

from reviewdesk.errors import NotFound, ReviewConflict
from reviewdesk.review.access import item_access
from reviewdesk.review.drafts import Draft, DraftError, stored_parts
from reviewdesk.review.lookups import (
    ITEM_STATE_COLUMNS,
    LATEST,
    item_row,
    latest_submission,
    live_others,
    no_item,
    one,
)
from reviewdesk.review.monitoring import check_gold_answer
from reviewdesk.review.qualification import live_refusal, refusal
from reviewdesk.review.reservations import RELEASE, Busy, reserve_next, reserve_next_retrying
from reviewdesk.review.units import per_step_problems
from reviewdesk.stores.review_schema import items, reservations, submissions
from reviewdesk.stores.reviewstore import ReviewStore, canonical


@dataclass(frozen=True)
class SubmitResult:
    """The stored submission: `duplicate` is True when it was stored before and nothing was added."""

    submission_id: int
    revision: int
    duplicate: bool


_P = bindparam
_held = reservations.alias("held")
_HOLDS_OTHER = (  # whether the reviewer holds another item live: if not, `submit_and_next` need not look for it
    exists()
    .where(_held.c.reviewer == _P("reviewer"), _held.c.item_id != items.c.item_id, _held.c.expires_at > _P("now"))
    .label("holds_other")
)
_SUBMIT_STATE = (  # what submit needs of the item plus the reviewer's reservation of it (NULLs without one)
    select(*ITEM_STATE_COLUMNS, reservations.c.reserved_at, reservations.c.expires_at, _HOLDS_OTHER)
    .select_from(
        items.outerjoin(
            reservations, and_(reservations.c.item_id == items.c.item_id, reservations.c.reviewer == _P("reviewer"))
        )
    )
    .where(items.c.item_id == _P("item_id"))
    .with_for_update(of=items)  # PostgreSQL locks the item row only (not the outer join's nullable side)
)
_COUNT_REVIEW = items.update().where(items.c.item_id == _P("b_item_id")).values(reviews_done=items.c.reviews_done + 1)


def _submission_row(
    item: Mapping[str, Any],
    reviewer: str,
    revision: int,
    draft: Draft,
    suggestion_shown: bool | None,
    shown_at: datetime | None,
    now: datetime,
    outcomes: Mapping[str, str] | None = None,
) -> dict:
    answers, flags = stored_parts(draft)
    return {
        "item_id": item["item_id"],
        "reviewer": reviewer,
        "revision": revision,
        "answers": answers,
        "comment": draft.comment,
        "correction": draft.correction,
        "flags": flags,
        "suggestion_shown": bool(suggestion_shown),
        "suggestion_outcomes": dict(outcomes) if outcomes else None,
        "rubric_version": item["rubric_version"],
        "shown_at": shown_at,
        "submitted_at": now,
    }


def check_step_answers(store: ReviewStore, conn: Connection, q: Mapping[str, Any], item_id: str, draft: Draft) -> None:
    """Refuse (DraftError, before anything is stored) per-step answers that do not fit the item: a per-step
    criterion's answer against the trace's or session's steps, each value as a plain answer; an item of
    one run accepts no per-step answer. Unanswered criteria (a flag instead of a rating) and plain answers
    are left to collect, which keeps a rejected one."""
    answers = draft.answers if isinstance(draft.answers, Mapping) else {}
    if (q.get("config") or {}).get("unit", "run") == "run":
        problems = [f"{k}: a per-step answer, but this item is one run (not a trace or session)"
                    for k, v in answers.items() if isinstance(v, Mapping)]  # fmt: skip
    else:
        row = one(conn, select(items.c.payload, items.c.rubric_version).where(items.c.item_id == _P("i")), i=item_id)
        rubric = store.rubric(q["name"], row["rubric_version"], conn) if row else None
        given = [c for c in (rubric or {}).get("criteria", []) if answers.get(c["key"]) is not None]
        problems = per_step_problems(given, row["payload"], answers) if rubric else []
    if problems:
        raise DraftError(
            f"Your answer was not stored: {'; '.join(problems)}. Answer each step listed, then submit again."
        )


def submit(store: ReviewStore, item_id: str, reviewer: str, draft: Draft, now: datetime | None = None) -> SubmitResult:
    """Store a reviewer's first submission of an item, exactly as sent, and end their reservation.

    A second submit of the same item by the same reviewer (two tabs, a double click) stores
    nothing and returns the stored one with `duplicate=True`; use `revise` to change it. Without a
    live reservation the item must still have room. `shown_at` defaults to when it was reserved.
    Answers are not validated here (the collect stage does that, and keeps a rejected submission);
    a draft whose answers or flags cannot be stored at all raises DraftError before anything is stored.
    In a queue with `training`, a reviewer not qualified is refused (`NotQualified`): training answers go
    to `reviewdesk.review.training.answer_training`, never here.
    """
    now = now or datetime.now(UTC)
    with store.read() as conn:  # an item's queue never changes: check access before the write lock
        q, user = item_access(conn, item_id, reviewer)
        check_step_answers(store, conn, q, item_id, draft)
    with store.write() as conn:
        return _store_submission(store, conn, q, user, item_id, draft, now)[0]


def submit_and_next(
    store: ReviewStore,
    item_id: str,
    reviewer: str,
    draft: Draft,
    now: datetime | None = None,
    exclude: Iterable[str] = (),
) -> tuple[SubmitResult, dict | None]:
    """`submit`, then `next_item` in the item's queue, in one write transaction: the app's Submit.

    Returns the submit's result and the next item reserved for `reviewer` (None when none is left
    for them), exactly as the two calls would, with the same checks and guarantees; it only takes
    the write lock once instead of twice. A refused submit (`ReviewConflict`, `AccessDenied`,
    `NotFound`) raises before anything is stored or reserved: call `next_item` to move on. A paused queue
    stores the answer and reserves nothing (None). After a
    duplicate submit the reviewer gets their live hold again (the item the first submit moved to).
    `exclude` is as for `next_item`. A reviewer this answer sent back to training (monitoring) gets None:
    `next_item` then gives them a training item.
    """
    now, exclude = now or datetime.now(UTC), list(exclude)
    with store.read() as conn:  # an item's queue never changes: check access before the write lock
        q, user = item_access(conn, item_id, reviewer)
        check_step_answers(store, conn, q, item_id, draft)
    with store.write() as conn:
        result, holds_other = _store_submission(store, conn, q, user, item_id, draft, now)
        live = q["paused_at"] is None and live_refusal(conn, q, user) is None
        got = reserve_next(store, conn, q, reviewer, now, exclude, holds=holds_other) if live else None
    if isinstance(got, Busy):  # PostgreSQL: retry once this transaction no longer holds the submitted item
        got = reserve_next_retrying(store, q, reviewer, now, exclude)
    return result, got


def _store_submission(
    store: ReviewStore,
    conn: Connection,
    q: Mapping[str, Any],
    user: Mapping[str, Any],
    item_id: str,
    draft: Draft,
    now: datetime,
) -> tuple[SubmitResult, bool]:
    """`submit`'s work in the write transaction `conn`, access to queue row `q` already checked for `user`;
    also whether the reviewer holds another item live."""
    reviewer = user["name"]
    item = one(conn, _SUBMIT_STATE, item_id=item_id, reviewer=reviewer, now=now)
    if item is None:
        raise no_item(item_id)
    if (unqualified := live_refusal(conn, q, user)) is not None:
        raise refusal(q["name"], unqualified)
    mine = item if item["reserved_at"] is not None else None  # the reviewer's reservation of it
    full = item["reviews_done"] >= item["reviewers_needed"]
    if not full and (mine is None or mine["expires_at"] <= now):
        full = item["reviews_done"] + live_others(conn, item_id, reviewer, now) >= item["reviewers_needed"]
    if full:
        if (latest := latest_submission(conn, item_id, reviewer)) is not None:
            return SubmitResult(latest["submission_id"], latest["revision"], duplicate=True), item["holds_other"]
        raise ReviewConflict(
            f"Item {item_id} already has enough reviews ({item['reviewers_needed']}), counting the reviewers "
            "holding it: your answer was not stored; take the next item."
        )
    shown_at = draft.shown_at
    if shown_at is None and mine is not None:
        shown_at = mine["reserved_at"]
    row = _submission_row(item, reviewer, 1, draft, draft.suggestion_shown, shown_at, now, draft.suggestion_outcomes)
    inserted = conn.execute(store.insert_ignore_stmt(submissions), row)
    if inserted.rowcount == 0:  # revision 1 exists: a double submit
        latest = latest_submission(conn, item_id, reviewer)
        return SubmitResult(latest["submission_id"], latest["revision"], duplicate=True), item["holds_other"]
    submission_id = inserted.inserted_primary_key[0]
    conn.execute(_COUNT_REVIEW, {"b_item_id": item_id})
    if mine is not None:
        conn.execute(RELEASE, {"item_id": item_id, "reviewer": reviewer})
    if item["is_gold"]:
        check_gold_answer(store, conn, q, reviewer, now)
    return SubmitResult(submission_id, 1, duplicate=False), item["holds_other"]


def revise(store: ReviewStore, item_id: str, reviewer: str, draft: Draft, now: datetime | None = None) -> SubmitResult:
    """Store an edit of a submitted review as the next revision; earlier revisions stay as they were.

    An edit identical to the latest revision (a double click) adds nothing: `duplicate=True`.
    The draft's `suggestion_shown` and `suggestion_outcomes` default to the latest revision's.
    """
    now = now or datetime.now(UTC)
    with store.write() as conn:
        q, _ = item_access(conn, item_id, reviewer)
        item = item_row(conn, item_id, lock=True)
        check_step_answers(store, conn, q, item_id, draft)
        latest = latest_submission(conn, item_id, reviewer)
        if latest is None:
            raise NotFound(f"{reviewer!r} has not submitted item {item_id} yet: submit it first, then edit it.")
        shown = latest["suggestion_shown"] if draft.suggestion_shown is None else draft.suggestion_shown
        outcomes = latest["suggestion_outcomes"] if draft.suggestion_outcomes is None else draft.suggestion_outcomes
        row = _submission_row(item, reviewer, latest["revision"] + 1, draft, shown, draft.shown_at, now, outcomes)
        same = ("answers", "comment", "correction", "flags")
        if all(canonical(row[k]) == canonical(latest[k]) for k in same):
            return SubmitResult(latest["submission_id"], latest["revision"], duplicate=True)
        submission_id = conn.execute(submissions.insert().values(**row)).inserted_primary_key[0]
    return SubmitResult(submission_id, row["revision"], duplicate=False)


def item_submissions(store: ReviewStore, item_id: str, reviewer: str | None = None) -> list[dict]:
    """Every stored submission of an item (or of one reviewer's), oldest first, all revisions."""
    query = select(submissions).where(submissions.c.item_id == item_id)
    if reviewer is not None:
        query = query.where(submissions.c.reviewer == reviewer)
    with store.read() as conn:
        return [dict(r) for r in conn.execute(query.order_by(submissions.c.submission_id)).mappings()]


def my_submissions(store: ReviewStore, reviewer: str, queue: str, limit: int = 50) -> list[dict]:
    """The latest revision of each item `reviewer` submitted in `queue`, newest first, with the item
    (its runs and kind) but never its gold answer, so they can look back and edit it."""
    query = (
        select(submissions, items.c.queue, items.c.kind, items.c.position, items.c.batch_id, items.c.payload)
        .add_columns(items.c.run_id, items.c.run_a, items.c.run_b, items.c.left_run_id)
        .join(items, items.c.item_id == submissions.c.item_id)
        .where(submissions.c.reviewer == reviewer, items.c.queue == queue, LATEST)
        .order_by(submissions.c.submitted_at.desc(), submissions.c.submission_id.desc())
        .limit(limit)
    )
    with store.read() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


__all__ = [
    "SubmitResult",
    "check_step_answers",
    "item_submissions",
    "my_submissions",
    "revise",
    "submit",
    "submit_and_next",
]
