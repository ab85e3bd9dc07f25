"""Qualification: where a reviewer stands in a queue with `training`, and every change of it, recorded.

States: `training` (the first attempt), `qualified` (live items), `held` (failed an attempt: training
opens again at `retry_at`), `retraining` (retrying, or sent back by monitoring or a lead) and `paused`
(by a lead: no items at all until a lead acts). A reviewer without a row has not started (`new`). In a
queue with `training`, only qualified reviewers get or submit live items: `next_item` and `submit`
check `live_refusal` whatever the client. Leads and admins need no qualification.

Every change appends a `reviewer_events` row (who, why, when); a pause by monitoring is also a notice
that leads see until one marks it seen. Training items and answers are in `reviewdesk.review.training`,
live gold accuracy in `reviewdesk.review.monitoring`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from reviewdesk.errors import ConfigError, NotFound, ReviewConflict
from reviewdesk.review.access import require_lead
from reviewdesk.review.lookups import one, queue_row
from reviewdesk.review.roles import PRIVILEGED
from reviewdesk.stores.review_schema import items, queue_grants, reservations, reviewer_events, reviewer_states, users
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.values import as_text

STATES = ("new", "training", "qualified", "held", "retraining", "paused")
TRAINING_STATES = ("new", "training", "retraining")  # next_item hands these reviewers training items
EXPLANATION = "explanation"  # the gold answer's key for why it is right (unless a criterion has that key)

_P = bindparam
_STATE = select(reviewer_states).where(reviewer_states.c.queue == _P("queue"),
                                       reviewer_states.c.reviewer == _P("reviewer"))  # fmt: skip


class NotQualified(ReviewConflict):
    """Live items of a queue with training are refused to this reviewer; the message says what to do next."""

    def __init__(self, message: str, state: str, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.state = state
        self.retry_at = retry_at


@dataclass(frozen=True)
class Standing:
    """A reviewer's state in a queue with training (`new`: not started, with attempt 0)."""

    queue: str
    reviewer: str
    state: str
    attempt: int = 0
    training_items: int = 0  # the size of the current attempt
    retry_at: datetime | None = None
    since: datetime | None = None
    changed_by: str | None = None
    reason: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ReviewerEvent:
    """One recorded change of a reviewer's state: what happened, the state it led to, who, why and when."""

    event_id: int
    queue: str
    reviewer: str
    event: str
    state: str
    by: str
    reason: str
    at: datetime
    detail: dict | None
    notice: bool
    seen_by: str | None
    seen_at: datetime | None

    def as_dict(self) -> dict:
        return asdict(self)


def training_config(q: Mapping[str, Any]) -> dict | None:
    """The queue row's `training` block, or None when the queue has none."""
    return (q["config"] or {}).get("training")


def state_row(conn: Connection, queue: str, reviewer: str) -> dict | None:
    """The reviewer's `reviewer_states` row in the queue, or None before they start."""
    return one(conn, _STATE, queue=queue, reviewer=reviewer)


def live_refusal(conn: Connection, q: Mapping[str, Any], user: Mapping[str, Any]) -> dict | None:
    """None when `user` may have live items of queue row `q` (no training, a lead or admin, or qualified);
    otherwise their state row ({} before they start). At most one lookup, only in queues with training."""
    if training_config(q) is None or user["role"] in PRIVILEGED:
        return None
    row = state_row(conn, q["name"], user["name"])
    if row is not None and row["state"] == "qualified":
        return None
    return row or {}


def refusal(queue: str, row: Mapping[str, Any]) -> NotQualified:
    """Why a reviewer in state row `row` gets no live items of `queue`, and what to do next."""
    state = row.get("state") or "new"
    if state == "held":
        return NotQualified(f"You did not pass the training of {queue}; you may try again from "
                            f"{row['retry_at']:%Y-%m-%d %H:%M} UTC. Until then, pick another queue.", state,
                            row["retry_at"])  # fmt: skip
    if state == "paused":
        return NotQualified(f"{row['changed_by']} paused your reviewing in {queue}: {row['reason']}. Ask a lead to "
                            "qualify you again or to send you back to training.", state)  # fmt: skip
    return NotQualified(f"Queue {queue} needs its training first: answer its training items (the Review page gives "
                        "them); live items come once you qualify.", state)  # fmt: skip


