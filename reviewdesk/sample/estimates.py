"""Estimates of production quality from a reviewed sample, weighted by each item's inclusion probability."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class OutcomeEstimate:
    """The estimated share of production runs with one outcome, from one batch's consensus labels."""

    queue: str
    batch_id: str
    criterion: str
    outcome: str
    estimate: Estimate
    population: int  # the batch's sampling frame: production runs (or pairs) it was drawn from
    resolved: int  # sampled items with a consensus value, behind the estimate
    sampled: int  # sampled items in the batch (those without consensus are left out)
    methods: dict[str, int] = field(default_factory=dict)  # resolved items per consensus method

    def as_dict(self) -> dict:
        e = self.estimate
        return {"queue": self.queue, "batch_id": self.batch_id, "criterion": self.criterion, "outcome": self.outcome,
                "share": e.proportion, "low": e.low, "high": e.high, "stderr": e.stderr, "population": self.population,
                "resolved": self.resolved, "sampled": self.sampled, "methods": dict(self.methods)}  # fmt: skip

    def sentence(self) -> str:
        """E.g. "incorrect: 7.9% ± 1.8% of 12,000 runs (batch b-1, 180 of 200 items resolved); by unanimous 150,
        majority 30"."""
        e = self.estimate
        rules = ", ".join(f"{m} {n:,}" for m, n in self.methods.items())
        return (f"{self.outcome}: {e.proportion:.1%} ± {(e.high - e.low) / 2:.1%} of {self.population:,} runs "
                f"(batch {self.batch_id}, {self.resolved} of {self.sampled} items resolved)"
                + (f"; by {rules}" if rules else ""))  # fmt: skip


def outcome_estimates(wh, queue: str, criteria: Sequence[str] | None = None) -> list[OutcomeEstimate]:
    """Per batch, criterion and outcome of a queue's categorical consensus: its share of the batch's
    population, from the sampled, non-gold items each weighted by 1/pi (the Hajek form of
    Horvitz-Thompson, which stays unbiased when some sampled items have no consensus yet, as long
    as those are missing at random; `resolved` against `sampled` says how many are).
    """
    rows = wh.execute(
        """SELECT i.batch_id, b.population, c.criterion, c.value, i.inclusion_probability, c.method
           FROM consensus c JOIN items i USING (item_id) JOIN batches b ON b.batch_id = i.batch_id
           WHERE c.queue = ? AND NOT i.is_gold AND i.inclusion_probability IS NOT NULL AND c.value_num IS NULL
             AND c.criterion <> 'preference' AND c.step_run_id = ''
           ORDER BY i.batch_id, c.criterion, c.value""",
        [queue],
    )
    sampled = dict(wh.execute(
        "SELECT batch_id, count(*) FROM items WHERE queue = ? AND NOT is_gold GROUP BY batch_id", [queue]
    ))  # fmt: skip
    groups: dict[tuple[str, str], list[tuple[str, float, int]]] = {}
    methods: dict[tuple[str, str], Counter] = {}
    for batch_id, population, criterion, value, pi, method in rows:
        if criteria is None or criterion in criteria:
            groups.setdefault((batch_id, criterion), []).append((value, pi, population))
            methods.setdefault((batch_id, criterion), Counter())[method] += 1
    out = []
    for (batch_id, criterion), labelled in groups.items():
        probabilities = [pi for _, pi, _ in labelled]
        for outcome in sorted({v for v, _, _ in labelled}):
            values = [1.0 if v == outcome else 0.0 for v, _, _ in labelled]
            est = horvitz_thompson(values, probabilities)
            population = labelled[0][2]
            rules = dict(methods[batch_id, criterion].most_common())
            out.append(OutcomeEstimate(queue, batch_id, criterion, outcome, est, population, len(labelled),
                                       sampled[batch_id], rules))  # fmt: skip
    return out
