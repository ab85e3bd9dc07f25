"""Agreement benchmark: every figure for 1,000,000 labels (200,000 items x 5 raters, one criterion).

Target (agreement issue): all agreement figures, bootstrap CIs with 1,000 resamples included, in
under 10 s. `summarize` is timed from the long-format DataFrame (as read from the warehouse or a
CSV) to the finished AgreementSummary: percent agreement, Krippendorff's alpha, Fleiss' kappa,
Cohen's kappa for all 10 rater pairs with confusion matrices, per-rater figures, and the item
bootstrap for all of them. The baseline, measured in the same run, is one call of the
krippendorff package (the point value of alpha alone) on the same data; the naive bootstrap would
be 1,000 such calls. Run with `python bench/agreement_bench.py` (under a minute).
"""

from __future__ import annotations

import argparse
import time

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
    args = parser.parse_args()
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
