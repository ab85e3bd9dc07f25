"""Did agreement change? Krippendorff's alpha on two independent sets of items, and their difference with a CI.

What a rubric edit needs: the items labelled under the old rubric and those under the new one are
different items, so each set is resampled on its own (a two-sample item bootstrap, the one of
`bootstrap.py`, seeded apart), and each resample's difference after minus before gives a percentile
interval. An interval that excludes 0 says the change is real at that confidence; one that covers 0
says the data cannot tell it from no change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from reviewdesk.agreement.bootstrap import bootstrap, percentile_ci
from reviewdesk.agreement.coefficients import Coefficient, krippendorff_alpha
from reviewdesk.agreement.ratings import Ratings
from reviewdesk.agreement.tables import ItemTables


@dataclass(frozen=True)
class AlphaDifference:
    """Alpha before and after, and after minus before with its bootstrap CI (None when either alpha is undefined)."""

    before: Coefficient
    after: Coefficient
    difference: float | None
    ci: tuple[float, float] | None
    confidence: float

    @property
    def distinguishable(self) -> bool:
        """Whether the interval excludes 0: the change is told apart from no change."""
        return self.ci is not None and (self.ci[0] > 0 or self.ci[1] < 0)

    def as_dict(self) -> dict[str, Any]:
        return {"before": self.before.as_dict(), "after": self.after.as_dict(), "difference": self.difference,
                "ci": list(self.ci) if self.ci else None, "confidence": self.confidence,
                "distinguishable": self.distinguishable}  # fmt: skip


def _draws(r: Ratings, resamples: int, seed: int) -> np.ndarray:
    return bootstrap(ItemTables.from_ratings(r, pairs=[]), resamples, seed, fleiss=False).alpha


def alpha_difference(
    before: Ratings, after: Ratings, resamples: int = 1000, seed: int = 0, confidence: float = 0.95
) -> AlphaDifference:
    """Alpha of each set of ratings, and after minus before with a two-sample item-bootstrap CI."""
    a, b = krippendorff_alpha(before), krippendorff_alpha(after)
    if a.value is None or b.value is None:
        return AlphaDifference(a, b, None, None, confidence)
    ci = percentile_ci(_draws(after, resamples, seed + 1) - _draws(before, resamples, seed), confidence) \
        if resamples else None  # fmt: skip
    return AlphaDifference(a, b, b.value - a.value, ci, confidence)


__all__ = ["AlphaDifference", "alpha_difference"]
