"""A queue's labels by rubric version, for what the rubric's wording is judged on: clarity and rubric A/B.

Every label keeps the rubric version its item was published with, and every version's rubric is kept
in the review store, with when it was first saved. Versions are named v1, v2, ... in that order (a
content hash says nothing to a rubric author), and each label is measured with its own version's
criterion, so an option added or renamed by an edit is measured where it existed. Each label comes
with the comment of the submission it came from.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select

from reviewdesk.agreement.coefficients import pairable
from reviewdesk.agreement.ratings import Ratings
from reviewdesk.errors import ReviewdeskError
from reviewdesk.quality.provisional import LEVELS
from reviewdesk.stores.review_schema import rubrics
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.values import typed
from reviewdesk.stores.warehouse import Warehouse
from schemas.rubric import Criterion

COLUMNS = ["item", "rater", "criterion", "value", "rubric_version", "comment", "submitted_at"]


@dataclass(frozen=True)
class RubricVersion:
    """One version of a queue's rubric: its hash, its name (v1, v2, ...) and its criteria by key (no text ones)."""

    version: str
    name: str
    criteria: dict[str, Criterion]


def rubric_versions(store: ReviewStore, queue: str) -> list[RubricVersion]:
    """The queue's rubric versions, oldest first, named v1, v2, ..."""
    query = select(rubrics.c.version, rubrics.c.rubric).where(rubrics.c.queue == queue)
    with store.read() as conn:
        rows = conn.execute(query.order_by(rubrics.c.created_at, rubrics.c.version)).all()
    return [
        RubricVersion(version, f"v{n}", {c["key"]: Criterion(**c) for c in rubric["criteria"] if c["type"] != "text"})
        for n, (version, rubric) in enumerate(rows, 1)
    ]


def criterion_keys(versions: list[RubricVersion]) -> list[str]:
    """Every criterion key of any version, the newest version's first, in rubric order."""
    return list(dict.fromkeys(k for v in reversed(versions) for k in v.criteria))


# The unit a label rates: its item, or for a per-step criterion its (item, step) pair (labels `l`).
RATED_UNIT = "CASE WHEN l.step_run_id = '' THEN l.item_id ELSE l.item_id || ' · step ' || l.step_run_id END"


def versioned_labels(wh: Warehouse, queue: str) -> pd.DataFrame:
    """The queue's labels (COLUMNS; values as text) with their rubric version and their submission's comment."""
    return wh.con.execute(
        f"""SELECT {RATED_UNIT} AS item, l.reviewer AS rater, l.criterion, l.value, l.rubric_version, s.comment,
                  l.submitted_at
           FROM labels l LEFT JOIN submissions s USING (submission_id)
           WHERE l.queue = ? AND l.value IS NOT NULL ORDER BY l.item_id, l.reviewer""",
        [queue],
    ).df()


def paired_ratings(rows: pd.DataFrame, c: Criterion) -> Ratings | None:
    """One criterion's rows (item, rater, value as text) as Ratings at its level, on its options; None when
    no item has two of them (or they cannot be measured: e.g. a value outside the version's options)."""
    frame = pd.DataFrame({"item": rows["item"], "rater": rows["rater"], "value": [typed(v, c) for v in rows["value"]]})
    try:
        r = Ratings.from_labels(frame, LEVELS[c.type], c.options if c.type != "boolean" else None)
    except ReviewdeskError:
        return None
    return r if pairable(r).any() else None


__all__ = ["COLUMNS", "RubricVersion", "criterion_keys", "paired_ratings", "rubric_versions", "versioned_labels"]
