"""Rubber-stamping: answering without reading, seen as answers too fast to have read the item, and as
taking the model's suggestion whatever it says.

- Fast answers: the share of submissions made in less than the queue's `min_seconds` (time on the item:
  submitted minus shown), with Wilson's interval. An occasional quick answer is fine (a plainly broken
  run), so a reviewer is flagged only when the interval lies above FAST_TOLERANCE. `median_seconds`
  says how long each reviewer takes.
- Copying suggestions: under the `randomized` suggestion policy the anchoring effect of
  `reviewdesk.quality.suggestion_quality.anchoring_effect` per reviewer: the share of their answers
  equal to the suggestion when shown minus when hidden, read as the share of suggestions they copy
  (`copy_rate`, 0 for none). Under other policies the two groups differ in more than the showing, so
  there is no figure.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from reviewdesk.quality.bias_stats import MIN_ROWS, figure, per_reviewer, too_few, wilson
from reviewdesk.quality.suggestion_quality import anchoring_effect

FAST_TOLERANCE = 0.05


def fast_share(submissions: pd.DataFrame, min_seconds: float) -> dict[str, Any]:
    """The share of `submissions` (one row each, with `seconds` on the item) made faster than `min_seconds`."""
    timed = submissions["seconds"].dropna()
    if len(timed) < MIN_ROWS:
        return too_few(len(timed), "timed submissions")
    fast = int((timed < min_seconds).sum())
    return figure(fast / len(timed), wilson(fast, len(timed)), len(timed), null=FAST_TOLERANCE, one_sided=True,
                  fast=fast, median_seconds=float(timed.median()))  # fmt: skip


def fast_answers(rows: pd.DataFrame, min_seconds: float | None) -> dict[str, Any] | None:
    """The fast-answer figures of `bias_rows` (one per submission), or None when the queue sets no `min_seconds`."""
    if min_seconds is None:
        return None
    submissions = rows.drop_duplicates("submission_id")[["reviewer", "submission_id", "seconds"]]
    return per_reviewer(submissions, lambda part: fast_share(part, min_seconds)) | {"min_seconds": min_seconds}


def median_seconds(rows: pd.DataFrame) -> dict[str, float]:
    """How long each reviewer spends on an item (median seconds over their timed submissions)."""
    timed = rows.drop_duplicates("submission_id").dropna(subset=["seconds"])
    return {str(name): float(s.median()) for name, s in timed.groupby("reviewer", sort=True)["seconds"]}


def copy_figure(labels: pd.DataFrame, resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """The copy rate of labels (item_id, agree, suggestion_shown) as a bias figure, from the anchoring effect."""
    a = anchoring_effect(labels, resamples, seed)
    n = a["shown_labels"] + a["hidden_labels"]
    if a["copy_rate"] is None or a["copy_rate_ci"] is None:
        return figure(None, None, n, note=a.get("note") or "the suggestions' agreement cannot be compared")
    return figure(a["copy_rate"], tuple(a["copy_rate_ci"]), n, effect=a["effect"], effect_ci=a["effect_ci"])


def copying(labels: pd.DataFrame, policy: str, resamples: int = 1000, seed: int = 0) -> dict[str, Any] | None:
    """The queue's and each reviewer's copy rate (`labels` as `suggestion_labels` gives), or None unless randomized."""
    if policy != "randomized" or labels.empty:
        return None
    return per_reviewer(labels, lambda part: copy_figure(part, resamples, seed))


__all__ = ["FAST_TOLERANCE", "copy_figure", "copying", "fast_answers", "fast_share", "median_seconds"]
