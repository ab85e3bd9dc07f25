"""Pairwise (A/B) queues: preferences coded by the side shown, the share of ties, and position bias.

A preference names a run (or "tie"). Which run an item showed on the left is recorded per item,
so each preference becomes "left", "right" or "tie". Agreement is then measured on those codes
(two reviewers agree exactly when they chose the same run), and the left-side rate among
non-tie preferences measures position bias: 0.5 is none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from reviewdesk.agreement.bootstrap import percentile_ci, resample_counts
from reviewdesk.agreement.ratings import COLUMNS, LabelsError, Ratings, value_key
from schemas.rubric import TIE

SIDES: tuple[str, str, str] = ("left", "right", "tie")


@dataclass(frozen=True)
class PositionBias:
    """How preferences split by side: the tie share, and the left-side rate among decided preferences."""

    n_items: int
    n_raters: int
    n_ratings: int
    ties: int
    tie_share: float | None
    n_decisions: int
    left_rate: float | None
    left_rate_ci: tuple[float, float] | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "n_items": self.n_items,
            "n_raters": self.n_raters,
            "n_ratings": self.n_ratings,
            "ties": self.ties,
            "tie_share": self.tie_share,
            "n_decisions": self.n_decisions,
            "left_rate": self.left_rate,
            "left_rate_ci": list(self.left_rate_ci) if self.left_rate_ci else None,
        }


def _keys(values: pd.Series) -> np.ndarray:
    codes, uniques = pd.factorize(values)
    keys = np.array([value_key(u) for u in uniques] + [""], dtype=object)  # code -1 (missing) -> ""
    return keys[codes]


def side_coded(labels: pd.DataFrame, left: Mapping[Any, Any] | pd.Series, tie: str = TIE) -> pd.DataFrame:
    """The labels with each preference (a run id or `tie`) replaced by "left", "right" or "tie"."""
    missing = [c for c in COLUMNS if c not in labels.columns]
    if missing:
        raise LabelsError(f"The preferences lack the column(s) {', '.join(missing)}: give item, rater, value.")
    left_run = labels["item"].map(left if isinstance(left, pd.Series) else pd.Series(dict(left), dtype=object))
    chosen = _keys(labels["value"])
    given = chosen != ""
    unplaced = given & left_run.isna().to_numpy()
    if unplaced.any():
        example = labels["item"].to_numpy()[np.argmax(unplaced)]
        raise LabelsError(
            f"{int(unplaced.sum())} preference(s) are on items with no left-side run, e.g. item {example!r}: "
            "give the run shown on the left for every item."
        )
    shown_left = _keys(left_run)
    is_tie = np.char.lower(chosen.astype(str)) == tie.lower()
    side = np.where(is_tie, "tie", np.where(chosen == shown_left, "left", "right")).astype(object)
    side[~given] = None
    return labels.assign(value=side)


def position_bias(
    labels: pd.DataFrame,
    left: Mapping[Any, Any] | pd.Series,
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    tie: str = TIE,
) -> PositionBias:
    """The share of ties, and how often the left run won among non-tie preferences, with an item-bootstrap CI."""
    r = Ratings.from_labels(side_coded(labels, left, tie), "nominal", options=SIDES)
    per_item = np.bincount(r.item_idx * 3 + r.code, minlength=3 * len(r.items)).reshape(-1, 3)
    per_item = per_item[per_item.sum(axis=1) > 0]
    n_left, n_right, ties = (int(x) for x in per_item.sum(axis=0))
    decisions = n_left + n_right
    ci = None
    if decisions and resamples > 0:
        rows, counts = np.unique(per_item, axis=0, return_counts=True)
        rng = np.random.default_rng(seed)
        with np.errstate(divide="ignore", invalid="ignore"):  # a resample may hold only ties
            rates = [
                (w @ rows[:, 0]) / (w @ (rows[:, 0] + rows[:, 1]))
                for w in resample_counts(counts, resamples, rng)
            ]  # fmt: skip
        ci = percentile_ci(np.concatenate(rates), confidence)
    return PositionBias(
        n_items=len(per_item),
        n_raters=len(r.raters),
        n_ratings=r.n_labels,
        ties=ties,
        tie_share=ties / r.n_labels if r.n_labels else None,
        n_decisions=decisions,
        left_rate=n_left / decisions if decisions else None,
        left_rate_ci=ci,
    )
