"""The reviewers' current answers read straight from the review store, for what the app computes itself.

The app never opens the warehouse, so a provisional report and a reviewer's calibration evidence are
built from the store's submissions: each reviewer's latest revision per item, one row per answered
criterion (a missing answer, e.g. a flag without ratings, is no row). Values are stored as text, as
collect stores labels (`reviewdesk.stores.values`), so the warehouse's and the store's rows measure alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd
from sqlalchemy import select

from reviewdesk.errors import NotFound
from reviewdesk.review.lookups import LATEST
from reviewdesk.stores.review_schema import items, submissions
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.values import as_text
from schemas.rubric import PREFERENCE_CRITERION, Criterion

COLUMNS = ["item", "rater", "criterion", "value", "gold_answer", "left_run_id", "submission_id", "submitted_at"]


def queue_criteria(store: ReviewStore, queue: str) -> tuple[dict[str, Any], list[Criterion]]:
    """The queue's stored row and the criteria agreement is measured on (the preference first, no text)."""
    row = store.queue(queue)
    if row is None:
        raise NotFound(f"No queue {queue!r} in the review store: publish a batch of it first (`reviewdesk publish`).")
    criteria = [Criterion(**c) for c in row["config"]["rubric"]["criteria"] if c["type"] != "text"]
    return row, ([PREFERENCE_CRITERION] if row["kind"] == "pairwise" else []) + criteria


def _gold(answer: Mapping[str, Any] | None) -> str | None:
    return json.dumps(answer) if answer else None


def current_answers(store: ReviewStore, queue: str, keys: set[str]) -> pd.DataFrame:
    """Each reviewer's latest answer per item and criterion in `keys` (COLUMNS; values as text)."""
    query = (
        select(submissions.c.item_id, submissions.c.reviewer, submissions.c.answers, submissions.c.submission_id,
               submissions.c.submitted_at, items.c.gold_answer, items.c.left_run_id)
        .join(items, items.c.item_id == submissions.c.item_id)
        .where(items.c.queue == queue, LATEST)
        .order_by(submissions.c.item_id, submissions.c.reviewer)
    )  # fmt: skip
    rows = []
    with store.read() as conn:
        for r in conn.execute(query).mappings():
            answers = r["answers"] if isinstance(r["answers"], dict) else {}
            for key, value in answers.items():
                if key in keys and value is not None:
                    rows.append([r["item_id"], r["reviewer"], key, as_text(value), _gold(r["gold_answer"]),
                                 r["left_run_id"], r["submission_id"], r["submitted_at"]])  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


__all__ = ["COLUMNS", "current_answers", "queue_criteria"]
