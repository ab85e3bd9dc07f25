"""Training: the gold items a reviewer answers before live items, graded against the gold answer.

An attempt is `min(training.items, gold items in the queue)` items, fixed at its first item. Items are
drawn from the queue's gold items in an order of the reviewer's own (a hash of reviewer, attempt and
item), those answered in earlier attempts last. A training item is shown like a live one, marked
`training: True`, with no gold answer and no suggestions; it is never reserved. Its answer goes to
`training_answers`, never to `submissions`: it counts no review and never reaches labels or consensus.
The last answer of an attempt settles it: the share of graded answers right (each criterion the gold
answer knows counts once) at least `pass_accuracy` qualifies the reviewer; under it, they are held for
`retry_after_hours`, after which their next item starts a new attempt. Live items then pass over the
gold items a reviewer trained on (they saw the answers).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from reviewdesk.errors import ReviewConflict
from reviewdesk.review.access import item_access
from reviewdesk.review.lookups import ITEM_COLUMNS, item_row, one, readable_item
from reviewdesk.review.qualification import (
    TRAINING_STATES,
    NotQualified,
    change,
    explanation,
    grade,
    refusal,
    state_row,
    training_config,
)
from reviewdesk.stores.payloads import UnreadablePayload
from reviewdesk.stores.review_schema import GOLD, items, reviewer_states, training_answers
from reviewdesk.stores.reviewstore import ReviewStore

HIDDEN = ("gold_answer", "is_gold", "suggestions")
BY = "training"  # `changed_by` of the changes training makes itself


@dataclass(frozen=True)
class TrainingFeedback:
    """What a reviewer learns after a training answer. `right_answers` and `explanation` are empty when
    the queue's feedback is `none`; `passed` and `accuracy` are set once the attempt is finished."""

    item_id: str
    position: int  # this answer's place in the attempt, from 1
    total: int
    marks: dict  # criterion -> answered right
    right_answers: dict
    explanation: str | None
    finished: bool
    passed: bool | None
    accuracy: float | None
    state: str
    retry_at: datetime | None

    def as_dict(self) -> dict:
        return asdict(self)


def _order(reviewer: str, attempt: int, item_id: str) -> str:
    return hashlib.sha256(f"{reviewer}\x00{attempt}\x00{item_id}".encode()).hexdigest()


def _answered(conn: Connection, queue: str, reviewer: str) -> list[tuple[str, int]]:
    t = training_answers.c
    return [
        tuple(r) for r in conn.execute(select(t.item_id, t.attempt).where(t.queue == queue, t.reviewer == reviewer))
    ]


def _start(store: ReviewStore, conn: Connection, q: Mapping[str, Any], reviewer: str, now: datetime) -> dict:
    """The reviewer's state row in training, starting an attempt when they are new or their hold has ended."""
    name = q["name"]
    row = state_row(conn, name, reviewer)
    if row is None:
        return change(store, conn, name, reviewer, "training", "training_started", BY,
                      "first item of a queue with training", now, attempt=1)  # fmt: skip
    if row["state"] == "held" and now >= row["retry_at"]:
        why = "the hold after a failed attempt ended: training again"
        return change(store, conn, name, reviewer, "retraining", "retraining_started", BY, why, now,
                      attempt=row["attempt"] + 1)  # fmt: skip
    if row["state"] not in TRAINING_STATES:
        raise refusal(name, row)
    return row


def training_item(store: ReviewStore, q: Mapping[str, Any], reviewer: str, now: datetime) -> dict | None:
    """The reviewer's next training item in queue row `q` (access checked), or None once they are qualified.

    Starts an attempt when due; `NotQualified` when they are held or paused, or the queue has no gold item."""
    name, cfg = q["name"], training_config(q)
    with store.write() as conn:
        row = state_row(conn, name, reviewer)
        if row is not None and row["state"] == "qualified":
            return None
        row = _start(store, conn, q, reviewer, now)
        gold = list(conn.scalars(select(items.c.item_id).where(items.c.queue == name, GOLD,
                                                                 items.c.set_aside_reason.is_(None))))  # fmt: skip
        if not row["training_items"]:
            if not gold:
                raise NotQualified(f"Queue {name} has no gold item to train on yet: ask a lead to qualify you by hand, "
                                   "or try again after its next batch.", row["state"])  # fmt: skip
            row["training_items"] = min(cfg["items"], len(gold))
            conn.execute(reviewer_states.update().where(reviewer_states.c.queue == name,
                                                        reviewer_states.c.reviewer == reviewer)
                         .values(training_items=row["training_items"]))  # fmt: skip
        done = _answered(conn, name, reviewer)
        this = {i for i, a in done if a == row["attempt"]}
        earlier = Counter(i for i, a in done if a != row["attempt"])
        order = sorted(
            (i for i in gold if i not in this), key=lambda i: (earlier[i], _order(reviewer, row["attempt"], i))
        )
        for item_id in order:
            try:
                item = readable_item(one(conn, select(*ITEM_COLUMNS).where(items.c.item_id == item_id)))
            except UnreadablePayload:
                continue  # `next_item` sets it aside when it comes to it live
            shown = {k: v for k, v in item.items() if k not in HIDDEN}
            return {**shown, "suggestions": None, "suggestion_shown": False, "reserved_until": None, "training": True,
                    "training_position": len(this) + 1, "training_items": row["training_items"],
                    "attempt": row["attempt"], "state": row["state"], "state_reason": row["reason"]}  # fmt: skip
    raise NotQualified(f"Queue {name} has no unread gold item left to train on: ask a lead to qualify you by hand.",
                       row["state"])  # fmt: skip


