"""Verbosity bias (pairwise): how much more often a reviewer prefers the longer answer than the
reference (gold, else the other reviewers' majority) implies.

Each preference on an item whose answers differ in length is coded by length: +1 the longer answer,
-1 the shorter, 0 a tie. If length does not sway a reviewer, agreeing with the reference is as likely
when the longer answer is the better one as when the shorter is, and their wrong answers fall on either
side alike; then the mean code is `+d` when the reference says "longer", `-d` when it says "shorter",
and 0 when it says "tie". A reviewer who picks the longer answer with chance `b` whatever they think
(and otherwise answers as before) moves each of these means by `b (1 - mean)`, and so

    b = (mean | longer + mean | shorter) / 2   and   b = mean | tie,

whatever their accuracy and however often the longer answer is truly better. The figure weighs the two
by their labels: the excess share choosing the longer answer, 0 for no bias, with a 95% interval from its
bootstrap standard error over items. Preferences with no reference, or between answers of equal length, are left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from reviewdesk.quality.bias_stats import MIN_ROWS, cluster_bootstrap, figure, per_reviewer, too_few
from schemas.rubric import PREFERENCE, TIE

LONGER, SHORTER = 1.0, -1.0


def length_signs(values: pd.Series, rows: pd.DataFrame) -> np.ndarray:
    """Each preference (a run id or "tie") coded by length: +1 longer, -1 shorter, 0 tie; NaN when unknown."""
    a, b = rows["len_a"].to_numpy(float), rows["len_b"].to_numpy(float)
    longer = np.where(a > b, rows["run_a"].to_numpy(object), np.where(b > a, rows["run_b"].to_numpy(object), None))
    v = values.to_numpy(object)
    sign = np.where(v == TIE, 0.0, np.where(v == longer, LONGER, SHORTER))
    return np.where((a != b) & pd.notna(v) & np.isfinite(a + b), sign, np.nan)


def _stat(s: np.ndarray) -> np.ndarray:
    """The excess share from sums (..., 6): labels and summed codes when the reference says longer, shorter, tie."""
    n_l, d_l, n_s, d_s, n_t, d_t = (s[..., i] for i in range(6))
    pairs = n_l + n_s
    both = (n_l > 0) & (n_s > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pair_part = np.where(both, (d_l / n_l + d_s / n_s) / 2, 0.0)
        tie_part = np.where(n_t > 0, d_t / n_t, 0.0)
        weight = np.where(both, pairs, 0.0)
        return (weight * pair_part + n_t * tie_part) / (weight + n_t)


def excess_longer(rows: pd.DataFrame, resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """The verbosity figure from rows of item_id, chose and reference (length codes, see `length_signs`)."""
    rows = rows[np.isfinite(rows["chose"]) & np.isfinite(rows["reference"])]
    if len(rows) < MIN_ROWS:
        return too_few(len(rows), "preferences with a reference and answers of unequal length")
    codes, items = pd.factorize(rows["item_id"])
    chose, ref = rows["chose"].to_numpy(float), rows["reference"].to_numpy(float)
    columns = []
    for side in (LONGER, SHORTER, 0.0):
        mask = ref == side
        columns += [np.bincount(codes, weights=mask.astype(float), minlength=len(items)),
                    np.bincount(codes, weights=np.where(mask, chose, 0.0), minlength=len(items))]  # fmt: skip
    estimate, ci = cluster_bootstrap(np.column_stack(columns), _stat, resamples, seed)
    return figure(estimate, ci, len(rows), longer_share=float((chose == LONGER).mean()),
                  reference_longer_share=float((ref == LONGER).mean()))  # fmt: skip


def verbosity(rows: pd.DataFrame, resamples: int = 1000, seed: int = 0) -> dict[str, Any] | None:
    """The queue's and each reviewer's verbosity figure from `bias_rows` (None for a single-run queue)."""
    prefs = rows[rows["criterion"] == PREFERENCE]
    if prefs.empty:
        return None
    coded = pd.DataFrame({"item_id": prefs["item_id"], "reviewer": prefs["reviewer"],
                          "chose": length_signs(prefs["value"], prefs),
                          "reference": length_signs(prefs["reference"], prefs)})  # fmt: skip
    return per_reviewer(coded, lambda part: excess_longer(part, resamples, seed))


__all__ = ["excess_longer", "length_signs", "verbosity"]
