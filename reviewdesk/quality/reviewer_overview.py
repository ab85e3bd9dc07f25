"""Each reviewer of a queue at a glance, for the lead's Reviewers page: where they stand (training,
qualified, held, paused), their live gold accuracy against the queue's monitoring threshold, their work
and speed, the biases the latest quality report flags for them, and their gold accuracy per week.

Read from the review store alone (states and answers from the store, figures from the report snapshot
the flows saved there), so the app never opens the warehouse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from reviewdesk.quality.bias_flags import biases_flagged
from reviewdesk.quality.snapshot import latest
from reviewdesk.review.monitoring import live_gold_accuracy
from reviewdesk.review.oversight import reviewer_progress
from reviewdesk.review.qualification import Standing, standings, training_config
from reviewdesk.stores.reviewstore import ReviewStore

NO_TRAINING = "qualified"  # in a queue without `training` every granted reviewer reviews live items


@dataclass(frozen=True)
class ReviewerOverview:
    """One reviewer of one queue, as the Reviewers page lists them."""

    reviewer: str
    state: str  # a qualification state (`reviewdesk.review.qualification.STATES`)
    since: Any = None  # when they reached it (None: not started, or a queue without training)
    reason: str = ""  # why, as recorded
    retry_at: Any = None  # a held reviewer's next attempt
    items_done: int = 0
    median_seconds: float | None = None
    gold_accuracy: float | None = None  # over their monitoring window since they qualified
    gold_answers: int = 0  # gold items in that window
    min_accuracy: float | None = None  # the queue's monitoring threshold
    flags: list[dict] = field(default_factory=list)  # biases the latest report flags, with advice

    def as_dict(self) -> dict:
        return asdict(self)


def reviewer_overview(store: ReviewStore, queue: str) -> list[ReviewerOverview]:
    """Everyone who may review `queue` or has: their standing, work, live gold accuracy and flagged biases."""
    row = store.queue(queue)
    if row is None:
        return []
    trained = training_config(row) is not None
    states = {s.reviewer: s for s in standings(store, queue)}
    work = {p.reviewer: p for p in reviewer_progress(store, queue)}
    flags = biases_flagged(latest(store, queue))
    out = []
    for name in sorted(set(states) | set(work)):
        s = states.get(name) or Standing(queue, name, "new")
        p = work.get(name)
        gold = live_gold_accuracy(store, queue, name) if trained else None
        out.append(ReviewerOverview(
            reviewer=name, state=s.state if trained else NO_TRAINING, since=s.since if trained else None,
            reason=s.reason if trained else "", retry_at=s.retry_at if trained else None,
            items_done=p.items_done if p else 0, median_seconds=p.median_seconds if p else None,
            gold_accuracy=gold["accuracy"] if gold else None, gold_answers=gold["items"] if gold else 0,
            min_accuracy=gold["min_accuracy"] if gold else None, flags=flags.get(name, {}).get(queue, []),
        ))  # fmt: skip
    return out


def weekly_gold(report: Mapping[str, Any] | None) -> list[dict]:
    """Per reviewer and week, gold accuracy as the latest report measured it (weeks with gold answers only)."""
    biases = (report or {}).get("biases") or {}
    return [w for w in biases.get("weekly") or [] if w.get("gold_accuracy") is not None]


__all__ = ["ReviewerOverview", "reviewer_overview", "weekly_gold"]
