"""Live quality without the warehouse: what arrived since a report, and a provisional report.

A saved report is as fresh as the last collect run. The Agreement page says when it was computed and
how many submissions reached the review store after its watermark (the last submission collected);
a lead can then have a provisional report computed here, straight from the store's current answers:
agreement per criterion and reviewers to calibrate, with the same statistics as the full report, but
no consensus, estimates or model figures, and marked `provisional`. It loads no DuckDB.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from reviewdesk.agreement.summary import summarize
from reviewdesk.errors import ReviewdeskError
from reviewdesk.labels.adjudication import backlog
from reviewdesk.quality.calibration import to_calibrate
from reviewdesk.quality.store_answers import current_answers, queue_criteria
from reviewdesk.stores.review_schema import items, submissions
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.values import typed
from schemas.rubric import PREFERENCE, Criterion

LEVELS = {"categorical": "nominal", "boolean": "nominal", "ordinal": "ordinal", "numeric": "interval"}


def measure(rows: pd.DataFrame, c: Criterion, resamples: int, seed: int) -> dict[str, Any]:
    """One criterion's agreement summary from rows of item, rater, value (text), gold_answer and
    left_run_id, as a dict, or {"note": why it cannot be measured}."""
    frame = pd.DataFrame({"item": rows["item"], "rater": rows["rater"],
                          "value": [typed(v, c) for v in rows["value"]]})  # fmt: skip
    gold = {}
    for item, answer in zip(rows["item"], rows["gold_answer"], strict=True):
        if isinstance(answer, str) and c.key in (known := json.loads(answer)):
            gold[item] = known[c.key]
    left = dict(zip(rows["item"], rows["left_run_id"], strict=True)) if c.key == PREFERENCE else None
    options = c.options if c.type == "ordinal" else None
    try:
        s = summarize(frame, LEVELS[c.type], options, gold or None, resamples, seed, left=left)
    except ReviewdeskError as e:
        return {"note": str(e), "n_labels": len(frame)}
    return s.as_dict()


def arrived_since(store: ReviewStore, queue: str, watermark: int | None) -> dict[str, Any]:
    """Submissions of the queue after `watermark` (a submission id; None: all): how many, by whom, the latest."""
    s = submissions.c
    query = select(func.count(), func.count(s.reviewer.distinct()), func.max(s.submitted_at)).join(
        items, items.c.item_id == s.item_id
    ).where(items.c.queue == queue, s.submission_id > (watermark or 0))
    with store.read() as conn:
        count, reviewers, latest = conn.execute(query).one()
    return {"submissions": count, "reviewers": reviewers, "latest": latest.isoformat() if latest else None}


def provisional_report(
    store: ReviewStore, queue: str, resamples: int = 200, seed: int = 0, now: datetime | None = None
) -> dict[str, Any]:
    """A report of the queue from the review store's current answers, shaped like the full one, marked provisional."""
    row, criteria = queue_criteria(store, queue)
    answers = current_answers(store, queue, {c.key for c in criteria})
    overall = {}
    for c in criteria:
        rows = answers[answers["criterion"] == c.key]
        if not rows.empty:
            overall[c.key] = measure(rows, c, resamples, seed)
    return {
        "queue": queue,
        "kind": row["kind"],
        "provisional": True,
        "computed_at": (now or datetime.now(UTC)).isoformat(),
        "watermark": int(answers["submission_id"].max()) if len(answers) else 0,
        "labels": len(answers),
        "criteria": overall,
        "by_batch": [],
        "calibration": to_calibrate(overall),
        "estimates": [],
        "consensus": {},
        "backlog": len(backlog(store, queue)),
        "model": None,
        "pairwise": None,
    }


__all__ = ["LEVELS", "arrived_since", "measure", "provisional_report"]
