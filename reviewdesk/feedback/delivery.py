"""Push a queue's verdicts to a tracing tool: each once, changed ones again, failures retried and recorded.

`warehouse.feedback_pushes` is the watermark, kept per verdict and target: `sent_hash` is the hash of
what the tool holds. A verdict whose hash equals it is not sent again; a new or changed one is sent
under its deterministic id, so the tool creates it or updates the one it has (never a second). Each
verdict's outcome is written as soon as it is known, so a push cut short sends again only what it
had not recorded (under the same id: an update, not a duplicate). A failure that may pass (a
connection error, a timeout, a rate limit, a server error) is retried with exponential backoff, then
recorded with its attempts and error, and the next push tries it again; a refusal is recorded at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from reviewdesk.feedback.contracts import Delivery, PushFailed, Target, Verdict
from reviewdesk.feedback.verdicts import queue_verdicts
from reviewdesk.stores.warehouse import Warehouse

ATTEMPTS = 4
BACKOFF_SECONDS = 0.5  # then 1, 2, ...: doubled after each failed attempt


@dataclass
class PushResult:
    """What one push of a queue to a target did, per verdict."""

    queue: str
    target: str
    verdicts: int = 0
    created: int = 0  # delivered for the first time
    updated: int = 0  # delivered again because the consensus changed
    unchanged: int = 0  # the tool already holds them
    failed: int = 0
    unaddressable: int = 0  # runs the tool cannot hold feedback on (their ids are not its ids)
    runs_gone: int = 0  # trusted labels not sent: their run (an item's, or a step's) is no longer in the warehouse
    failures: list[dict[str, Any]] = field(default_factory=list)  # per failed verdict: ids, attempts, error

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Row:
    value_hash: str
    sent_hash: str | None
    status: str
    attempts: int
    first_attempt_at: datetime | None


def _recorded(wh: Warehouse, target: str, queue: str) -> dict[str, _Row]:
    rows = wh.execute(
        """SELECT feedback_id, value_hash, sent_hash, status, attempts, first_attempt_at FROM feedback_pushes
           WHERE target = ? AND queue = ?""",
        [target, queue],
    )
    return {r[0]: _Row(*r[1:]) for r in rows}


def _record(wh: Warehouse, target: str, v: Verdict, status: str, sent_hash: str | None, attempts: int,
            error: str | None, first_attempt_at: datetime | None, now: datetime) -> None:  # fmt: skip
    wh.execute(
        """INSERT OR REPLACE INTO feedback_pushes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [target, v.id, v.queue, v.item_id, v.criterion, v.run.run_id, v.value_hash, sent_hash, status, attempts,
         error, first_attempt_at, now],
    )  # fmt: skip


def _send(target: Target, v: Verdict, delivery: Delivery, attempts: int, backoff: float,
          sleep: Callable[[float], None]) -> tuple[int, PushFailed | None]:  # fmt: skip
    """Send with retries; the attempts made and the last failure (None once it went through)."""
    for attempt in range(1, attempts + 1):
        try:
            target.send(v, delivery)
            return attempt, None
        except PushFailed as e:
            if not e.retry or attempt == attempts:
                return attempt, e
            sleep(backoff * 2 ** (attempt - 1))
    raise AssertionError("unreachable: attempts >= 1")


def push_feedback(
    wh: Warehouse,
    queue: str,
    target: Target,
    app_url: str,
    attempts: int = ATTEMPTS,
    backoff: float = BACKOFF_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    now: datetime | None = None,
) -> PushResult:
    """Send the queue's new and changed trusted consensus labels to `target`; record each outcome."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    now = now or datetime.now(UTC)
    result = PushResult(queue, target.name)
    recorded = _recorded(wh, target.name, queue)
    verdicts, result.runs_gone = queue_verdicts(wh, queue, app_url)
    for v in verdicts:
        result.verdicts += 1
        row = recorded.get(v.id)
        if (reason := target.address(v.run)) is not None:
            result.unaddressable += 1
            if row is None or row.value_hash != v.value_hash:
                _record(wh, target.name, v, "unaddressable", None, 0, reason, None, now)
            continue
        if row is not None and row.sent_hash == v.value_hash:
            result.unchanged += 1
            continue
        first = row.first_attempt_at if row and row.first_attempt_at else now
        made, failure = _send(target, v, Delivery(row.sent_hash if row else None, first), attempts, backoff, sleep)
        before = row.attempts if row and row.status == "failed" and row.value_hash == v.value_hash else 0
        if failure is None:
            _record(wh, target.name, v, "sent", v.value_hash, before + made, None, first, now)
            if row is not None and row.sent_hash is not None:
                result.updated += 1
            else:
                result.created += 1
        else:
            _record(wh, target.name, v, "failed", row.sent_hash if row else None, before + made, str(failure),
                    first, now)  # fmt: skip
            result.failed += 1
            result.failures.append({"feedback_id": v.id, "item_id": v.item_id, "criterion": v.criterion,
                                    "run_id": v.run.run_id, "attempts": before + made,
                                    "error": str(failure)})  # fmt: skip
    return result


__all__ = ["ATTEMPTS", "BACKOFF_SECONDS", "PushResult", "push_feedback"]
