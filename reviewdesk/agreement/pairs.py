"""Rater pairs: for every two raters who share enough items, their agreement, Cohen's kappa and confusion matrix.

Pairs are found from the items, never by enumerating raters x raters: an item with m ratings gives
its m (m - 1) / 2 co-ratings, so the work follows the labels and the raters per item, not the
number of raters. In crowd labelling most pairs share one or two items, where a kappa says nothing
(and there are as many such pairs as items): pairs sharing fewer than `min_shared_items`
(MIN_SHARED_ITEMS, 10, by default) are skipped, and `RaterPairs` counts them so that the summary
can say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from reviewdesk.agreement.coefficients import KappaWeights, kappa_from_confusions
from reviewdesk.agreement.ratings import Ratings, plain

# Fewer shared items than this and a pair's kappa is noise (and crowds have a pair per item or so).
MIN_SHARED_ITEMS = 10


@dataclass(frozen=True)
class PairAgreement:
    """Two raters over the items both rated; `confusion[i][j]` counts items a rated values[i] and b values[j]."""

    rater_a: Any
    rater_b: Any
    n_items: int
    agreement: float
    kappa: float | None
    confusion: tuple[tuple[int, ...], ...]
    kappa_ci: tuple[float, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rater_a": plain(self.rater_a),
            "rater_b": plain(self.rater_b),
            "n_items": self.n_items,
            "agreement": self.agreement,
            "kappa": self.kappa,
            "kappa_ci": list(self.kappa_ci) if self.kappa_ci else None,
            "confusion": [list(row) for row in self.confusion],
        }


@dataclass(frozen=True, eq=False)
class RaterPairs:
    """The rater pairs measured, and their co-ratings: one entry per item a pair both rated.

    `a` and `b` are rater indexes (a < b); `n_items` the items each pair shares. Co-rating k is pair
    `pair[k]` on item `item[k]`, in confusion cell `cell[k]` (a's code x n_values + b's code).
    `n_sharing` counts every pair sharing at least one item; those sharing fewer than
    `min_shared_items` are skipped (`skipped`).
    """

    a: np.ndarray
    b: np.ndarray
    n_items: np.ndarray
    pair: np.ndarray
    item: np.ndarray
    cell: np.ndarray
    n_values: int
    n_sharing: int
    min_shared_items: int

    @property
    def skipped(self) -> int:
        """Pairs that share items, but fewer than the minimum."""
        return self.n_sharing - len(self.a)

    def index_pairs(self) -> list[tuple[int, int]]:
        """The measured pairs as (a, b) rater indexes."""
        return list(zip(self.a.tolist(), self.b.tolist(), strict=True))

    def confusions(self) -> np.ndarray:
        """Per measured pair, its confusion matrix (pairs x values x values), rows a's values, columns b's."""
        v2 = self.n_values**2
        flat = np.bincount(self.pair * v2 + self.cell, minlength=len(self.a) * v2)
        return flat.reshape(len(self.a), self.n_values, self.n_values)

    def note(self) -> str | None:
        """Why pairs are missing from the per-pair figures, if any are."""
        if not self.skipped:
            return None
        return (
            f"{self.skipped:,} of {self.n_sharing:,} rater pairs share fewer than {self.min_shared_items} items: "
            "left out of the per-pair figures"
        )


def co_ratings(r: Ratings) -> tuple[np.ndarray, np.ndarray]:
    """Label indexes (i, j) of every two ratings of one item, rater i's index below rater j's."""
    order = np.lexsort((r.rater_idx, r.item_idx))
    item = r.item_idx[order]
    starts = np.cumsum(r.per_item) - r.per_item
    later = r.per_item[item] - (np.arange(len(order)) - starts[item]) - 1  # ratings of the item after this one
    first = np.repeat(np.arange(len(order)), later)
    second = first + 1 + np.arange(len(first)) - np.repeat(np.cumsum(later) - later, later)
    return order[first], order[second]


def find_pairs(
    r: Ratings, min_shared_items: int = MIN_SHARED_ITEMS, only: Sequence[tuple[int, int]] | None = None
) -> RaterPairs:
    """The rater pairs sharing at least `min_shared_items` items (or exactly the index pairs `only`, in that order)."""
    i, j = co_ratings(r)
    n_raters = max(len(r.raters), 1)
    sharing, inverse, shared = np.unique(r.rater_idx[i] * n_raters + r.rater_idx[j], return_inverse=True,
                                         return_counts=True)  # fmt: skip
    position = np.full(len(sharing), -1, dtype=np.int64)
    if only is None:
        kept = np.flatnonzero(shared >= min_shared_items)
        position[kept] = np.arange(len(kept))
        a, b = sharing[kept] // n_raters, sharing[kept] % n_raters
    else:
        a = np.array([p[0] for p in only], dtype=np.int64)
        b = np.array([p[1] for p in only], dtype=np.int64)
        wanted = a * n_raters + b
        where = np.searchsorted(sharing, wanted).clip(max=max(len(sharing) - 1, 0))
        found = np.flatnonzero(sharing[where] == wanted) if len(sharing) else np.zeros(0, dtype=np.int64)
        position[where[found]] = found
    pair = position[inverse]
    mine = pair >= 0
    v = len(r.values)
    return RaterPairs(
        a=a.astype(np.int64),
        b=b.astype(np.int64),
        n_items=np.bincount(pair[mine], minlength=len(a)),
        pair=pair[mine],
        item=r.item_idx[i[mine]],
        cell=r.code[i[mine]].astype(np.int64) * v + r.code[j[mine]],
        n_values=v,
        n_sharing=len(sharing),
        min_shared_items=min_shared_items,
    )


def sharing_pairs(r: Ratings, min_shared_items: int = 1) -> list[tuple[int, int]]:
    """Index pairs (a < b) of raters who rated at least `min_shared_items` items in common."""
    return find_pairs(r, min_shared_items).index_pairs()


def pair_agreements(
    r: Ratings,
    weights: KappaWeights = "unweighted",
    pairs: RaterPairs | None = None,
    kappa_cis: Sequence[tuple[float, float] | None] | None = None,
) -> list[PairAgreement]:
    """Each measured pair (default: sharing MIN_SHARED_ITEMS or more items): identical ratings, kappa, confusion."""
    pairs = find_pairs(r) if pairs is None else pairs
    confusion = pairs.confusions()
    kappas = kappa_from_confusions(confusion.astype(np.float64), weights).tolist()
    agreement = (np.trace(confusion, axis1=1, axis2=2) / np.maximum(pairs.n_items, 1)).tolist()
    cis = [None] * len(pairs.a) if kappa_cis is None else kappa_cis
    return [
        PairAgreement(
            rater_a=r.raters[a],
            rater_b=r.raters[b],
            n_items=n,
            agreement=same,
            kappa=None if kappa != kappa else kappa,  # NaN: undefined
            confusion=tuple(map(tuple, table)),
            kappa_ci=ci if kappa == kappa else None,
        )
        for a, b, n, same, kappa, table, ci in zip(
            pairs.a.tolist(), pairs.b.tolist(), pairs.n_items.tolist(), agreement, kappas, confusion.tolist(), cis,
            strict=True,
        )
    ]
