"""Drift: whether a reviewer's standard moves over the weeks.

Two least-squares slopes on the time since the queue's first labelled submission, in weeks:

- gold accuracy (`correct`, on gold items): a reviewer whose accuracy changes by `d` a week has slope `d`;
- the mean ordinal score (`score`: an answer's position on its scale, 0 the first option, 1 the last,
  over every ordinal criterion): a reviewer growing more lenient has a positive slope, a harsher one a
  negative one, whatever the items' own quality does to everyone alike.

0 is no drift; intervals are cluster-robust over items (the criteria of one item move together). `weekly`
gives each reviewer's shares per week since the start (week 1 first), for a chart.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from reviewdesk.quality.bias_stats import per_reviewer, slope_figure

WEEK = pd.Timedelta(days=7)


def slope_on_weeks(rows: pd.DataFrame, outcome: str) -> dict[str, Any]:
    """The slope of `outcome` (NaN where not measured) on `weeks`, per week."""
    return slope_figure(rows, "weeks", outcome, "item_id")


def weekly(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Per reviewer and week since the start: gold accuracy and mean ordinal score, with their counts."""
    week = np.floor(rows["weeks"]).astype(int) + 1
    out = []
    for (reviewer, w), part in rows.groupby([rows["reviewer"], week], sort=True):
        correct, score = part["correct"].dropna(), part["score"].dropna()
        out.append({"reviewer": str(reviewer), "week": int(w),
                    "gold_accuracy": float(correct.mean()) if len(correct) else None, "gold_n": len(correct),
                    "score": float(score.mean()) if len(score) else None, "score_n": len(score)})  # fmt: skip
    return out


def drift(rows: pd.DataFrame) -> dict[str, Any]:
    """The drift figures of `bias_rows`: slopes of gold accuracy and of the ordinal score per week, and `weekly`."""
    if rows.empty:
        rows = rows.assign(weeks=pd.Series(dtype=float))
    else:
        rows = rows.assign(weeks=(rows["submitted_at"] - rows["submitted_at"].min()) / WEEK)
    return {
        "accuracy": per_reviewer(rows, lambda part: slope_on_weeks(part, "correct")),
        "score": per_reviewer(rows, lambda part: slope_on_weeks(part, "score")),
        "weekly": weekly(rows),
    }


__all__ = ["drift", "slope_on_weeks", "weekly"]
