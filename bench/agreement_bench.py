"""Agreement benchmark: every figure for a crowd (40,000 labels from 17,000 raters) and for 1,000,000 labels
(200,000 items x 5 raters), one criterion.

Crowd target (issue 12): 40,000 labels from about 17,000 raters, two per item, in under 5 s and
1 GB, bootstrap with 1,000 resamples included. Before the fix this took 259 s and 9.4 GB: the cost
followed the raters (items x raters matrices, raters x raters products, a call per rater pair).
A tenth of the items go to five regulars, whose pairs share enough items to be measured; the
crowd's pairs share one or two and are skipped, and counted. Peak memory is the peak of traced
allocations (numpy's included) during one call, and the process's peak RSS, measured first.

Five-rater target (agreement issue): all agreement figures, bootstrap CIs with 1,000 resamples
included, in under 10 s. `summarize` is timed from the long-format DataFrame (as read from the
warehouse or a CSV) to the finished AgreementSummary: percent agreement, Krippendorff's alpha,
Fleiss' kappa, Cohen's kappa for all 10 rater pairs with confusion matrices, per-rater figures,
and the item bootstrap for all of them.

The baseline, measured in the same run, is one call of the krippendorff package (the point value
of alpha alone) on the same data: given reliability data (raters x items) for five raters, given
the items x values counts for the crowd, whose reliability data would not fit in memory. The naive
bootstrap would be 1,000 such calls. Run with `python bench/agreement_bench.py` (about a minute).
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import krippendorff
import numpy as np
import pandas as pd

from reviewdesk.agreement import summarize

OPTIONS = ["wrong", "poor", "ok", "good", "perfect"]


def make_labels(items: int, raters: int, accuracy: float, missing: float, seed: int) -> pd.DataFrame:
    """Raters who give the item's true grade with probability `accuracy`, else a random one; some ratings missing."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, len(OPTIONS), items)
    grades = np.where(rng.random((items, raters)) < accuracy, truth[:, None], rng.integers(0, 5, (items, raters)))
    values = np.array(OPTIONS, dtype=object)[grades.ravel()]
    values[rng.random(values.size) < missing] = None
    return pd.DataFrame(
        {
            "item": np.repeat(np.array([f"item-{i:07d}" for i in range(items)], dtype=object), raters),
            "rater": np.tile(np.array([f"reviewer-{j}" for j in range(raters)], dtype=object), items),
            "value": values,
        }
    )


def crowd_labels(items: int, pool: int, regulars: int, seed: int) -> pd.DataFrame:
    """Two ratings per item, by raters drawn with a skew from a crowd of `pool`; a tenth of the items by regulars."""
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, pool + 1) ** 0.6
    who = rng.choice(pool, size=(items, 2), p=weights / weights.sum())
    while (same := who[:, 0] == who[:, 1]).any():
        who[same, 1] = rng.choice(pool, size=int(same.sum()), p=weights / weights.sum())
    by_regulars = rng.random(items) < 0.1
    who[by_regulars] = pool + np.argsort(rng.random((int(by_regulars.sum()), regulars)), axis=1)[:, :2]
    names = np.array([f"worker-{j:06d}" for j in range(pool)] + [f"regular-{j}" for j in range(regulars)], dtype=object)
    truth = rng.integers(0, len(OPTIONS), items)
    grades = np.where(rng.random((items, 2)) < 0.7, truth[:, None], rng.integers(0, len(OPTIONS), (items, 2)))
    return pd.DataFrame(
        {
            "item": np.repeat(np.array([f"item-{i:07d}" for i in range(items)], dtype=object), 2),
            "rater": names[who.ravel()],
            "value": np.array(OPTIONS, dtype=object)[grades.ravel()],
        }
    )


