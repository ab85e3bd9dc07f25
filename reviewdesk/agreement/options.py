"""Where reviewers disagree among a criterion's options: the most confused option pairs and per-option agreement.

A low alpha says a criterion is unclear, not which part. Both figures come from Krippendorff's
coincidence matrix (`coefficients.coincidences`): over items with two or more ratings, o_ck counts
the pairs of ratings of one item that gave c and k, each item weighing its m ratings (each of the
m (m - 1) ordered pairs counts 1 / (m - 1)), so with two reviewers per item o_ck + o_kc is the
number of items one gave c and the other k.

- **Confused pairs**: each unordered pair of options {c, k}, with its share of all disagreeing
  pairs ((o_ck + o_kc) / sum of the off-diagonal) and of all paired ratings ((o_ck + o_kc) / n),
  and how it compares with chance (observed over expected coincidences, n_c n_k / (n - 1) each way;
  below 1 is fewer confusions than chance would give).
- **Per-option agreement**: Krippendorff's alpha of the option against the rest (the ratings
  binarised to "this option" or "another"), nominal. Its coincidence matrix is read off the full one:
  o_jj, n_j - o_jj and n - 2 n_j + o_jj, so alpha_j = 1 - (n - 1) (n_j - o_jj) / (n_j (n - n_j)).
  With every item rated by the same m raters it equals 1 - (n - 1) / n (1 - kappa_j), kappa_j being
  Fleiss' (1971) category-specific kappa. Intervals are the seeded item bootstrap of `bootstrap.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from reviewdesk.agreement.bootstrap import percentile_cis, resample_counts
from reviewdesk.agreement.coefficients import alpha_from_coincidences, defined
from reviewdesk.agreement.ratings import Ratings, plain
from reviewdesk.agreement.tables import ItemTables

TOP_PAIRS = 3  # confused pairs shown in reports; the JSON keeps every pair with a confusion


@dataclass(frozen=True)
class ConfusedPair:
    """Two options reviewers of one item gave, how often, and against chance."""

    a: Any
    b: Any
    coincidences: float  # o_ab + o_ba: items, with two reviewers per item
    share_of_disagreements: float
    share_of_pairs: float
    over_chance: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"a": plain(self.a), "b": plain(self.b), "coincidences": self.coincidences,
                "share_of_disagreements": self.share_of_disagreements, "share_of_pairs": self.share_of_pairs,
                "over_chance": self.over_chance}  # fmt: skip


@dataclass(frozen=True)
class OptionAgreement:
    """Krippendorff's alpha of one option against the rest, with its bootstrap CI; None (and a note) if undefined."""

    option: Any
    n_ratings: int  # ratings of the option on items with two or more ratings
    share: float  # of those items' ratings
    alpha: float | None
    ci: tuple[float, float] | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"option": plain(self.option), "n_ratings": self.n_ratings, "share": self.share, "alpha": self.alpha,
                "ci": list(self.ci) if self.ci else None, "note": self.note}  # fmt: skip


def option_coincidences(o: np.ndarray) -> np.ndarray:
    """Each option's 2 x 2 coincidence matrix against the rest: (... x values x values) -> (... x values x 2 x 2)."""
    n_v = o.sum(axis=-1)
    n = n_v.sum(axis=-1, keepdims=True)
    same = np.diagonal(o, axis1=-2, axis2=-1)
    apart = n_v - same
    return np.stack([np.stack([same, apart], -1), np.stack([apart, n - 2 * n_v + same], -1)], -2)


def option_alphas(o: np.ndarray) -> np.ndarray:
    """Per option, alpha of the option against the rest, for a stack of coincidence matrices (B x V x V -> B x V)."""
    binary = option_coincidences(o)
    flat = binary.reshape(-1, 2, 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return alpha_from_coincidences(flat, "nominal", np.arange(2.0)).reshape(binary.shape[:-2])


def confused_pairs(r: Ratings) -> list[ConfusedPair]:
    """Every pair of options some item got both of, most confused first (see the module docstring)."""
    tables = ItemTables.from_ratings(r, pairs=[])
    o = tables.coincidences(tables.observed)[0]
    n_v, n = o.sum(axis=1), float(o.sum())
    off = n - float(np.trace(o))
    found = []
    for a in range(len(r.values)):
        for b in range(a + 1, len(r.values)):
            together = float(o[a, b] + o[b, a])
            if together > 0:
                chance = 2 * n_v[a] * n_v[b] / (n - 1)
                found.append(ConfusedPair(r.values[a], r.values[b], together, together / off, together / n,
                                          defined(together / chance) if chance else None))  # fmt: skip
    return sorted(found, key=lambda p: -p.coincidences)


def option_agreement(
    r: Ratings, resamples: int = 1000, seed: int = 0, confidence: float = 0.95
) -> list[OptionAgreement]:
    """Each option's alpha against the rest, with a seeded item-bootstrap CI (see the module docstring)."""
    tables = ItemTables.from_ratings(r, pairs=[])
    o = tables.coincidences(tables.observed)[0]
    n_v, n = o.sum(axis=1), o.sum()
    point = option_alphas(o[None])[0]
    draws = [option_alphas(tables.coincidences(w)) for w in resample_counts(tables.counts, resamples,
             np.random.default_rng(seed), tables.width())] if resamples and n else []  # fmt: skip
    cis = percentile_cis(np.concatenate(draws), confidence) if draws else [None] * len(r.values)
    out = []
    for j, option in enumerate(r.values):
        note = "no rating of this option" if n_v[j] == 0 else "every rating is this option" if n_v[j] == n else None
        alpha = None if note else defined(point[j])
        out.append(OptionAgreement(option, round(float(n_v[j])), float(n_v[j] / n) if n else 0.0, alpha,
                                   cis[j] if alpha is not None else None, note))  # fmt: skip
    return out


__all__ = ["TOP_PAIRS", "ConfusedPair", "OptionAgreement", "confused_pairs", "option_agreement", "option_alphas"]
