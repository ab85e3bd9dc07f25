"""Attack: agreement on crowd labels, where raters are many and each rates a few items (issue 12, item 10).

Before the fix `summarize` built items x raters and raters x raters matrices and measured every
rater pair sharing an item: 40,000 labels from 17,291 raters (2 per item) took 259 s and 9.4 GB.
Here the same shape at a size that runs in seconds, in a subprocess whose address space is capped
a few hundred MB above what it holds before the call; its figures are then checked against slow
references: the krippendorff package, hand formulas, and scikit-learn's kappa on a self-join.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

HEADROOM_MB = 300  # address space the call may add; the dense matrices it once built need far more
ITEMS = 6_000
REGULARS = [f"regular-{k}" for k in range(4)]

CHILD = """
import json, resource, sys
import pandas as pd
from reviewdesk.agreement import summarize

labels = pd.read_csv(sys.argv[1])
summarize(labels.head(400), "ordinal", resamples=20)  # imports and thread pools before the cap
with open("/proc/self/status") as f:
    size_kb = next(int(line.split()[1]) for line in f if line.startswith("VmSize:"))
cap = size_kb * 1024 + int(sys.argv[2]) * 2**20
resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
print(json.dumps(summarize(labels, "ordinal", resamples=1000, seed=0).as_dict()))
"""


def crowd_labels(items: int, seed: int) -> pd.DataFrame:
    """Two ratings per item on a 1-3 scale. A tenth of the items go to two of four regulars; the rest to a crowd
    of thousands, drawn with a skew so that some crowd pairs meet more than once (never ten times)."""
    rng = np.random.default_rng(seed)
    pool = 2 * items
    weights = 1 / np.arange(1, pool + 1) ** 0.8
    first = rng.choice(pool, size=items, p=weights / weights.sum())
    second = (first + 1 + rng.choice(pool - 1, size=items, p=weights[1:] / weights[1:].sum())) % pool
    raters = np.stack([first, second], axis=1).astype(str).astype(object)
    regular = rng.random(items) < 0.1
    raters[regular] = [rng.choice(REGULARS, size=2, replace=False) for _ in range(int(regular.sum()))]
    truth = rng.integers(1, 4, items)
    values = np.where(rng.random((items, 2)) < 0.75, truth[:, None], rng.integers(1, 4, (items, 2)))
    item = np.repeat([f"item-{i:05d}" for i in range(items)], 2)
    return pd.DataFrame({"item": item, "rater": ["w" + r if r[0].isdigit() else r for r in raters.ravel()],
                         "value": values.ravel()})  # fmt: skip


@pytest.fixture(scope="module")
def crowd(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, dict]:
    """The labels, and the summary a memory-capped subprocess computed from them."""
    labels = crowd_labels(ITEMS, seed=12)
    path = tmp_path_factory.mktemp("crowd") / "labels.csv"
    labels.to_csv(path, index=False)
    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run([sys.executable, "-c", CHILD, str(path), str(HEADROOM_MB)], capture_output=True,
                            text=True, timeout=600, env=env)  # fmt: skip
    assert result.returncode == 0, f"summarize did not fit in {HEADROOM_MB} MB more:\n{result.stderr[-3000:]}"
    return labels, json.loads(result.stdout)


def test_crowd_labels_are_crowd_shaped(crowd: tuple[pd.DataFrame, dict]):
    labels, s = crowd
    assert s["n_labels"] == 2 * ITEMS and s["n_items"] == ITEMS
    assert s["n_raters"] == labels["rater"].nunique() > 5_000
    meetings = labels.groupby("item")["rater"].agg(lambda r: tuple(sorted(r))).value_counts()
    crowd_meetings = meetings[[not pair[0].startswith("regular") for pair in meetings.index]]
    assert 1 < crowd_meetings.max() < 10  # some crowd pairs meet twice or more, none ten times


def test_alpha_fleiss_and_percent_agreement_match_references(crowd: tuple[pd.DataFrame, dict]):
    labels, s = crowd
    ordered = labels.sort_values(["item", "rater"])
    first, second = ordered["value"].to_numpy().reshape(-1, 2).T
    # Alpha depends only on each item's values, not on who gave them: two "coders" hold the whole data.
    expected_alpha = krippendorff.alpha(reliability_data=np.stack([first, second]).astype(float),
                                        level_of_measurement="ordinal")  # fmt: skip
    assert s["krippendorff_alpha"] == expected_alpha
    assert s["percent_agreement"] == pytest.approx(np.mean(first == second), abs=1e-12)
    share = np.bincount(ordered["value"], minlength=4)[1:] / len(ordered)
    chance = (share**2).sum()
    assert s["fleiss_kappa"] == pytest.approx((np.mean(first == second) - chance) / (1 - chance), abs=1e-12)
    for key in ("percent_agreement", "krippendorff_alpha", "fleiss_kappa"):
        low, high = s[f"{'alpha' if key == 'krippendorff_alpha' else key}_ci"]
        assert low < s[key] < high and high - low < 0.1


def test_only_pairs_sharing_ten_items_are_measured_and_the_rest_counted(crowd: tuple[pd.DataFrame, dict]):
    labels, s = crowd
    both = labels.merge(labels, on="item", suffixes=("_a", "_b"))
    both = both[both["rater_a"] < both["rater_b"]]
    shared = both.groupby(["rater_a", "rater_b"]).size()
    kept = shared[shared >= 10]
    assert sorted(kept.index) == [(a, b) for a in REGULARS for b in REGULARS if a < b]  # only the regulars
    assert [(p["rater_a"], p["rater_b"], p["n_items"]) for p in s["pairs"]] == [(a, b, n) for (a, b), n in kept.items()]
    assert s["pair_selection"] == {
        "min_shared_items": 10, "sharing_pairs": len(shared), "measured_pairs": len(kept),
        "skipped_pairs": len(shared) - len(kept), "note": s["pair_selection"]["note"],
    }  # fmt: skip
    note = s["pair_selection"]["note"]
    assert f"{len(shared) - len(kept):,} of {len(shared):,} rater pairs share fewer than 10" in note
    for p in s["pairs"]:
        pair = both[(both["rater_a"] == p["rater_a"]) & (both["rater_b"] == p["rater_b"])]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = cohen_kappa_score(pair["value_a"], pair["value_b"], labels=[1, 2, 3], weights="linear")
        assert p["kappa"] == pytest.approx(expected, abs=1e-12)
        assert p["kappa_ci"][0] <= p["kappa"] <= p["kappa_ci"][1]
    assert s["mean_pairwise_cohen_kappa"] == pytest.approx(np.mean([p["kappa"] for p in s["pairs"]]), abs=1e-12)
    assert "mean over 6 rater pairs; " in s["figures"]["mean_pairwise_cohen_kappa"]["note"]


def test_each_rater_is_compared_with_the_others_on_shared_items(crowd: tuple[pd.DataFrame, dict]):
    labels, s = crowd
    both = labels.merge(labels, on="item", suffixes=("", "_other"))
    both = both[both["rater"] != both["rater_other"]]
    expected = (both["value"] == both["value_other"]).groupby(both["rater"]).mean()
    got = {r["rater"]: r for r in s["raters"]}
    assert len(got) == labels["rater"].nunique()
    for rater, agreement in expected.items():
        assert got[rater]["agreement"] == pytest.approx(agreement, abs=1e-12)
    assert all(got[r]["n_pairs"] == 3 and got[r]["mean_kappa"] is not None for r in REGULARS)
    assert sum(r["n_pairs"] for r in s["raters"]) == 2 * len(s["pairs"])