def _feedback(q: Mapping[str, Any], item: Mapping[str, Any], criteria: list, marks: dict, position: int,
              row: Mapping[str, Any], accuracy: float | None = None) -> TrainingFeedback:  # fmt: skip
    gold = item["gold_answer"] if isinstance(item["gold_answer"], Mapping) else {}
    shown = training_config(q)["feedback"] == "immediate"
    finished = row["state"] not in TRAINING_STATES or position >= row["training_items"]
    return TrainingFeedback(
        item["item_id"], position, row["training_items"], marks, {k: gold[k] for k in marks} if shown else {},
        explanation(gold, criteria) if shown else None, finished,
        None if accuracy is None else row["state"] == "qualified", accuracy, row["state"], row["retry_at"],
    )  # fmt: skip


def _settle(store: ReviewStore, conn: Connection, q: Mapping[str, Any], row: dict, now: datetime) -> tuple[dict, float]:
    """The attempt's last answer is in: qualify the reviewer, or hold them until the retry opens."""
    t = training_answers.c
    graded, correct = conn.execute(
        select(func.coalesce(func.sum(t.graded), 0), func.coalesce(func.sum(t.correct), 0))
        .where(t.queue == q["name"], t.reviewer == row["reviewer"], t.attempt == row["attempt"])
    ).one()  # fmt: skip
    cfg = training_config(q)
    accuracy = correct / graded if graded else 1.0  # gold answers that grade nothing cannot fail anyone
    detail = {"accuracy": accuracy, "correct": int(correct), "graded": int(graded), "items": row["training_items"],
              "attempt": row["attempt"], "pass_accuracy": cfg["pass_accuracy"]}  # fmt: skip
    share = f"{int(correct)} of {int(graded)} answers right ({accuracy:.0%}; {cfg['pass_accuracy']:.0%} needed)"
    if accuracy >= cfg["pass_accuracy"]:
        new = change(store, conn, q["name"], row["reviewer"], "qualified", "passed", BY, f"passed training: {share}",
                     now, detail=detail)  # fmt: skip
    else:
        retry = now + timedelta(hours=cfg["retry_after_hours"])
        new = change(store, conn, q["name"], row["reviewer"], "held", "failed", BY, f"failed training: {share}",
                     now, retry_at=retry, detail=detail, notice=True)  # a lead may help, or qualify by hand
    return new, accuracy


def answer_training(
    store: ReviewStore, item_id: str, reviewer: str, answers: Mapping[str, Any], now: datetime | None = None
) -> TrainingFeedback:
    """Store and grade a training answer (never a submission), settling the attempt after its last item.

    Answering an item of this attempt again (a double click) stores nothing and returns its feedback."""
    if not isinstance(answers, Mapping) or not all(isinstance(k, str) for k in answers):
        raise ReviewConflict("A training answer is an object of criterion -> value: nothing was stored.")
    try:
        answers = json.loads(json.dumps(dict(answers)))
    except (TypeError, ValueError) as e:
        raise ReviewConflict(f"This training answer cannot be stored ({e}): nothing was stored.") from None
    now = now or datetime.now(UTC)
    with store.write() as conn:
        q, _ = item_access(conn, item_id, reviewer)
        if training_config(q) is None:
            raise ReviewConflict(f"Queue {q['name']} has no training: submit your review of item {item_id} instead.")
        row = state_row(conn, q["name"], reviewer)
        if row is None:
            raise refusal(q["name"], {})
        item = readable_item(item_row(conn, item_id))
        if not item["is_gold"]:
            raise ReviewConflict(f"Item {item_id} is not a training item: take your next item instead.")
        criteria = store.rubric(q["name"], item["rubric_version"], conn)["criteria"]
        t = training_answers.c
        mine = (t.queue == q["name"]) & (t.reviewer == reviewer) & (t.attempt == row["attempt"])
        before = one(conn, select(training_answers).where(mine, t.item_id == item_id))
        position = conn.scalar(select(func.count()).select_from(training_answers).where(mine))
        if before is not None:  # answered already: the feedback it had
            rank = conn.scalar(select(func.count()).select_from(training_answers)
                               .where(mine, t.answer_id <= before["answer_id"]))  # fmt: skip
            return _feedback(q, item, criteria, grade(before["answers"], item["gold_answer"], criteria), rank, row)
        if row["state"] not in TRAINING_STATES or not row["training_items"] or position >= row["training_items"]:
            raise refusal(q["name"], row)
        marks = grade(answers, item["gold_answer"], criteria)
        conn.execute(training_answers.insert().values(
            queue=q["name"], reviewer=reviewer, attempt=row["attempt"], item_id=item_id, answers=answers,
            graded=len(marks), correct=sum(marks.values()), answered_at=now,
        ))  # fmt: skip
        accuracy = None
        if position + 1 >= row["training_items"]:
            row, accuracy = _settle(store, conn, q, row, now)
        return _feedback(q, item, criteria, marks, position + 1, row, accuracy)


def training_attempts(store: ReviewStore, queue: str, reviewer: str) -> list[dict]:
    """The reviewer's training attempts in the queue, oldest first: answers, graded and right, accuracy."""
    t = training_answers.c
    query = (
        select(t.attempt, func.count(), func.sum(t.graded), func.sum(t.correct), func.min(t.answered_at),
               func.max(t.answered_at))
        .where(t.queue == queue, t.reviewer == reviewer).group_by(t.attempt).order_by(t.attempt)
    )  # fmt: skip
    with store.read() as conn:
        rows = conn.execute(query).all()
    return [{"attempt": a, "answered": n, "graded": int(g or 0), "correct": int(c or 0),
             "accuracy": (c or 0) / g if g else None, "started_at": first, "last_answer_at": last}
            for a, n, g, c, first, last in rows]  # fmt: skip


__all__ = ["TrainingFeedback", "answer_training", "training_attempts", "training_item"]
