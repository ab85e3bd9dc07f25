"""Per rater: agreement with the other raters on shared items, and accuracy on gold items."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from reviewdesk.agreement.pairs import PairAgreement
from reviewdesk.agreement.ratings import MISSING, Ratings, plain, value_key

WRONG = -2  # a gold value that is not on the scale: no rating can match it


@dataclass(frozen=True)
class RaterAgreement:
    """One rater against the rest, to spot who needs calibration.

    `agreement` is the share of the other raters' ratings, on the items this rater also rated,
    that match this rater's (no pair needed); `mean_kappa` the mean Cohen's kappa over this rater's
    measured pairs, `n_pairs` of them (pairs sharing fewer than `min_shared_items` are not measured).
    """

    rater: Any
    n_items: int
    n_compared: int
    agreement: float | None
    mean_kappa: float | None
    n_pairs: int
    gold_ratings: int = 0
    gold_accuracy: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rater": plain(self.rater),
            "n_items": self.n_items,
            "n_compared": self.n_compared,
            "agreement": self.agreement,
            "mean_kappa": self.mean_kappa,
            "n_pairs": self.n_pairs,
            "gold_ratings": self.gold_ratings,
            "gold_accuracy": self.gold_accuracy,
        }


@dataclass(frozen=True)
class GoldAccuracy:
    """All raters together on gold items: the share of their ratings that equal the known answer."""

    n_items: int
    n_ratings: int
    accuracy: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"n_items": self.n_items, "n_ratings": self.n_ratings, "accuracy": self.accuracy}


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den > 0 else None


def gold_codes(r: Ratings, gold: Mapping[Any, Any]) -> np.ndarray:
    """Per item of `r`: the gold value's position on the scale, MISSING if not gold, WRONG if off the scale."""
    position = {value_key(v): i for i, v in enumerate(r.values)}
    index = {item: i for i, item in enumerate(r.items.tolist())}
    codes = np.full(len(r.items), MISSING, dtype=np.int64)
    for item, answer in dict(gold).items():
        i = index.get(item)
        if i is not None and answer is not None and answer == answer:  # NaN gold answers are no answer
            codes[i] = position.get(value_key(answer), WRONG)
    return codes


def gold_accuracy(r: Ratings, gold: Mapping[Any, Any]) -> tuple[GoldAccuracy, np.ndarray, np.ndarray]:
    """Accuracy on gold items overall, plus per rater: gold ratings and correct ones."""
    answer = gold_codes(r, gold)[r.item_idx]
    on_gold = answer != MISSING
    correct = on_gold & (answer == r.code)
    n_raters = len(r.raters)
    ratings = np.bincount(r.rater_idx[on_gold], minlength=n_raters)
    right = np.bincount(r.rater_idx[correct], minlength=n_raters)
    overall = GoldAccuracy(
        n_items=int(np.unique(r.item_idx[on_gold]).size),
        n_ratings=int(on_gold.sum()),
        accuracy=_ratio(correct.sum(), on_gold.sum()),
    )
    return overall, ratings, right


def rater_agreements(
    r: Ratings, pairs: Sequence[PairAgreement], gold: Mapping[Any, Any] | None = None
) -> list[RaterAgreement]:
    """Each rater's agreement with the others on shared items, mean pairwise kappa, and gold accuracy."""
    v = len(r.values)
    _, inverse, same_value = np.unique(r.item_idx * v + r.code, return_inverse=True, return_counts=True)
    agreeing = same_value[inverse] - 1  # other raters who gave this item the same value
    others = r.per_item[r.item_idx] - 1
    n_raters = len(r.raters)
    agree_sum = np.bincount(r.rater_idx, weights=agreeing, minlength=n_raters)
    other_sum = np.bincount(r.rater_idx, weights=others, minlength=n_raters)
    rated = np.bincount(r.rater_idx, minlength=n_raters)
    compared = np.bincount(r.rater_idx, weights=others > 0, minlength=n_raters)
    kappas: dict[Any, list[float]] = {}
    paired: dict[Any, int] = {}
    for p in pairs:
        for rater in (p.rater_a, p.rater_b):
            paired[rater] = paired.get(rater, 0) + 1
            if p.kappa is not None:
                kappas.setdefault(rater, []).append(p.kappa)
    if gold is not None:
        _, gold_ratings, gold_right = gold_accuracy(r, gold)
    else:
        gold_ratings = gold_right = np.zeros(n_raters, dtype=np.int64)
    return [
        RaterAgreement(
            rater=rater,
            n_items=int(rated[i]),
            n_compared=int(compared[i]),
            agreement=_ratio(agree_sum[i], other_sum[i]),
            mean_kappa=float(np.mean(kappas[rater])) if kappas.get(rater) else None,
            n_pairs=paired.get(rater, 0),
            gold_ratings=int(gold_ratings[i]),
            gold_accuracy=_ratio(gold_right[i], gold_ratings[i]),
        )
        for i, rater in enumerate(r.raters.tolist())
    ]
