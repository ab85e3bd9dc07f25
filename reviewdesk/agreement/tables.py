"""Item tables: every figure as a weighted sum over items, so that a bootstrap resample is one matrix product.

Percent agreement, Fleiss' kappa, Krippendorff's alpha (its coincidence matrix) and each pair's
Cohen's kappa (its confusion matrix) are all functions of sums over items. Items with the same
rating row (the same value from the same raters) contribute the same, so the items are grouped
into patterns, each with its count and its contribution to every sum. A bootstrap resample of
items is then just other counts per pattern, and a stack of resamples `w` (resamples x patterns)
gives every sum at once as `w @ contribution`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from reviewdesk.agreement.coefficients import (
    KappaWeights,
    agreeing_share,
    alpha_from_coincidences,
    fleiss_from_counts,
    kappa_from_confusions,
    pairable,
    value_counts,
)
from reviewdesk.agreement.ratings import Level, Ratings


@dataclass(frozen=True, eq=False)
class ItemTables:
    """Items with two or more ratings, grouped by rating row, with each group's contribution to every figure."""

    rows: np.ndarray  # patterns x raters: value codes, MISSING where not rated
    counts: np.ndarray  # items per pattern
    level: Level
    points: np.ndarray
    n_values: int
    pairs: tuple[tuple[int, int], ...]
    weights: KappaWeights
    agree: np.ndarray  # per pattern: share of agreeing rater pairs
    totals: sparse.csr_matrix  # values x patterns: ratings of each value
    coinc: sparse.csr_matrix  # values^2 x patterns: coincidence contributions
    cells: sparse.csr_matrix  # (pairs x values^2) x patterns: confusion cells per rater pair

    @classmethod
    def from_ratings(
        cls, r: Ratings, pairs: Sequence[tuple[int, int]] = (), weights: KappaWeights = "unweighted"
    ) -> ItemTables:
        """Group the pairable items of `r`; `pairs` are the rater index pairs whose kappa is wanted."""
        rows, counts = patterns(r.codes[pairable(r)], len(r.values))
        v = len(r.values)
        per_value = value_counts(rows, v)
        return cls(
            rows=rows,
            counts=counts,
            level=r.level,
            points=r.points,
            n_values=v,
            pairs=tuple(pairs),
            weights=weights,
            agree=agreeing_share(per_value),
            totals=per_value.T.tocsr(),
            coinc=_coincidence_contributions(per_value, v),
            cells=_confusion_cells(rows, pairs, v),
        )

    @property
    def observed(self) -> np.ndarray:
        """The data itself as one weight row."""
        return self.counts[None, :].astype(np.float64)

    def width(self) -> int:
        """The widest per-resample result, for sizing chunks."""
        return max(len(self.counts), self.n_values**2 * max(len(self.pairs), 1))

    def percent_agreement(self, w: np.ndarray) -> np.ndarray:
        """P-bar for each weight row: the item-weighted mean share of agreeing rater pairs."""
        return (w @ self.agree) / w.sum(axis=1)

    def alpha(self, w: np.ndarray) -> np.ndarray:
        """Krippendorff's alpha for each weight row, from the summed coincidence matrix."""
        o = _sums(self.coinc, w).reshape(-1, self.n_values, self.n_values)
        return alpha_from_coincidences(o, self.level, self.points)

    def fleiss(self, w: np.ndarray) -> np.ndarray:
        """Fleiss' kappa; meaningful only when every item has the same number of ratings."""
        return fleiss_from_counts(self.percent_agreement(w), _sums(self.totals, w))

    def kappas(self, w: np.ndarray) -> np.ndarray:
        """Cohen's kappa per rater pair: resamples x pairs (NaN where undefined)."""
        v = self.n_values
        confusion = _sums(self.cells, w).reshape(-1, len(self.pairs), v, v)
        return kappa_from_confusions(confusion, self.weights)


def patterns(codes: np.ndarray, n_values: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rating rows and how many items have each."""
    if codes.shape[0] == 0:
        return codes, np.zeros(0, dtype=np.int64)
    base = n_values + 1
    if base ** codes.shape[1] < 2**62:
        key = (codes.astype(np.int64) + 1) @ (base ** np.arange(codes.shape[1], dtype=np.int64))
        _, first, counts = np.unique(key, return_index=True, return_counts=True)
        return codes[first], counts
    rows, counts = np.unique(codes, axis=0, return_counts=True)
    return rows, counts


def _sums(contribution: sparse.csr_matrix, w: np.ndarray) -> np.ndarray:
    """Sums over patterns, one per weight row: (features x patterns), (rows x patterns) -> rows x features."""
    return np.asarray(contribution @ w.T).T


def _coincidence_contributions(per_value: sparse.csr_matrix, v: int) -> sparse.csr_matrix:
    """Each pattern's (n_c n_k - [c=k] n_c) / (m - 1), from every pair of its values (a self-join within rows)."""
    per_value = per_value.tocsr()
    per_value.sum_duplicates()
    starts, lengths = per_value.indptr[:-1], np.diff(per_value.indptr)
    m = np.asarray(per_value.sum(axis=1)).ravel()
    sq = lengths.astype(np.int64) ** 2
    group = np.repeat(np.arange(len(lengths)), sq)
    local = np.arange(int(sq.sum())) - np.repeat(np.cumsum(sq) - sq, sq)
    i = starts[group] + local // lengths[group]
    j = starts[group] + local % lengths[group]
    n_i, n_j = per_value.data[i], per_value.data[j]
    value = (n_i * n_j - np.where(i == j, n_i, 0.0)) / (m[group] - 1)
    column = per_value.indices[i].astype(np.int64) * v + per_value.indices[j]
    return sparse.csr_matrix((value, (column, group)), shape=(v * v, len(lengths)))


def _confusion_cells(rows: np.ndarray, pairs: Sequence[tuple[int, int]], v: int) -> sparse.csr_matrix:
    """For each rater pair, the confusion cell (a's value, b's value) of every pattern both rated."""
    columns, groups = [], []
    for p, (a, b) in enumerate(pairs):
        both = np.flatnonzero((rows[:, a] >= 0) & (rows[:, b] >= 0))
        columns.append(p * v * v + rows[both, a].astype(np.int64) * v + rows[both, b])
        groups.append(both)
    column = np.concatenate(columns) if columns else np.zeros(0, dtype=np.int64)
    group = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)
    ones = np.ones(len(column), dtype=np.float64)
    return sparse.csr_matrix((ones, (column, group)), shape=(max(len(pairs), 1) * v * v, len(rows)))
