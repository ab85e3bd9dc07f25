"""One call for every agreement figure of one criterion: `summarize(labels) -> AgreementSummary`.

The cost follows the labels, not the raters: the coefficients and their bootstrap work on the
sparse items x values counts, and rater pairs are found from the items and measured only when
they share `min_shared_items` items or more (the summary says how many were skipped).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from reviewdesk.agreement.bootstrap import bootstrap, percentile_ci, percentile_cis
from reviewdesk.agreement.coefficients import (
    KAPPA_WEIGHTS,
    Coefficient,
    KappaWeights,
    fleiss_kappa,
    krippendorff_alpha,
    pairable,
    percent_agreement,
)
from reviewdesk.agreement.pairs import MIN_SHARED_ITEMS, PairAgreement, RaterPairs, find_pairs, pair_agreements
from reviewdesk.agreement.preference import SIDES, PositionBias, position_bias, side_coded
from reviewdesk.agreement.raters import GoldAccuracy, RaterAgreement, gold_accuracy, rater_agreements
from reviewdesk.agreement.ratings import LabelsError, Ratings, check_level, plain
from reviewdesk.agreement.tables import ItemTables
from reviewdesk.errors import ConfigError

# Cohen's kappa weights when none are asked for: disagreements count by distance on ordered scales.
DEFAULT_KAPPA_WEIGHTS: dict[str, KappaWeights] = {
    "nominal": "unweighted", "ordinal": "linear", "interval": "quadratic", "ratio": "quadratic",
}  # fmt: skip
CI_KEYS = {
    "percent_agreement": "percent_agreement_ci", "krippendorff_alpha": "alpha_ci", "fleiss_kappa": "fleiss_kappa_ci",
    "cohen_kappa": "kappa_ci", "mean_pairwise_cohen_kappa": "kappa_ci",
}  # fmt: skip


@dataclass(frozen=True)
class AgreementSummary:
    """Every agreement figure for one criterion, each with its CI and the items and raters behind it.

    `kappa` is Cohen's kappa when there are exactly two raters (name "cohen_kappa"), else the mean
    of the pairwise kappas (name "mean_pairwise_cohen_kappa", Light's kappa). `pairs` holds the
    rater pairs sharing `min_shared_items` or more items; `skipped_pairs` of the `sharing_pairs`
    that share at least one item have fewer, and `pairs_note` says so. With two raters the one pair
    is the headline kappa and is always measured (`min_shared_items` is then 1).
    """

    level: str
    values: tuple[Any, ...]
    n_labels: int
    n_items: int
    n_pairable_items: int
    n_raters: int
    percent_agreement: Coefficient
    krippendorff_alpha: Coefficient
    fleiss_kappa: Coefficient
    kappa: Coefficient
    kappa_weights: KappaWeights
    pairs: tuple[PairAgreement, ...]
    min_shared_items: int
    sharing_pairs: int
    skipped_pairs: int
    pairs_note: str | None
    raters: tuple[RaterAgreement, ...]
    gold: GoldAccuracy | None
    preference: PositionBias | None
    resamples: int
    seed: int
    confidence: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the headline figures as flat keys, then the details."""
        figures = (self.percent_agreement, self.krippendorff_alpha, self.fleiss_kappa, self.kappa)
        flat: dict[str, Any] = {}
        for f in figures:
            flat[f.name] = f.value
            flat[CI_KEYS[f.name]] = list(f.ci) if f.ci else None
        return {
            "level": self.level,
            "values": [plain(v) for v in self.values],
            "n_labels": self.n_labels,
            "n_items": self.n_items,
            "n_pairable_items": self.n_pairable_items,
            "n_raters": self.n_raters,
            **flat,
            "kappa_weights": self.kappa_weights,
            "figures": {f.name: f.as_dict() for f in figures},
            "pairs": [p.as_dict() for p in self.pairs],
            "pair_selection": {
                "min_shared_items": self.min_shared_items,
                "sharing_pairs": self.sharing_pairs,
                "measured_pairs": len(self.pairs),
                "skipped_pairs": self.skipped_pairs,
                "note": self.pairs_note,
            },
            "raters": [r.as_dict() for r in self.raters],
            "gold": self.gold.as_dict() if self.gold else None,
            "preference": self.preference.as_dict() if self.preference else None,
            "bootstrap": {
                "resamples": self.resamples,
                "seed": self.seed,
                "confidence": self.confidence,
                "unit": "item",
                "interval": "percentile",
            },
        }


def summarize(
    labels: pd.DataFrame,
    level: str = "nominal",
    options: Sequence[Any] | None = None,
    gold: Mapping[Any, Any] | pd.Series | None = None,
    resamples: int = 1000,
    seed: int = 0,
    *,
    kappa_weights: KappaWeights | None = None,
    confidence: float = 0.95,
    left: Mapping[Any, Any] | pd.Series | None = None,
    min_shared_items: int = MIN_SHARED_ITEMS,
) -> AgreementSummary:
    """Measure agreement on one criterion from long-format labels (item, rater, value).

    `options` gives the scale's order (needed for ordinal text values). `gold` maps item -> known
    answer. With `left` (item -> run shown on the left), the values are pairwise preferences (run
    ids or "tie"): they are measured as left/right/tie, and `preference` holds ties and position bias.
    Rater pairs sharing fewer than `min_shared_items` items (default 10) are left out of the per-pair
    figures (pairs, mean pairwise kappa, each rater's mean kappa), and the summary counts them.
    """
    level = check_level(level)
    if resamples < 0:
        raise ConfigError(f"resamples must be 0 (no intervals) or more, not {resamples}.")
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must be between 0 and 1, e.g. 0.95, not {confidence}.")
    if min_shared_items < 1:
        raise ConfigError(f"min_shared_items must be 1 or more (default {MIN_SHARED_ITEMS}), not {min_shared_items}.")
    weights = kappa_weights or DEFAULT_KAPPA_WEIGHTS[level]
    if weights not in KAPPA_WEIGHTS:
        raise ConfigError(f"Unknown kappa weights {weights!r}: use unweighted, linear or quadratic.")
    preference = None
    if left is not None:
        if level != "nominal":
            raise ConfigError("Pairwise preferences are nominal (left, right or tie): use level='nominal'.")
        preference = position_bias(labels, left, resamples, seed, confidence)
        labels, options = side_coded(labels, left), SIDES
    r = Ratings.from_labels(labels, level, options)
    _refuse_unmeasurable(r)

    found = find_pairs(r, 1 if len(r.raters) == 2 else min_shared_items)
    fleiss = fleiss_kappa(r)
    tables = ItemTables.from_ratings(r, found, weights)
    draws = bootstrap(tables, resamples, seed, fleiss=fleiss.value is not None)
    pairs = pair_agreements(r, weights, found, percentile_cis(draws.kappas, confidence))

    def with_ci(c: Coefficient, samples: np.ndarray | None) -> Coefficient:
        ok = c.value is not None and samples is not None and samples.size
        return replace(c, ci=percentile_ci(samples, confidence) if ok else None)

    kappa = with_ci(*_kappa_figure(r, pairs, draws.kappas, found))
    return AgreementSummary(
        level=level,
        values=r.values,
        n_labels=r.n_labels,
        n_items=int((r.per_item > 0).sum()),
        n_pairable_items=int(pairable(r).sum()),
        n_raters=len(r.raters),
        percent_agreement=with_ci(percent_agreement(r), draws.percent_agreement),
        krippendorff_alpha=with_ci(krippendorff_alpha(r), draws.alpha),
        fleiss_kappa=with_ci(fleiss, draws.fleiss),
        kappa=kappa,
        kappa_weights=weights,
        pairs=tuple(pairs),
        min_shared_items=found.min_shared_items,
        sharing_pairs=found.n_sharing,
        skipped_pairs=found.skipped,
        pairs_note=found.note(),
        raters=tuple(rater_agreements(r, pairs, gold)),
        gold=gold_accuracy(r, gold)[0] if gold is not None else None,
        preference=preference,
        resamples=resamples,
        seed=seed,
        confidence=confidence,
    )


def _refuse_unmeasurable(r: Ratings) -> None:
    if len(r.raters) < 2:
        raise LabelsError(
            f"The labels hold ratings from {len(r.raters)} rater(s): agreement needs at least two raters "
            "who rated the same items."
        )
    if not pairable(r).any():
        raise LabelsError("No item was rated by two raters: agreement needs items with at least two ratings.")


def _row_means(samples: np.ndarray, columns: np.ndarray, block: int = 64) -> np.ndarray:
    """Per resample, the mean of the defined values in `columns`, a block of rows at a time (no full copy)."""
    means = np.empty(samples.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample where no pair's kappa is defined
        for start in range(0, samples.shape[0], block):
            means[start : start + block] = np.nanmean(samples[start : start + block, columns], axis=1)
    return means


def _kappa_figure(
    r: Ratings, pairs: Sequence[PairAgreement], samples: np.ndarray, found: RaterPairs
) -> tuple[Coefficient, np.ndarray | None]:
    """Cohen's kappa for two raters, or the mean over pairs with a defined kappa, with its resample values."""
    items = pairable(r)
    if len(r.raters) == 2:
        p = pairs[0]
        note = None if p.kappa is not None else "every rating is the same value: chance agreement is 1"
        return Coefficient("cohen_kappa", p.kappa, p.n_items, 2, note=note), samples[:, 0]
    usable = [i for i, p in enumerate(pairs) if p.kappa is not None]
    name = "mean_pairwise_cohen_kappa"
    skipped = f"; {found.note()}" if found.skipped else ""
    if not usable:
        return Coefficient(name, None, int(items.sum()), 0, note=f"no rater pair has a defined kappa{skipped}"), None
    raters = {x for i in usable for x in (pairs[i].rater_a, pairs[i].rater_b)}
    value = float(np.mean([pairs[i].kappa for i in usable]))
    means = _row_means(samples, np.array(usable)) if samples.size else None
    note = f"mean over {len(usable)} rater pairs{skipped}"
    return Coefficient(name, value, int(items.sum()), len(raters), note=note), means
