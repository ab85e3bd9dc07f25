"""Fatigue: whether a reviewer's answers get worse the longer they keep going in one sitting.

A reviewer's submissions in a queue, in time order, are split into sessions wherever 30 minutes or more
pass between two (SESSION_GAP); each submission gets its position in its session (0 for the first).
The figures are least-squares slopes on that position, per item:

- of gold accuracy (`correct`, on gold items): a reviewer whose accuracy falls by `f` per item has a
  slope of `-f`;
- of agreement with the other reviewers' majority (`agree`): it falls with fatigue too, though by less
  than the accuracy does, as the others err as well.

0 is no fatigue. Intervals are cluster-robust over sessions (answers in one sitting are not independent),
and `curve` gives both shares per block of CURVE_BLOCK positions, for a chart.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from reviewdesk.quality.bias_stats import per_reviewer, slope_figure

SESSION_GAP = timedelta(minutes=30)
CURVE_BLOCK = 5


def sessions(rows: pd.DataFrame, gap: timedelta = SESSION_GAP) -> pd.DataFrame:
    """`rows` (reviewer, submission_id, submitted_at) with each submission's `session` (a number unique
    in the queue) and `position` in it, from 0."""
    subs = rows.drop_duplicates("submission_id")
    order = np.lexsort((subs["submission_id"].to_numpy(), subs["submitted_at"].to_numpy(),
                        pd.factorize(subs["reviewer"])[0]))  # fmt: skip
    reviewer, at = subs["reviewer"].to_numpy()[order], subs["submitted_at"].to_numpy()[order]
    starts = np.r_[True, (reviewer[1:] != reviewer[:-1]) | (at[1:] - at[:-1] >= np.timedelta64(gap))]
    session = np.cumsum(starts)
    first = np.flatnonzero(starts)[session - 1]
    ids = subs["submission_id"].to_numpy()[order]
    where = pd.Index(ids).get_indexer(rows["submission_id"])
    return rows.assign(session=session[where], position=(np.arange(len(ids)) - first)[where])


def slope_on_position(rows: pd.DataFrame, outcome: str) -> dict[str, Any]:
    """The slope of `outcome` (1.0 / 0.0, NaN where unchecked) on the position in the session, per item."""
    return slope_figure(rows, "position", outcome, "session")


def curve(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Gold accuracy and agreement with the others per block of positions in the session, for a chart."""
    block = (rows["position"] // CURVE_BLOCK).astype(int)
    out = []
    for b, part in rows.groupby(block, sort=True):
        correct, agree = part["correct"].dropna(), part["agree"].dropna()
        out.append({"from": int(b) * CURVE_BLOCK + 1, "to": (int(b) + 1) * CURVE_BLOCK,
                    "gold_accuracy": float(correct.mean()) if len(correct) else None, "gold_n": len(correct),
                    "agreement": float(agree.mean()) if len(agree) else None, "agreement_n": len(agree)})  # fmt: skip
    return out


def fatigue(rows: pd.DataFrame) -> dict[str, Any]:
    """The fatigue figures of `bias_rows`: slopes of gold accuracy and of agreement, and the curve."""
    rows = sessions(rows)
    return {
        "accuracy": per_reviewer(rows, lambda part: slope_on_position(part, "correct")),
        "agreement": per_reviewer(rows, lambda part: slope_on_position(part, "agree")),
        "curve": curve(rows),
    }


__all__ = ["CURVE_BLOCK", "SESSION_GAP", "curve", "fatigue", "sessions", "slope_on_position"]
