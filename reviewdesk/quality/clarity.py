"""Rubric clarity per criterion: which options reviewers confuse, which options they agree on, and what they
said where they disagreed, so a rubric author knows which part of the rubric to rewrite.

Measured on the newest rubric version with labels on the criterion (the wording reviewers read now,
as far as labels tell), for choice criteria only (categorical, ordinal, boolean, numeric with
options): the confused option pairs and the per-option alpha of `reviewdesk.agreement.options`, and
the comments reviewers left on items where their answers to the criterion differ, newest first.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from reviewdesk.agreement.coefficients import pairable
from reviewdesk.agreement.options import confused_pairs, option_agreement
from reviewdesk.quality.rubric_labels import criterion_keys, paired_ratings, rubric_versions, versioned_labels
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.rubric import Criterion

MAX_COMMENTS = 10  # per criterion, newest first; the JSON says how many there are in all


def _choices(c: Criterion) -> bool:
    return c.type in ("categorical", "ordinal", "boolean") or (c.type == "numeric" and bool(c.options))


def disagreement_comments(rows: pd.DataFrame) -> tuple[int, list[dict[str, Any]]]:
    """Items whose answers differ, and the comments given on them (reviewer, answer, comment), newest first."""
    answers = rows.groupby("item")["value"].nunique()
    disagreed = rows[rows["item"].isin(answers[answers > 1].index)]
    said = disagreed[disagreed["comment"].fillna("").str.strip() != ""].sort_values(["submitted_at", "item"],
                                                                                      ascending=False)  # fmt: skip
    return int((answers > 1).sum()), [
        {"item_id": r.item, "reviewer": r.rater, "answer": r.value, "comment": r.comment,
         "at": pd.Timestamp(r.submitted_at).isoformat()}
        for r in said.itertuples()
    ]  # fmt: skip


def criterion_clarity(rows: pd.DataFrame, c: Criterion, resamples: int, seed: int) -> dict[str, Any] | None:
    """One criterion's clarity figures from its labels under one rubric version; None if nothing is paired."""
    if (r := paired_ratings(rows, c)) is None:
        return None
    n_disagreed, comments = disagreement_comments(rows)
    return {
        "n_items": int(pairable(r).sum()),
        "confused_pairs": [p.as_dict() for p in confused_pairs(r)],
        "options": [o.as_dict() for o in option_agreement(r, resamples, seed)],
        "disagreed_items": n_disagreed,
        "comments_given": len(comments),
        "comments": comments[:MAX_COMMENTS],
    }


def queue_clarity(
    store: ReviewStore, wh: Warehouse, queue: str, resamples: int = 1000, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Per choice criterion of the queue's rubric, its clarity figures on the newest version with paired labels."""
    versions, labels = rubric_versions(store, queue), versioned_labels(wh, queue)
    out: dict[str, dict[str, Any]] = {}
    for key in criterion_keys(versions):
        for v in reversed(versions):
            c = v.criteria.get(key)
            rows = labels[(labels["criterion"] == key) & (labels["rubric_version"] == v.version)]
            if c is not None and _choices(c) and (figures := criterion_clarity(rows, c, resamples, seed)):
                out[key] = {"version": v.name, "rubric_version": v.version, **figures}
                break
    return out


__all__ = ["MAX_COMMENTS", "criterion_clarity", "disagreement_comments", "queue_clarity"]