def grade(answers: Mapping[str, Any], gold: Mapping[str, Any] | None, criteria: list[Mapping[str, Any]]) -> dict:
    """Per criterion the gold answer knows (text criteria aside): whether `answers` says the same."""
    gold = gold if isinstance(gold, Mapping) else {}
    keys = [c["key"] for c in criteria if c["type"] != "text" and c["key"] in gold]
    return {k: answers.get(k) is not None and as_text(answers.get(k)) == as_text(gold[k]) for k in keys}


def explanation(gold: Mapping[str, Any] | None, criteria: list[Mapping[str, Any]]) -> str | None:
    """The gold answer's `explanation` (why it is right), unless the rubric has a criterion of that name."""
    if not isinstance(gold, Mapping) or any(c["key"] == EXPLANATION for c in criteria):
        return None
    text = gold.get(EXPLANATION)
    return text if isinstance(text, str) and text.strip() else None


def change(
    store: ReviewStore,
    conn: Connection,
    queue: str,
    reviewer: str,
    state: str,
    event: str,
    by: str,
    reason: str,
    now: datetime,
    **extra: Any,
) -> dict:
    """Set the reviewer's state and append its event, in the caller's write transaction; returns the new row.

    `extra`: `attempt` (default: unchanged), `training_items` (default 0 on a new attempt, else unchanged),
    `retry_at`, `detail` and `notice` (a lead must see it)."""
    prev = state_row(conn, queue, reviewer) or {"attempt": 0, "training_items": 0}
    attempt = extra.get("attempt", prev["attempt"])
    size = extra.get("training_items", 0 if attempt != prev["attempt"] else prev["training_items"])
    row = {"queue": queue, "reviewer": reviewer, "state": state, "attempt": attempt, "training_items": size,
           "retry_at": extra.get("retry_at"), "since": now, "changed_by": by, "reason": reason}  # fmt: skip
    conn.execute(store.upsert_stmt(reviewer_states, row))
    conn.execute(reviewer_events.insert().values(
        queue=queue, reviewer=reviewer, event=event, state=state, by=by, reason=reason, at=now,
        detail=extra.get("detail"), notice=bool(extra.get("notice", False)),
    ))  # fmt: skip
    return row


def end_holds(conn: Connection, queue: str, reviewer: str) -> None:
    """End the reviewer's reservations in the queue (a pause: their held live items go to others)."""
    in_queue = select(items.c.item_id).where(items.c.queue == queue)
    conn.execute(reservations.delete().where(reservations.c.reviewer == reviewer, reservations.c.item_id.in_(in_queue)))


# -- a lead's actions: each with a reason, recorded --

_LEAD_ACTIONS = {  # action -> (state, event, what require_lead says)
    "qualify": ("qualified", "qualified_by_lead", "qualify reviewers"),
    "pause": ("paused", "paused_by_lead", "pause reviewers"),
    "send_back": ("retraining", "sent_back_by_lead", "send reviewers back to training"),
}


def lead_action(
    store: ReviewStore, action: str, queue: str, reviewer: str, by: str, reason: str, now: datetime | None = None
) -> Standing:
    """A lead's `qualify`, `pause` or `send_back` of a reviewer in a queue with training, with a reason."""
    state, event, words = _LEAD_ACTIONS[action]
    if not isinstance(reason, str) or not reason.strip():
        raise ConfigError(f"Say why (a reason is recorded with every change): e.g. {action} --reason '...'.")
    now = now or datetime.now(UTC)
    with store.write() as conn:
        require_lead(conn, by, words)
        q = queue_row(conn, queue)
        if training_config(q) is None:
            raise ConfigError(f"Queue {queue!r} has no `training` block: every granted reviewer gets live items.")
        role = conn.scalar(select(users.c.role).where(users.c.name == reviewer))
        if role is None:
            raise NotFound(f"No user {reviewer!r}: check the name on the Users page.")
        if role in PRIVILEGED:
            raise ConfigError(f"{reviewer!r} is a {role}: leads and admins need no qualification.")
        prev = state_row(conn, queue, reviewer) or {"attempt": 0}
        attempt = prev["attempt"] + 1 if action == "send_back" else prev["attempt"]
        row = change(store, conn, queue, reviewer, state, event, by, reason.strip(), now, attempt=attempt)
        if action != "qualify":
            end_holds(conn, queue, reviewer)
    return Standing(**row)