def crowd(labels_wanted: int, resamples: int) -> None:
    """Time and peak memory of `summarize` on a crowd, beside the target and the package's alpha on the counts."""
    target_s, target_mb = 5.0, 1000
    labels = crowd_labels(labels_wanted // 2, pool=29_000, regulars=5, seed=1)
    summarize(labels.head(2_000), "ordinal", OPTIONS, resamples=10)  # warm imports and caches
    tracemalloc.start()
    s = summarize(labels, "ordinal", OPTIONS, resamples=resamples, seed=0)
    peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times = []
    for _ in range(2):
        t = time.perf_counter()
        summarize(labels, "ordinal", OPTIONS, resamples=resamples, seed=0)
        times.append(time.perf_counter() - t)
    best = min(times)
    counts = pd.crosstab(labels["item"], labels["value"]).reindex(columns=OPTIONS, fill_value=0).to_numpy()
    t = time.perf_counter()
    krippendorff.alpha(value_counts=counts, level_of_measurement="ordinal", value_domain=list(range(len(OPTIONS))))
    base = time.perf_counter() - t
    ok = best < target_s and max(peak_mb, rss_mb) < target_mb
    dense_gb = s.n_items * s.n_raters * 8 / 2**30
    print(
        f"crowd: {s.n_labels:,} labels from {s.n_raters:,} raters ({s.n_items:,} items, 2 per item), "
        f"{resamples:,} resamples; target < {target_s:.0f} s and < {target_mb:,} MB: {'ok' if ok else 'MISSED'}\n"
        f"  {best:5.2f} s (best of 2) = {best / base:5.1f}x one krippendorff.alpha call on the item x value counts "
        f"({base:.3f} s); peak {peak_mb:,.0f} MB traced during the call, process peak RSS {rss_mb:,.0f} MB\n"
        f"  alpha {s.krippendorff_alpha.value:.4f} [{s.krippendorff_alpha.ci[0]:.4f}, "
        f"{s.krippendorff_alpha.ci[1]:.4f}], {s.kappa.name} {s.kappa.value:.4f}; {s.pairs_note}\n"
        f"  (the package's reliability-data input, raters x items of float64, would be {dense_gb:,.1f} GB alone)"
    )


def baseline(labels: pd.DataFrame, level: str) -> float:
    """One call of the krippendorff package on the same ratings (raters x items, NaN = missing)."""
    position = labels["value"].map({v: float(i) for i, v in enumerate(OPTIONS)}).to_numpy(dtype=np.float64)
    items, _ = pd.factorize(labels["item"])
    raters, _ = pd.factorize(labels["rater"])
    data = np.full((raters.max() + 1, items.max() + 1), np.nan)
    data[raters, items] = position
    t = time.perf_counter()
    krippendorff.alpha(reliability_data=data, level_of_measurement=level, value_domain=list(range(len(OPTIONS))))
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--raters", type=int, default=5)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--crowd-labels", type=int, default=40_000)
    args = parser.parse_args()
    crowd(args.crowd_labels, args.resamples)  # first, so that the process's peak RSS is the crowd's
    target = 10.0
    print(f"{args.items:,} items x {args.raters} raters, {args.resamples:,} bootstrap resamples; target < {target} s")
    for level, missing in (("nominal", 0.0), ("ordinal", 0.0), ("ordinal", 0.1)):
        labels = make_labels(args.items, args.raters, accuracy=0.7, missing=missing, seed=1)
        options = OPTIONS if level == "ordinal" else None
        summarize(labels.head(5_000), level, options, resamples=10)  # warm imports and caches
        times = []
        for _ in range(2):
            t = time.perf_counter()
            s = summarize(labels, level, options, resamples=args.resamples, seed=0)
            times.append(time.perf_counter() - t)
        best = min(times)
        base = min(baseline(labels, level) for _ in range(2))
        alpha = s.krippendorff_alpha
        print(
            f"{level:8s} missing {missing:4.0%}: {s.n_labels:>9,} labels in {best:5.2f} s (best of 2; target < "
            f"{target:.0f} s: {'ok' if best < target else 'MISSED'}) = {best / base:5.1f}x one krippendorff.alpha "
            f"call ({base:.3f} s); alpha {alpha.value:.4f} [{alpha.ci[0]:.4f}, {alpha.ci[1]:.4f}], "
            f"{s.kappa.name} {s.kappa.value:.4f}"
        )
    print(f"a naive bootstrap: {args.resamples:,} package calls ~ {args.resamples * base:,.0f} s for alpha alone")


if __name__ == "__main__":
    main()
