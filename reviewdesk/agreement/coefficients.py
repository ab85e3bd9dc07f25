"""The agreement coefficients, all from count tables whose size follows the labels, never the raters.

Alpha, Fleiss' kappa and percent agreement depend only on how many raters gave each value to each
item: the sparse items x values matrix `Ratings.counts` (alpha's coincidence matrix is a sum over
items). Alpha's point value comes from the `krippendorff` package, given those counts
(`value_counts=`, not its raters x items reliability data). Cohen's kappa comes from each pair's
confusion matrix (pairs.py), with scikit-learn's formula. The `*_from_*` functions take count
tables with a leading resample axis, which is what makes a 1,000-resample bootstrap cheap (see
tables.py); tests hold them to the package and to scikit-learn within 1e-9.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import krippendorff
import numpy as np
from scipy import sparse

from reviewdesk.agreement.ratings import Level, Ratings

KappaWeights = Literal["unweighted", "linear", "quadratic"]
KAPPA_WEIGHTS: tuple[str, ...] = ("unweighted", "linear", "quadratic")

# The krippendorff package builds an items x values x values array; above this many cells the
# coincidence-table path (equal to 1e-9, see tests) gives the point value instead.
PACKAGE_CELLS = 30_000_000


@dataclass(frozen=True)
class Coefficient:
    """One agreement figure with the data behind it; `value` is None when undefined, and `note` says why."""

    name: str
    value: float | None
    n_items: int
    n_raters: int
    ci: tuple[float, float] | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "ci": list(self.ci) if self.ci else None,
            "n_items": self.n_items,
            "n_raters": self.n_raters,
            "note": self.note,
        }


def defined(x: float) -> float | None:
    """A float for JSON, or None for NaN/inf."""
    return float(x) if np.isfinite(x) else None


def pairable(r: Ratings) -> np.ndarray:
    """Items with at least two ratings: the only ones that say anything about agreement."""
    return r.per_item >= 2


def raters_behind(r: Ratings, items: np.ndarray) -> int:
    """Raters with at least one rating on the given items (boolean mask over r.items)."""
    return int(np.count_nonzero(np.bincount(r.rater_idx[items[r.item_idx]], minlength=len(r.raters))))


def agreeing_share(counts: sparse.csr_matrix) -> np.ndarray:
    """Per item, the share of ordered rater pairs that gave the same value: sum n_c (n_c - 1) / (m (m - 1))."""
    m = np.asarray(counts.sum(axis=1)).ravel()
    same = np.asarray(counts.multiply(counts).sum(axis=1)).ravel() - m
    return np.divide(same, m * (m - 1), out=np.full_like(m, np.nan), where=m >= 2)


def percent_agreement(r: Ratings) -> Coefficient:
    """Observed agreement: the mean over items with two or more ratings of the share of agreeing rater pairs."""
    items = pairable(r)
    n_items, n_raters = int(items.sum()), raters_behind(r, items)
    if n_items == 0:
        return Coefficient("percent_agreement", None, 0, n_raters, note="no item has two ratings")
    share = agreeing_share(r.counts[items])
    return Coefficient("percent_agreement", float(share.mean()), n_items, n_raters)


def fleiss_kappa(r: Ratings) -> Coefficient:
    """Fleiss' kappa (nominal): defined when every rated item has the same number of ratings, two or more."""
    per_item = r.per_item
    rated = per_item > 0
    n_items, n_raters = int(rated.sum()), raters_behind(r, rated)
    m = np.unique(per_item[rated])
    if len(m) != 1 or m[0] < 2:
        spread = f"{m.min()} to {m.max()}" if len(m) > 1 else f"{m[0] if len(m) else 0}"
        note = f"items have {spread} ratings: needs the same number, two or more, on every item"
        return Coefficient("fleiss_kappa", None, n_items, n_raters, note=note)
    counts = r.counts[rated]
    totals = np.asarray(counts.sum(axis=0)).reshape(1, -1)
    value = fleiss_from_counts(np.array([agreeing_share(counts).mean()]), totals)[0]
    note = None if np.isfinite(value) else "every rating is the same value: chance agreement is 1"
    return Coefficient("fleiss_kappa", defined(value), n_items, n_raters, note=note)


