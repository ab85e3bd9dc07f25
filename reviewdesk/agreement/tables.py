"""Item tables: every figure as a weighted sum over items, so that a bootstrap resample is one matrix product.

Percent agreement, Fleiss' kappa, Krippendorff's alpha (its coincidence matrix) and each pair's
Cohen's kappa (its confusion matrix) are all functions of sums over items. An item contributes
through its value counts and, for each rater pair measured that rated it, one confusion cell:
items alike in both contribute the same, so the items are grouped into patterns, each with its
count and its contribution to every sum. A bootstrap resample of items is then just other counts
per pattern, and a stack of resamples `w` (resamples x patterns) gives every sum at once as
`w @ contribution`. Patterns are found on a sparse items x features matrix, never items x raters:
17,000 crowd raters, two per item, whose pairs share too few items to be measured, give a few
dozen patterns (one per pair of values); five raters who rated everything, one per rating row.
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
)
from reviewdesk.agreement.pairs import RaterPairs, find_pairs
from reviewdesk.agreement.ratings import Level, Ratings


@dataclass(frozen=True, eq=False)
class ItemTables:
    """Items with two or more ratings, grouped by pattern, with each pattern's contribution to every figure."""

    ratings: Ratings
    first: np.ndarray  # per pattern: the index (in ratings.items) of its first item
    counts: np.ndarray  # items per pattern
    level: Level
    points: np.ndarray
    n_values: int
    n_pairs: int
    weights: KappaWeights
    agree: np.ndarray  # per pattern: share of agreeing rater pairs
    totals: sparse.csr_matrix  # values x patterns: ratings of each value
    coinc: sparse.csr_matrix  # values^2 x patterns: coincidence contributions
    cells: sparse.csr_matrix  # (pairs x values^2) x patterns: confusion cells per rater pair

    @classmethod
    def from_ratings(
        cls,
        r: Ratings,
        pairs: RaterPairs | Sequence[tuple[int, int]] | None = None,
        weights: KappaWeights = "unweighted",
    ) -> ItemTables:
        """Group the pairable items of `r`; `pairs` (or index pairs) are those whose kappa is wanted, default all."""
        if pairs is None:
            pairs = find_pairs(r, min_shared_items=1)
        elif not isinstance(pairs, RaterPairs):
            pairs = find_pairs(r, only=pairs)
        v = len(r.values)
        items = np.flatnonzero(pairable(r))
        position = np.full(len(r.items), -1, dtype=np.int64)
        position[items] = np.arange(len(items))
        ones = np.ones(len(pairs.item), dtype=np.float64)
        cell_shape = (len(items), len(pairs.a) * v * v)
        cells = sparse.csr_matrix((ones, (position[pairs.item], pairs.pair * v * v + pairs.cell)), shape=cell_shape)
        per_value = r.counts[items]
        first, counts = patterns(sparse.hstack([per_value, cells], format="csr"))
        per_value = per_value[first]
        return cls(
            ratings=r,
            first=items[first],
            counts=counts,
            level=r.level,
            points=r.points,
            n_values=v,
            n_pairs=len(pairs.a),
            weights=weights,
            agree=agreeing_share(per_value),
            totals=per_value.T.tocsr(),
            coinc=_coincidence_contributions(per_value, v),
            cells=cells[first].T.tocsr(),
        )

    @property
    def rows(self) -> np.ndarray:
        """Each pattern's first item as a rating row (patterns x raters, dense): for inspection of small data."""
        return self.ratings.rows(self.first)

    @property
    def observed(self) -> np.ndarray:
        """The data itself as one weight row."""
        return self.counts[None, :].astype(np.float64)

    def width(self) -> int:
        """The widest per-resample result, for sizing chunks."""
        return max(len(self.counts), self.n_values**2 * max(self.n_pairs, 1))

    def percent_agreement(self, w: np.ndarray) -> np.ndarray:
        """P-bar for each weight row: the item-weighted mean share of agreeing rater pairs."""
        return (w @ self.agree) / w.sum(axis=1)

    def coincidences(self, w: np.ndarray) -> np.ndarray:
        """Krippendorff's coincidence matrix for each weight row (rows x values x values)."""
        return _sums(self.coinc, w).reshape(-1, self.n_values, self.n_values)

    def alpha(self, w: np.ndarray) -> np.ndarray:
        """Krippendorff's alpha for each weight row, from the summed coincidence matrix."""
        return alpha_from_coincidences(self.coincidences(w), self.level, self.points)

    def fleiss(self, w: np.ndarray) -> np.ndarray:
        """Fleiss' kappa; meaningful only when every item has the same number of ratings."""
        return fleiss_from_counts(self.percent_agreement(w), _sums(self.totals, w))

    def kappas(self, w: np.ndarray) -> np.ndarray:
        """Cohen's kappa per rater pair: resamples x pairs (NaN where undefined)."""
        v = self.n_values
        confusion = _sums(self.cells, w).reshape(-1, self.n_pairs, v, v)
        return kappa_from_confusions(confusion, self.weights)


def patterns(features: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a sparse matrix of small counts: the first row with each (in row order), and how many."""
    f = sparse.csr_matrix(features, copy=True)
    f.sum_duplicates()
    f.eliminate_zeros()
    width = np.diff(f.indptr)
    entry = f.indices.astype(np.int64) * (int(f.data.max(initial=0)) + 1) + f.data.astype(np.int64)
    firsts, counts = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for w in np.unique(width).tolist():  # rows of one width form a dense block of their entries
        rows = np.flatnonzero(width == w)
        first, count = _distinct(entry[f.indptr[rows][:, None] + np.arange(w)])
        firsts.append(rows[first])
        counts.append(count)
    first, count = np.concatenate(firsts), np.concatenate(counts)
    order = np.argsort(first)
    return first[order], count[order]


def hash_multipliers(width: int) -> np.ndarray:
    """Fixed random odd multipliers for hashing rows of `width` entries (mod 2^64)."""
    return np.random.default_rng(width).integers(0, 2**63, size=width, dtype=np.uint64) * 2 + 1


def _distinct(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equal rows of a dense block: hashed to one number each, and checked, so a hash collision cannot merge rows."""
    key = (block.astype(np.uint64) * hash_multipliers(block.shape[1])).sum(axis=1, dtype=np.uint64)
    _, first, inverse, count = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
    if (block[first][inverse] == block).all():
        return first, count
    _, first, count = np.unique(block, axis=0, return_index=True, return_counts=True)
    return first, count


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
