"""The statistics the bias controls share: a figure with its interval and flag, a cluster bootstrap of
statistics built from sums, a least-squares slope with a cluster-robust interval, and Wilson's interval.

Every bias figure is an estimate with a 95% interval, the count behind it, and `flagged` when the
interval excludes "no bias" (0 for a difference or a slope; a tolerated share for one-sided figures).
Rows of one reviewer are not independent (the same item, the same session), so intervals resample or
sum over clusters (items or sessions), never over rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

CONFIDENCE = 0.95
MIN_ROWS = 20  # fewer rows behind a figure and it is not reported: its interval would say nothing
CHUNK_CELLS = 2_000_000  # resample weights held at a time


def figure(
    estimate: float | None,
    ci: tuple[float, float] | None,
    n: int,
    null: float = 0.0,
    one_sided: bool = False,
    note: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A bias figure as a JSON-ready dict, flagged when its interval excludes `null` (one-sided: lies above it)."""
    has_ci = estimate is not None and ci is not None and bool(np.isfinite(ci).all())
    flagged = has_ci and (ci[0] > null or (not one_sided and ci[1] < null))
    out = {"estimate": None if estimate is None else float(estimate),
           "ci": [float(ci[0]), float(ci[1])] if has_ci else None, "n": int(n), "flagged": bool(flagged), **extra}
    if note or not has_ci:
        out["note"] = note or (f"needs {MIN_ROWS}+ rows with enough spread" if estimate is None
                               else "no interval: computed without resamples, or none defined")  # fmt: skip
    return out


def too_few(n: int, what: str = "rows") -> dict[str, Any]:
    """The figure of a measure with too little data, saying how much it needs."""
    return figure(None, None, n, note=f"needs {MIN_ROWS}+ {what}, has {n}")


def cluster_bootstrap(
    sums: np.ndarray, stat: Callable[[np.ndarray], np.ndarray], resamples: int = 1000, seed: int = 0
) -> tuple[float | None, tuple[float, float] | None]:
    """`stat` of the column sums of `sums` (clusters x k), with a normal interval from its standard error over
    resampled clusters (simulation showed percentile intervals of these ratios a little too narrow).

    `stat` maps an array (..., k) of sums to the figure (...); NaN where it is undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = float(stat(sums.sum(axis=0)))
    if not np.isfinite(estimate):
        return None, None
    if not resamples:
        return estimate, None
    n = len(sums)
    rng = np.random.default_rng(seed)
    chunk = max(1, min(resamples, CHUNK_CELLS // max(n, 1)))
    draws = []
    for start in range(0, resamples, chunk):
        weights = rng.multinomial(n, np.full(n, 1 / n), size=min(chunk, resamples - start))
        with np.errstate(divide="ignore", invalid="ignore"):
            draws.append(stat(weights @ sums))
    finite = np.concatenate(draws)
    finite = finite[np.isfinite(finite)]
    return estimate, normal_ci(estimate, float(finite.std(ddof=1))) if len(finite) > 1 else None


def cluster_slope(
    x: np.ndarray, y: np.ndarray, cluster: np.ndarray
) -> tuple[float | None, tuple[float, float] | None, int]:
    """The least-squares slope of y on x, with a cluster-robust (CR1) t interval on G - 1 degrees of freedom.

    Returns (slope, interval, clusters); (None, None, clusters) when x does not vary or there are under 3 clusters."""
    codes = np.unique(cluster, return_inverse=True)[1].ravel()
    groups = int(codes.max()) + 1 if len(codes) else 0
    dx = x - x.mean() if len(x) else x
    sxx = float(dx @ dx)
    if groups < 3 or sxx <= 0:
        return None, None, groups
    slope = float(dx @ (y - y.mean())) / sxx
    residual = y - y.mean() - slope * dx
    scores = np.bincount(codes, weights=dx * residual, minlength=groups)
    se = float(np.sqrt(groups / (groups - 1) * (scores @ scores))) / sxx
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, groups - 1)) * se
    return slope, (slope - half, slope + half), groups


def per_reviewer(rows: pd.DataFrame, measure: Callable[[pd.DataFrame], dict[str, Any]]) -> dict[str, Any]:
    """A measure over all of a queue's rows (`queue`) and over each reviewer's (`reviewers`)."""
    return {"queue": measure(rows),
            "reviewers": {str(name): measure(part) for name, part in rows.groupby("reviewer", sort=True)}}  # fmt: skip


def slope_figure(rows: pd.DataFrame, x: str, outcome: str, cluster: str) -> dict[str, Any]:
    """The slope of `outcome` on `x` over the rows where `outcome` is known, as a figure (intervals by `cluster`)."""
    rows = rows[rows[outcome].notna()]
    if len(rows) < MIN_ROWS:
        return too_few(len(rows), "answers to measure")
    slope, ci, groups = cluster_slope(rows[x].to_numpy(float), rows[outcome].to_numpy(float), rows[cluster].to_numpy())
    return figure(slope, ci, len(rows), clusters=groups, mean=float(rows[outcome].mean()),
                  span=float(rows[x].max() - rows[x].min()))  # fmt: skip


def wilson(k: int, n: int) -> tuple[float, float] | None:
    """Wilson's score interval for a share of k in n (None when n is 0)."""
    if n == 0:
        return None
    z = float(stats.norm.ppf(0.5 + CONFIDENCE / 2))
    p, z2 = k / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def normal_ci(estimate: float, se: float) -> tuple[float, float]:
    """The normal-theory interval estimate +- z se."""
    half = float(stats.norm.ppf(0.5 + CONFIDENCE / 2)) * se
    return estimate - half, estimate + half


__all__ = ["CONFIDENCE", "MIN_ROWS", "cluster_bootstrap", "cluster_slope", "figure", "normal_ci", "per_reviewer",
           "slope_figure", "too_few", "wilson"]  # fmt: skip
