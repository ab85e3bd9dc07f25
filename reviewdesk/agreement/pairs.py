"""Rater pairs: for every two raters who share items, their agreement, Cohen's kappa and confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix

from reviewdesk.agreement.coefficients import KappaWeights, sklearn_kappa
from reviewdesk.agreement.ratings import Ratings, plain


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


def sharing_pairs(r: Ratings) -> list[tuple[int, int]]:
    """Index pairs (a < b) of raters who rated at least one item in common."""
    rated = (r.codes >= 0).astype(np.float64)
    shared = rated.T @ rated
    a, b = np.nonzero(np.triu(shared, k=1) > 0)
    return list(zip(a.tolist(), b.tolist(), strict=True))


def pair_agreements(
    r: Ratings, weights: KappaWeights = "unweighted", pairs: Sequence[tuple[int, int]] | None = None
) -> list[PairAgreement]:
    """Each pair of raters sharing items: share of identical ratings, sklearn's kappa and confusion matrix."""
    v = len(r.values)
    found = []
    for a, b in sharing_pairs(r) if pairs is None else pairs:
        both = (r.codes[:, a] >= 0) & (r.codes[:, b] >= 0)
        ya, yb = r.codes[both, a], r.codes[both, b]
        confusion = confusion_matrix(ya, yb, labels=np.arange(v))
        found.append(
            PairAgreement(
                rater_a=r.raters[a],
                rater_b=r.raters[b],
                n_items=int(both.sum()),
                agreement=float(np.mean(ya == yb)),
                kappa=sklearn_kappa(ya, yb, v, weights),
                confusion=tuple(tuple(int(x) for x in row) for row in confusion),
            )
        )
    return found
