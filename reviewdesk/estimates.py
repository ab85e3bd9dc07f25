"""Estimates of production quality from a reviewed sample, weighted by each item's inclusion probability."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist


@dataclass
class Estimate:
    """A population proportion (or mean of values in [0, 1]) with its normal confidence interval."""

    proportion: float
    low: float
    high: float
    stderr: float
    n: int
    population: float


def horvitz_thompson(
    values: Sequence[float],
    probabilities: Sequence[float],
    population: int | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Estimate a population proportion from sampled values y_i in [0, 1] and their inclusion probabilities.

    A plain mean of the labels would over-represent whatever the design oversampled; weighting
    each label by 1/pi_i undoes that. With t = sum y_i/pi_i:

    - known population N: p = t / N (Horvitz-Thompson), linearised values z_i = y_i / pi_i;
    - otherwise N^ = sum 1/pi_i and p = t / N^ (the Hajek ratio), z_i = (y_i - p) / pi_i.

    Variance: units with pi_i = 1 were certain to be drawn and add none. Over the m others,
    the with-replacement (Hansen-Hurwitz) approximation v = m/(m-1) * sum (z_i - mean z)^2,
    times the finite population correction (1 - m/N_rest), N_rest = N (or N^) minus the
    certain units; Var(p) = v / N^2. For a simple random sample this is the textbook
    (1 - n/N) p(1-p)/(n-1). The interval is p +- z_{(1+confidence)/2} * stderr, clipped to [0, 1];
    like every Wald interval it is too narrow for tiny samples or p near 0 or 1.
    """
    y = [float(v) for v in values]
    p = [float(v) for v in probabilities]
    if len(y) != len(p):
        raise ValueError(f"{len(y)} values but {len(p)} probabilities: give one probability per value")
    if not y:
        raise ValueError("no values: an estimate needs at least one sampled value")
    if any(not 0.0 <= v <= 1.0 for v in y):
        raise ValueError("values must lie in [0, 1] (a 0/1 label, or a score scaled to [0, 1])")
    if any(not 0.0 < v <= 1.0 for v in p):
        raise ValueError("inclusion probabilities must lie in (0, 1]; gold items have none and do not belong here")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    if population is not None and population < len(y):
        raise ValueError(f"population {population} is smaller than the sample ({len(y)})")
    total = sum(yi / pi for yi, pi in zip(y, p, strict=True))
    n_hat = float(population) if population is not None else sum(1.0 / pi for pi in p)
    prop = total / n_hat
    if population is not None:
        z = [yi / pi for yi, pi in zip(y, p, strict=True) if pi < 1.0]
    else:
        z = [(yi - prop) / pi for yi, pi in zip(y, p, strict=True) if pi < 1.0]
    m = len(z)
    if m == 0:
        stderr = 0.0  # a census: nothing is estimated
    elif m == 1:
        stderr = math.inf  # one uncertain unit carries no information about its own spread
    else:
        mean = sum(z) / m
        v = m / (m - 1) * sum((zi - mean) ** 2 for zi in z)
        rest = n_hat - (len(y) - m)
        fpc = max(0.0, 1.0 - m / rest) if rest > 0 else 0.0
        stderr = math.sqrt(v * fpc) / n_hat
    half = NormalDist().inv_cdf(0.5 + confidence / 2) * stderr
    low = min(1.0, max(0.0, prop - half))
    high = max(0.0, min(1.0, prop + half))
    return Estimate(prop, low, high, stderr, len(y), n_hat)
