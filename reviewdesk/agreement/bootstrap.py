"""Seeded item bootstrap: resample items with replacement, as counts per item pattern, and percentile intervals.

Drawing n items uniformly with replacement and counting how many fall in each pattern is the same,
in distribution, as one multinomial draw over the patterns with probabilities count/n. When the
patterns are few (the common case: a handful of raters and options) that draw costs O(patterns);
otherwise items are drawn one by one and counted. Either way each resample is a row of counts, and
the figures come out of ItemTables as matrix products, chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from reviewdesk.agreement.tables import ItemTables

CHUNK_CELLS = 4_000_000  # floats held per chunk of resamples (32 MB)
CI_BLOCK = 4096  # figures whose percentiles are taken together (bounds the copies np.percentile makes)


def resample_counts(
    counts: np.ndarray, resamples: int, rng: np.random.Generator, width: int | None = None
) -> Iterator[np.ndarray]:
    """Yield chunks (resamples x patterns, float) of per-pattern item counts, each row one bootstrap resample."""
    n, k = int(counts.sum()), len(counts)
    chunk = max(1, min(resamples, CHUNK_CELLS // max(width or k, k, 1)))
    by_item = np.repeat(np.arange(k), counts) if k * 16 > n else None
    done = 0
    while done < resamples:
        b = min(chunk, resamples - done)
        if by_item is None:
            w = rng.multinomial(n, counts / n, size=b)
        else:
            w = np.stack([np.bincount(by_item[rng.integers(0, n, size=n)], minlength=k) for _ in range(b)])
        done += b
        yield w.astype(np.float64, order="F")  # so that w.T, which the sparse products take, is C-contiguous


def percentile_ci(samples: np.ndarray, confidence: float) -> tuple[float, float] | None:
    """The percentile interval of the defined resample values, or None if there are none."""
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return None
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def percentile_cis(samples: np.ndarray, confidence: float) -> list[tuple[float, float] | None]:
    """`percentile_ci` of each column (resamples x figures); columns with no undefined value in one pass per block."""
    tail = (1 - confidence) / 2 * 100
    cis: list[tuple[float, float] | None] = [None] * samples.shape[1]
    for start in range(0, samples.shape[1] if samples.shape[0] else 0, CI_BLOCK):
        block = samples[:, start : start + CI_BLOCK]
        clean = np.isfinite(block).all(axis=0)
        low, high = np.percentile(block[:, clean], [tail, 100 - tail], axis=0)
        for k, lo, hi in zip((start + np.flatnonzero(clean)).tolist(), low.tolist(), high.tolist(), strict=True):
            cis[k] = (lo, hi)
        for k in (start + np.flatnonzero(~clean)).tolist():
            cis[k] = percentile_ci(samples[:, k], confidence)
    return cis


@dataclass(frozen=True)
class Resamples:
    """Each figure recomputed on every bootstrap resample (one row per resample)."""

    percent_agreement: np.ndarray
    alpha: np.ndarray
    fleiss: np.ndarray | None
    kappas: np.ndarray  # resamples x rater pairs


def bootstrap(tables: ItemTables, resamples: int, seed: int, fleiss: bool = True) -> Resamples:
    """Recompute every figure on `resamples` item resamples drawn with `seed`."""
    rng = np.random.default_rng(seed)
    n = resamples if len(tables.counts) else 0
    draws = Resamples(
        percent_agreement=np.empty(n),
        alpha=np.empty(n),
        fleiss=np.empty(n) if fleiss else None,
        kappas=np.empty((n, tables.n_pairs)),
    )
    done = 0
    for w in resample_counts(tables.counts, n, rng, tables.width()) if n else ():
        rows = slice(done, done + len(w))
        done += len(w)
        draws.percent_agreement[rows] = tables.percent_agreement(w)
        draws.alpha[rows] = tables.alpha(w)
        if draws.fleiss is not None:
            draws.fleiss[rows] = tables.fleiss(w)
        if tables.n_pairs:
            draws.kappas[rows] = tables.kappas(w)
    return draws