def krippendorff_alpha(r: Ratings) -> Coefficient:
    """Krippendorff's alpha at the ratings' level, missing ratings allowed (value from the krippendorff package)."""
    items = pairable(r)
    n_items, n_raters = int(items.sum()), raters_behind(r, items)
    name = "krippendorff_alpha"
    if n_items == 0:
        return Coefficient(name, None, 0, n_raters, note="no item has two ratings")
    counts = r.counts[items]
    if (np.asarray(counts.sum(axis=0)).ravel() > 0).sum() < 2:
        return Coefficient(name, None, n_items, n_raters, note="every rating is the same value: nothing to agree on")
    if n_items * len(r.values) ** 2 <= PACKAGE_CELLS:
        value = krippendorff.alpha(value_counts=counts.toarray(), value_domain=r.points, level_of_measurement=r.level)
    else:
        value = alpha_from_coincidences(coincidences(counts)[None], r.level, r.points)[0]
    return Coefficient(name, defined(value), n_items, n_raters)


def coincidences(counts: sparse.csr_matrix) -> np.ndarray:
    """Krippendorff's coincidence matrix o_ck = sum over items of (n_uc n_uk - [c=k] n_uc) / (m_u - 1)."""
    m = np.asarray(counts.sum(axis=1)).ravel()
    w = np.divide(1.0, m - 1, out=np.zeros_like(m), where=m >= 2)
    o = (counts.T @ sparse.diags(w) @ counts).toarray()
    return o - np.diag(np.asarray(counts.T @ (m >= 2).astype(np.float64)).ravel())


def distances(level: Level, points: np.ndarray, n_v: np.ndarray) -> np.ndarray:
    """Squared distances delta^2_ck per level; `n_v` (resamples x values) matters for ordinal only."""
    if level == "nominal":
        d = 1.0 - np.eye(len(points))
        return np.broadcast_to(d, (n_v.shape[0], *d.shape))
    if level == "ordinal":
        # (sum_{g=c..k} n_g - (n_c + n_k)/2)^2 is the squared gap between mid-ranks F_c - n_c/2.
        mid = np.cumsum(n_v, axis=1) - n_v / 2
        return (mid[:, :, None] - mid[:, None, :]) ** 2
    a, b = points[:, None], points[None, :]
    if level == "interval":
        d = (a - b) ** 2
    else:
        total = a + b
        d = np.divide(a - b, total, out=np.zeros_like(total * 1.0), where=total != 0) ** 2
    return np.broadcast_to(d, (n_v.shape[0], *d.shape))


def alpha_from_coincidences(o: np.ndarray, level: Level, points: np.ndarray) -> np.ndarray:
    """Alpha = 1 - (n - 1) sum o_ck d_ck / sum n_c n_k d_ck, for a stack of coincidence matrices (B x V x V)."""
    n_v = o.sum(axis=2)
    n = n_v.sum(axis=1)
    d = distances(level, points, n_v)
    observed = np.einsum("bck,bck->b", o, d)
    expected = np.einsum("bc,bck,bk->b", n_v, d, n_v)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1 - (n - 1) * observed / expected


def fleiss_from_counts(p_bar: np.ndarray, category_totals: np.ndarray) -> np.ndarray:
    """Fleiss' kappa (P-bar - P_e) / (1 - P_e), with P_e the sum of squared category shares (B x V totals)."""
    p = category_totals / category_totals.sum(axis=1, keepdims=True)
    p_e = (p**2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (p_bar - p_e) / (1 - p_e)


def kappa_weight_matrix(weights: KappaWeights, n_values: int) -> np.ndarray:
    """Disagreement weights by position on the scale, as scikit-learn uses them."""
    i = np.arange(n_values)
    gap = np.abs(i[:, None] - i[None, :]).astype(np.float64)
    return {"unweighted": (gap > 0).astype(np.float64), "linear": gap, "quadratic": gap**2}[weights]


def kappa_from_confusions(confusion: np.ndarray, weights: KappaWeights) -> np.ndarray:
    """Cohen's kappa 1 - sum w O / sum w E for confusion matrices (... x V x V), rows one rater, columns the other.

    Written with einsum throughout: for millions of small matrices it beats both reductions over
    short axes and BLAS, whose threads cost more than they give here.
    """
    w = kappa_weight_matrix(weights, confusion.shape[-1])
    rows, cols = np.einsum("...ij->...i", confusion), np.einsum("...ij->...j", confusion)
    total = np.einsum("...i->...", rows)
    observed = np.einsum("...ij,ij->...", confusion, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.einsum("...j,...j->...", np.einsum("...i,ij->...j", rows, w), cols) / total
        kappa = 1 - observed / expected
    return np.where(expected > 0, kappa, np.nan)
