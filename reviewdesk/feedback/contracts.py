"""What a push sends and what a target must do: the contracts every tracing tool's adapter follows.

A verdict is one trusted consensus label, addressed to one run: its id is a UUID5 of queue, item,
criterion and run, so every push of the same label names the same feedback in the tool, and its hash
covers everything sent, so a push can tell a changed consensus from an unchanged one. This module
imports nothing else of the package.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

NAMESPACE = uuid.UUID("5b0f3a7e-8c1d-4e55-9a3b-2d6f4c8e1a90")  # reviewdesk's feedback ids; never change it


def feedback_id(queue: str, item_id: str, criterion: str, run_id: str) -> str:
    """The feedback's id in every tool: the same label on the same run always gets the same one."""
    return str(uuid.uuid5(NAMESPACE, f"{queue}/{item_id}/{criterion}/{run_id}"))


@dataclass(frozen=True)
class Run:
    """Where a run lives in the tool it came from: its ids as ingested (a step's own, for a step's verdict).
    A child needs both: LangSmith feedback takes the run and its trace (the root's id), a Langfuse score the
    observation and its trace; a Phoenix annotation needs only the span id."""

    run_id: str
    trace_id: str | None
    project: str | None
    source_format: str


@dataclass(frozen=True)
class Verdict:
    """One trusted consensus label as feedback on one run: a category (`label`) and/or a `score`."""

    queue: str
    item_id: str
    criterion: str
    run: Run
    label: str | None  # the value as text (categorical options, "true"/"false", numbers as written)
    score: float | None  # numbers, numeric ordinal options, booleans (1/0); preference: 1, 0, or 0.5 for a tie
    kind: str  # NUMERIC | BOOLEAN | CATEGORICAL: how the value reads
    method: str
    confidence: float
    reviewers: int
    agreeing: int
    link: str  # the item in the review app
    id: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", feedback_id(self.queue, self.item_id, self.criterion, self.run.run_id))

    @property
    def comment(self) -> str:
        """The sentence shown beside the value in the tool."""
        return (f"reviewdesk consensus of queue {self.queue}: {self.method}, confidence {self.confidence:.2f} "
                f"({self.agreeing} of {self.reviewers} reviewers agree). Review: {self.link}")  # fmt: skip

    @property
    def metadata(self) -> dict[str, Any]:
        """Everything about the verdict as the tool's metadata, for filtering there."""
        return {"source": "reviewdesk", "queue": self.queue, "item_id": self.item_id, "criterion": self.criterion,
                "method": self.method, "confidence": self.confidence, "reviewers": self.reviewers,
                "agreeing": self.agreeing, "link": self.link}  # fmt: skip

    @property
    def value_hash(self) -> str:
        """A hash of everything sent: equal hashes mean the tool already holds this verdict."""
        sent = {k: v for k, v in asdict(self).items() if k != "id"}
        return hashlib.sha256(json.dumps(sent, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Delivery:
    """What the pushes table says about a verdict's pushes to a target so far."""

    sent_hash: str | None  # the hash the target holds; None if nothing was ever delivered
    first_attempt_at: datetime  # when it was first sent: its fixed timestamp (Langfuse updates by id and timestamp)

    @property
    def delivered(self) -> bool:
        """The target holds an earlier value of this verdict: update it."""
        return self.sent_hash is not None


class PushFailed(Exception):
    """A target refused or could not take a verdict; `retry` says whether trying again may help."""

    def __init__(self, message: str, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class Target(Protocol):
    """A tracing tool that verdicts are written back to."""

    name: str

    def address(self, run: Run) -> str | None:
        """Why this tool cannot hold feedback on `run` (its ids are not the tool's), or None if it can."""
        ...

    def send(self, verdict: Verdict, delivery: Delivery) -> None:
        """Create or update the verdict's feedback (by its id); raise PushFailed if that did not happen."""
        ...

    def close(self) -> None:
        """Release the client's connections."""
        ...


def transient_status(status: int | None) -> bool:
    """HTTP statuses worth retrying: none (the connection failed), timeouts, rate limits, server errors."""
    return status is None or status in (408, 425, 429) or status >= 500


__all__ = ["NAMESPACE", "Delivery", "PushFailed", "Run", "Target", "Verdict", "feedback_id", "transient_status"]
