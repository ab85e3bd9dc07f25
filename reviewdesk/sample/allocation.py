"""How many units each stratum or weight class gets, and with what probability: exact arithmetic, no data.

The designs in `reviewdesk.sample.designs` count their population in SQL, then decide here how the
sample is split: `allocate` for strata, `inclusion_probabilities` and `systematic_allocation` for
probability proportional to weight. Exact fractions keep the sums exact (sum of pi * units is n).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any


def allocate(counts: Sequence[int], size: int, method: str) -> list[int]:
    """Split `size` over strata of `counts` units ('proportional' or 'equal'), each capped at its count.

    Proportional: largest-remainder rounding of size * N_h / N (exact fractions; ties go to the
    stratum listed first, so pass strata in a seeded order). When size allows, every stratum gets
    at least one unit, taken from the most over-allocated stratum: a stratum without a sampled
    unit would have no 1/pi weight and bias every estimate. Equal: size / H each; what a small
    stratum cannot take is shared again among the others, and a remainder smaller than the
    number of strata goes one unit each to the strata listed first.
    """
    h, total = len(counts), sum(counts)
    if not 0 <= size <= total:
        raise ValueError(f"cannot allocate {size} over strata holding {total} units")
    if method == "proportional":
        quota = [Fraction(size * c, total) for c in counts]
        alloc = [math.floor(q) for q in quota]
        order = sorted(range(h), key=lambda i: -(quota[i] - alloc[i]))  # stable: list order breaks ties
        for i in order[: size - sum(alloc)]:
            alloc[i] += 1
        if size >= h:
            for i in sorted((i for i in range(h) if alloc[i] == 0), key=lambda i: -quota[i]):
                donor = max((j for j in range(h) if alloc[j] > 1), key=lambda j: (alloc[j] - quota[j], -j))
                alloc[donor] -= 1
                alloc[i] += 1
        return alloc
    if method == "equal":
        alloc, left = [0] * h, size
        while left:
            open_ = [i for i in range(h) if alloc[i] < counts[i]]
            share = left // len(open_)
            if share == 0:
                for i in open_[:left]:
                    alloc[i] += 1
                break
            for i in open_:
                take = min(share, counts[i] - alloc[i])
                alloc[i] += take
                left -= take
        return alloc
    raise ValueError(f"unknown allocation {method!r}: use proportional or equal")


def inclusion_probabilities(classes: dict[Any, tuple[float, int]], n: int) -> dict[Any, Fraction]:
    """pi per class {key: (weight, units)}: n*w/W, with units whose pi reaches 1 taken with certainty.

    Capping repeats until no class reaches 1: after each round the certain units leave, and the
    remaining sample size is shared over the remaining weight. Exact fractions make the test
    `pi >= 1` exact, so sum(pi * units) == n holds exactly.
    """
    total = sum(c for _, c in classes.values())
    if n >= total:
        return dict.fromkeys(classes, Fraction(1))
    certain: set = set()
    while True:
        left = n - sum(classes[k][1] for k in certain)
        mass = sum(Fraction(w) * c for k, (w, c) in classes.items() if k not in certain)
        new = {k for k, (w, _) in classes.items() if k not in certain and left * Fraction(w) >= mass}
        if not new:
            break
        certain |= new
    return {k: Fraction(1) if k in certain else left * Fraction(w) / mass for k, (w, _) in classes.items()}


def systematic_allocation(lengths: Sequence[Fraction], start: float | Fraction) -> list[int]:
    """How many of the points start + k (k = 0, 1, ...) fall on each of the intervals laid end to end.

    An interval [a, b) holds ceil(b - start) - ceil(a - start) points: floor or ceil of its
    length, and exactly its length on average over start ~ U[0, 1). Exact fractions: the counts
    add up to the total length when it is an integer (the sample size), whatever the rounding.
    """
    u, a, counts = Fraction(start), Fraction(0), []
    for length in lengths:
        b = a + length
        counts.append(math.ceil(b - u) - math.ceil(a - u))
        a = b
    return counts


def round_half_up(x: float) -> int:
    """Round half up: 2.5 -> 3 (Python's round would give 2)."""
    return math.floor(x + 0.5)


__all__ = ["allocate", "inclusion_probabilities", "round_half_up", "systematic_allocation"]