def qualify(
    store: ReviewStore, queue: str, reviewer: str, by: str, reason: str, now: datetime | None = None
) -> Standing:
    """A lead qualifies a reviewer by hand: live items from now on."""
    return lead_action(store, "qualify", queue, reviewer, by, reason, now)


def pause(store: ReviewStore, queue: str, reviewer: str, by: str, reason: str, now: datetime | None = None) -> Standing:
    """A lead pauses a reviewer: no items of the queue (their holds end) until a lead qualifies or sends them back."""
    return lead_action(store, "pause", queue, reviewer, by, reason, now)


def send_back(
    store: ReviewStore, queue: str, reviewer: str, by: str, reason: str, now: datetime | None = None
) -> Standing:
    """A lead sends a reviewer back to training: a new attempt starts with their next item."""
    return lead_action(store, "send_back", queue, reviewer, by, reason, now)


# -- reads, for the Reviewers page --


def standing(store: ReviewStore, queue: str, reviewer: str) -> Standing:
    """The reviewer's state in the queue (`new` before they start)."""
    with store.read() as conn:
        row = state_row(conn, queue, reviewer)
    return Standing(**row) if row else Standing(queue, reviewer, "new")


def standings(store: ReviewStore, queue: str) -> list[Standing]:
    """Every reviewer granted the queue or with a state in it, by name (`new`: not started)."""
    with store.read() as conn:
        rows = {
            r["reviewer"]: r
            for r in conn.execute(select(reviewer_states).where(reviewer_states.c.queue == queue)).mappings()
        }
        granted = set(conn.scalars(select(queue_grants.c.reviewer).where(queue_grants.c.queue == queue)))
    return [Standing(**rows[n]) if n in rows else Standing(queue, n, "new") for n in sorted(set(rows) | granted)]


def _event(row: Mapping[str, Any]) -> ReviewerEvent:
    return ReviewerEvent(**{k: row[k] for k in ReviewerEvent.__dataclass_fields__})


def reviewer_history(
    store: ReviewStore, queue: str | None = None, reviewer: str | None = None, notices: bool = False, limit: int = 500
) -> list[ReviewerEvent]:
    """Recorded state changes, newest first (optionally one queue, one reviewer; `notices`: unseen notices only)."""
    e = reviewer_events.c
    query = select(reviewer_events).order_by(e.event_id.desc()).limit(limit)
    if queue is not None:
        query = query.where(e.queue == queue)
    if reviewer is not None:
        query = query.where(e.reviewer == reviewer)
    if notices:
        query = query.where(e.notice.is_(True), e.seen_at.is_(None))
    with store.read() as conn:
        return [_event(r) for r in conn.execute(query).mappings()]


def lead_notices(store: ReviewStore, queue: str | None = None) -> list[ReviewerEvent]:
    """What leads must see and no lead has marked seen yet (reviewers paused by monitoring), newest first."""
    return reviewer_history(store, queue, notices=True)


def mark_seen(store: ReviewStore, event_id: int, by: str, now: datetime | None = None) -> bool:
    """A lead has read a notice; returns whether it was still unseen."""
    with store.write() as conn:
        require_lead(conn, by, "mark notices seen")
        done = conn.execute(reviewer_events.update()
                            .where(reviewer_events.c.event_id == event_id, reviewer_events.c.seen_at.is_(None))
                            .values(seen_by=by, seen_at=now or datetime.now(UTC)))  # fmt: skip
    return done.rowcount > 0


__all__ = [
    "STATES",
    "NotQualified",
    "ReviewerEvent",
    "Standing",
    "lead_notices",
    "mark_seen",
    "pause",
    "qualify",
    "reviewer_history",
    "send_back",
    "standing",
    "standings",
]
