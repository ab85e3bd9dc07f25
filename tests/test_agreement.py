"""Agreement coefficients against published worked examples, sklearn and the krippendorff package; the CLI."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from scipy import sparse
from sklearn.metrics import cohen_kappa_score
from typer.testing import CliRunner

from reviewdesk.agreement import (
    LabelsError,
    Ratings,
    bootstrap,
    fleiss_kappa,
    krippendorff_alpha,
    percent_agreement,
    position_bias,
    side_coded,
    summarize,
)
from reviewdesk.agreement import tables as item_tables
from reviewdesk.agreement.bootstrap import resample_counts
from reviewdesk.agreement.pairs import MIN_SHARED_ITEMS, find_pairs, sharing_pairs
from reviewdesk.agreement.tables import ItemTables, patterns
from reviewdesk.cli import app
from reviewdesk.errors import ConfigError

runner = CliRunner()
X = None  # a missing rating in the tables below


def long(rows: list[list], raters: list[str] | None = None) -> pd.DataFrame:
    """Labels from a raters x items table (None = not rated), in the long format the module takes."""
    raters = raters or [f"r{i}" for i in range(len(rows))]
    return pd.DataFrame(
        [(f"u{j}", raters[i], v) for i, row in enumerate(rows) for j, v in enumerate(row) if v is not None],
        columns=["item", "rater", "value"],
    )


def from_table(table: list[list[int]], values: list) -> pd.DataFrame:
    """Two raters' labels from their contingency table (rows rater a, columns rater b)."""
    rows = []
    for i, counts in enumerate(table):
        for j, n in enumerate(counts):
            rows += [(values[i], values[j])] * n
    return long([[a for a, _ in rows], [b for _, b in rows]], ["a", "b"])


def from_category_counts(counts: list[list[int]]) -> pd.DataFrame:
    """Labels from Fleiss' subjects x categories table: n_ij raters put subject i in category j."""
    rows = []
    for i, per_category in enumerate(counts):
        values = [j + 1 for j, n in enumerate(per_category) for _ in range(n)]
        rows += [(f"s{i}", f"rater{k}", v) for k, v in enumerate(values)]
    return pd.DataFrame(rows, columns=["item", "rater", "value"])


# Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. Annenberg School for Communication,
# University of Pennsylvania (repository.upenn.edu/asc_papers/43). Example C: 4 observers, 12 units,
# values 1-5 with missing data. Published: nominal .743, ordinal .815, interval .849, ratio .797.
KRIPPENDORFF_C = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, X, X, X],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, X, 3],
    [X, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, X],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, X],
]


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)]
)
def test_alpha_matches_krippendorff_2011_example_c_at_every_level(level: str, published: float):
    summary = summarize(long(KRIPPENDORFF_C), level, resamples=0)
    assert round(summary.krippendorff_alpha.value, 3) == published
    assert (summary.krippendorff_alpha.n_items, summary.krippendorff_alpha.n_raters) == (11, 4)  # unit 12 unpaired


def test_ordinal_alpha_on_text_options_uses_the_option_order():
    """Example C with the values 1-5 written as words: the order must come from the options, not the alphabet."""
    words = ["very low", "low", "mid", "high", "very high"]
    labels = long([[X if v is None else words[v - 1] for v in row] for row in KRIPPENDORFF_C])
    assert round(summarize(labels, "ordinal", options=words, resamples=0).krippendorff_alpha.value, 3) == 0.815
    shuffled = ["high", "low", "mid", "very high", "very low"]
    assert round(summarize(labels, "ordinal", options=shuffled, resamples=0).krippendorff_alpha.value, 3) != 0.815


def test_alpha_matches_krippendorff_2011_two_observer_examples():
    """Krippendorff (2011) example A, binary data (alpha = .095), and example B, nominal data (alpha = .692)."""
    binary = long([[0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]])
    assert round(summarize(binary, resamples=0).krippendorff_alpha.value, 3) == 0.095
    nominal = long([list("aabbdcccedda"), list("babbbccceddd")])
    assert round(summarize(nominal, resamples=0).krippendorff_alpha.value, 3) == 0.692


def test_alpha_matches_the_wikipedia_computational_example():
    """Wikipedia, "Krippendorff's alpha", A computational example: 3 coders, 15 units, nominal alpha = 0.691."""
    rows = [
        [X, X, X, X, X, 3, 4, 1, 2, 1, 1, 3, 3, X, 3],
        [1, X, 2, 1, 3, 3, 4, 3, X, X, X, X, X, X, X],
        [X, X, 2, 1, 3, 4, 4, X, 2, 1, 1, 3, 3, X, 4],
    ]
    assert round(summarize(long(rows), resamples=0).krippendorff_alpha.value, 3) == 0.691


# Wikipedia, "Fleiss' kappa", Worked example: 10 subjects, 14 raters, 5 categories; P-bar = 0.378, kappa = 0.210.
FLEISS_WIKIPEDIA = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]  # fmt: skip


def test_fleiss_kappa_and_percent_agreement_match_the_wikipedia_worked_example():
    summary = summarize(from_category_counts(FLEISS_WIKIPEDIA), resamples=0)
    assert round(summary.fleiss_kappa.value, 3) == 0.210
    assert round(summary.percent_agreement.value, 3) == 0.378
    assert (summary.fleiss_kappa.n_items, summary.fleiss_kappa.n_raters) == (10, 14)


# Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological Bulletin 76, 378-382:
# 30 patients, 6 psychiatrists each, 5 diagnoses; kappa = .430 (the data as in R's irr::diagnoses).
FLEISS_1971 = [
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5], [2, 2, 2, 4, 4, 4],
    [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4], [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5],
    [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4], [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5],
    [3, 3, 3, 3, 3, 5], [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4], [1, 4, 4, 4, 4, 5],
    [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4], [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
]  # fmt: skip


def test_fleiss_kappa_matches_fleiss_1971():
    labels = long([list(col) for col in zip(*FLEISS_1971, strict=True)])
    assert round(fleiss_kappa(Ratings.from_labels(labels)).value, 3) == 0.430


def test_cohen_kappa_matches_the_wikipedia_example():
    """Wikipedia, "Cohen's kappa", Simple example: 50 grant applications, yes/yes 20, yes/no 5, no/yes 10,
    no/no 15; p_o = 0.7, p_e = 0.5, kappa = 0.4."""
    summary = summarize(from_table([[20, 5], [10, 15]], ["yes", "no"]), resamples=0)
    assert summary.kappa.name == "cohen_kappa"
    assert summary.kappa.value == pytest.approx(0.4, abs=1e-12)
    assert summary.percent_agreement.value == pytest.approx(0.7, abs=1e-12)
    assert summary.kappa.n_items == 50


def test_weighted_kappa_matches_the_stata_manual_radiologist_example():
    """Stata [R] kappa, examples 1-2: two radiologists, 85 xeromammograms (Boyd et al. 1982, in Altman 1991).
    Agreement 63.53%, expected 30.82%, kappa 0.4728; with linear weights (wgt(w)) kappa 0.5684."""
    scale = ["normal", "benign", "suspect", "cancer"]
    labels = from_table([[21, 12, 0, 0], [4, 17, 1, 0], [3, 9, 15, 2], [0, 0, 0, 1]], scale)
    plain = summarize(labels, "nominal", resamples=0)
    assert round(plain.kappa.value, 4) == 0.4728
    assert round(plain.percent_agreement.value, 4) == 0.6353
    linear = summarize(labels, "ordinal", options=scale, resamples=0)
    assert linear.kappa_weights == "linear"
    assert round(linear.kappa.value, 4) == 0.5684


def test_weighted_kappa_matches_the_sas_example():
    """SAS PROC FREQ output (as reproduced in statsmodels' tests): a 3x3 table; simple kappa 0.4842, weighted
    (Cicchetti-Allison, i.e. linear) kappa 0.4701."""
    labels = from_table([[0, 4, 1], [0, 8, 0], [0, 1, 5]], [1, 2, 3])
    assert round(summarize(labels, "nominal", resamples=0).kappa.value, 4) == 0.4842
    assert round(summarize(labels, "ordinal", resamples=0).kappa.value, 4) == 0.4701


def test_weighted_kappa_matches_r_irr_kappa2_on_the_anxiety_data():
    """R irr::kappa2 on irr's anxiety data, raters 2 and 3 (levels 1, 2, 3, 4, 6): unweighted -0.006289308,
    "equal" (linear) 0.1459075, "squared" (quadratic) 0.2520325."""
    rater2 = [3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4]
    rater3 = [2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2]
    labels = long([rater2, rater3])
    for weights, published in (("unweighted", -0.006289308), ("linear", 0.1459075), ("quadratic", 0.2520325)):
        kappa = summarize(labels, "ordinal", resamples=0, kappa_weights=weights).kappa.value
        assert kappa == pytest.approx(published, abs=5e-8), weights


def random_labels(rng: np.random.Generator, missing: float = 0.3) -> pd.DataFrame:
    raters, items, values = int(rng.integers(2, 7)), int(rng.integers(3, 80)), int(rng.integers(2, 6))
    table = rng.integers(0, values, size=(raters, items)).tolist()
    return long([[None if rng.random() < missing else v + 1 for v in row] for row in table])


def test_fast_alpha_equals_the_krippendorff_package_on_random_inputs():
    rng = np.random.default_rng(7)
    checked = 0
    for trial in range(400):
        level = ("nominal", "ordinal", "interval", "ratio")[trial % 4]
        r = Ratings.from_labels(random_labels(rng), level)
        if len(r.values) < 2 or not (r.per_item >= 2).any():
            continue
        tables = ItemTables.from_ratings(r)
        data = np.where(r.codes >= 0, r.points[np.maximum(r.codes, 0)], np.nan).T
        with np.errstate(invalid="ignore"):  # one value among the paired ratings: alpha is 0/0
            expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
        assert tables.alpha(tables.observed)[0] == pytest.approx(expected, abs=1e-9, nan_ok=True)
        if np.isnan(expected):
            assert krippendorff_alpha(r).value is None
        else:
            assert krippendorff_alpha(r).value == pytest.approx(expected, abs=1e-12)
            checked += 1
    assert checked > 300


@pytest.mark.parametrize("weights", ["unweighted", "linear", "quadratic"])
def test_fast_kappa_equals_sklearn_on_random_inputs(weights: str):
    rng = np.random.default_rng(11)
    for _ in range(100):
        r = Ratings.from_labels(random_labels(rng), "ordinal")
        pairs = sharing_pairs(r)
        fast = ItemTables.from_ratings(r, pairs, weights).kappas(ItemTables.from_ratings(r).observed)[0]
        for (a, b), value in zip(pairs, fast, strict=True):
            both = (r.codes[:, a] >= 0) & (r.codes[:, b] >= 0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = cohen_kappa_score(
                    r.codes[both, a], r.codes[both, b], labels=np.arange(len(r.values)),
                    weights=None if weights == "unweighted" else weights, replace_undefined_by=np.nan,
                )  # fmt: skip
            assert (np.isnan(value) and np.isnan(expected)) or value == pytest.approx(expected, abs=1e-9)


def test_fast_percent_agreement_and_fleiss_equal_the_point_values():
    rng = np.random.default_rng(3)
    for _ in range(50):
        r = Ratings.from_labels(random_labels(rng, missing=0.0))
        tables = ItemTables.from_ratings(r)
        assert tables.percent_agreement(tables.observed)[0] == pytest.approx(percent_agreement(r).value, abs=1e-12)
        fleiss = fleiss_kappa(r).value
        if fleiss is not None:
            assert tables.fleiss(tables.observed)[0] == pytest.approx(fleiss, abs=1e-12)


@pytest.mark.parametrize("items", [40, 4000])  # few items: drawn one by one; many: one multinomial per resample
def test_each_resample_equals_the_package_on_the_resampled_items(items: int):
    """A resample as counts per pattern gives the same alpha as the package on those items written out."""
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 3, size=(items, 3))
    codes[rng.random(codes.shape) < 0.2] = -1
    labels = long([[None if c < 0 else int(c) for c in col] for col in codes.T])
    r = Ratings.from_labels(labels, "interval")
    tables = ItemTables.from_ratings(r)
    w = next(resample_counts(tables.counts, 20, np.random.default_rng(0)))
    assert (w.sum(axis=1) == tables.counts.sum()).all()
    fast = tables.alpha(w)
    for row, value in zip(w, fast, strict=True):
        resampled = np.repeat(tables.rows, row.astype(int), axis=0)
        data = np.where(resampled >= 0, r.points[np.maximum(resampled, 0)], np.nan).T
        assert value == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement="interval"))


def agreeing_raters(items: int, raters: int, accuracy: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 4, items)
    table = np.where(rng.random((raters, items)) < accuracy, truth, rng.integers(0, 4, (raters, items)))
    return long([[f"v{v}" for v in row] for row in table])


def test_bootstrap_cis_are_seeded_and_contain_the_point_values():
    labels = agreeing_raters(300, 4, 0.7, seed=1)
    first, again = summarize(labels, seed=4), summarize(labels, seed=4)
    other = summarize(labels, seed=5)
    assert first.krippendorff_alpha.ci == again.krippendorff_alpha.ci
    assert first.kappa.ci == again.kappa.ci
    assert first.krippendorff_alpha.ci != other.krippendorff_alpha.ci
    for c in (first.percent_agreement, first.krippendorff_alpha, first.fleiss_kappa, first.kappa):
        low, high = c.ci
        assert low < c.value < high, c.name
        assert high - low < 0.2, c.name
    for pair in first.pairs:
        assert pair.kappa_ci[0] < pair.kappa < pair.kappa_ci[1]
    assert summarize(labels, resamples=0).krippendorff_alpha.ci is None


def test_more_raters_use_the_mean_of_pairwise_kappas():
    labels = agreeing_raters(200, 3, 0.8, seed=2)
    summary = summarize(labels, resamples=0)
    assert summary.kappa.name == "mean_pairwise_cohen_kappa"
    assert len(summary.pairs) == 3
    assert summary.kappa.value == pytest.approx(np.mean([p.kappa for p in summary.pairs]))
    for p in summary.pairs:
        both = labels.pivot(index="item", columns="rater", values="value")
        assert p.kappa == pytest.approx(cohen_kappa_score(both[p.rater_a], both[p.rater_b]))


def test_confusion_matrix_per_pair_follows_the_option_order():
    labels = long([["good", "bad", "ok", "good", X], ["good", "ok", "ok", "bad", "bad"], [X, X, X, "ok", "bad"]])
    # min_shared_items=1: these pairs share 4, 2 and 1 items, below the default minimum of 10
    summary = summarize(labels, "ordinal", options=["bad", "ok", "good"], resamples=0, min_shared_items=1)
    pair = {(p.rater_a, p.rater_b): p for p in summary.pairs}
    r0_r1 = pair[("r0", "r1")]
    # rows r0's value, columns r1's, in the order bad, ok, good: (bad,ok), (ok,ok), (good,good), (good,bad)
    assert r0_r1.confusion == ((0, 1, 0), (0, 1, 0), (1, 0, 1))
    assert (r0_r1.n_items, r0_r1.agreement) == (4, 0.5)
    assert (pair[("r1", "r2")].n_items, pair[("r1", "r2")].confusion) == (2, ((1, 1, 0), (0, 0, 0), (0, 0, 0)))
    assert (pair[("r0", "r2")].n_items, pair[("r0", "r2")].confusion) == (1, ((0, 0, 0), (0, 0, 0), (0, 1, 0)))


def test_per_rater_agreement_and_gold_accuracy_by_hand():
    # Items u0-u3. u0: all say a. u1: r0 a, r1 b, r2 b. u2: r0 b, r1 b. u3: r2 only (not compared).
    labels = long([["a", "a", "b", X], ["a", "b", "b", X], ["a", "b", X, "a"]])
    summary = summarize(labels, gold={"u1": "b", "u3": "a", "u9": "a"}, resamples=0, min_shared_items=1)
    raters = {r.rater: r for r in summary.raters}
    # r0: others agreeing / other ratings = u0 2/2, u1 0/2, u2 1/1 -> 3/5.
    assert (raters["r0"].n_items, raters["r0"].n_compared, raters["r0"].agreement) == (3, 3, 3 / 5)
    # r1: u0 2/2, u1 1/2, u2 1/1 -> 4/5.   r2: u0 2/2, u1 1/2 -> 3/4 (u3 has no one to compare with).
    assert raters["r1"].agreement == pytest.approx(4 / 5)
    assert (raters["r2"].n_items, raters["r2"].n_compared, raters["r2"].agreement) == (3, 2, 3 / 4)
    # Gold u1 = b: r0 wrong, r1 and r2 right; u3 = a: r2 right; u9 was not rated.
    assert (raters["r0"].gold_ratings, raters["r0"].gold_accuracy) == (1, 0.0)
    assert (raters["r2"].gold_ratings, raters["r2"].gold_accuracy) == (2, 1.0)
    assert (summary.gold.n_items, summary.gold.n_ratings, summary.gold.accuracy) == (2, 4, 3 / 4)
    assert raters["r0"].n_pairs == 2


def test_missing_values_are_the_same_as_absent_rows():
    absent = long([[1, 2, 3, 3], [1, 2, X, 3], [2, 2, 3, X]])
    nan = absent.copy()
    nan.loc[len(nan)] = ["u2", "r1", np.nan]
    blank = absent.astype({"value": object})
    blank.loc[len(blank)] = ["u3", "r2", "  "]
    expected = summarize(absent, "interval", resamples=50).as_dict()
    assert summarize(nan, "interval", resamples=50).as_dict() == expected
    assert summarize(blank, "interval", resamples=50).as_dict() == expected


def test_numbers_and_their_text_are_one_value():
    labels = pd.DataFrame(
        {"item": ["a", "a", "b", "b"], "rater": ["x", "y", "x", "y"], "value": [1, "1", 2.0, 3]}, dtype=object
    )
    r = Ratings.from_labels(labels, "ordinal", options=[1, 2, 3])
    assert r.codes.tolist() == [[0, 0], [1, 2]]


def test_fleiss_kappa_is_none_with_a_reason_when_items_have_different_numbers_of_ratings():
    summary = summarize(long(KRIPPENDORFF_C), resamples=10)
    assert summary.fleiss_kappa.value is None and summary.fleiss_kappa.ci is None
    assert "same number" in summary.fleiss_kappa.note
    assert summary.as_dict()["fleiss_kappa"] is None


def test_all_ratings_the_same_leaves_chance_corrected_figures_undefined():
    summary = summarize(long([["a", "a"], ["a", "a"]]), options=["a", "b"], resamples=20)
    assert summary.percent_agreement.value == 1.0
    assert summary.krippendorff_alpha.value is None and "same value" in summary.krippendorff_alpha.note
    assert summary.kappa.value is None


@pytest.mark.parametrize(
    ("labels", "kwargs", "error", "message"),
    [
        (pd.DataFrame({"item": [1], "rater": ["a"]}), {}, LabelsError, "value"),
        (long([[1, 2, 3]]), {}, LabelsError, "at least two raters"),
        (long([[1, X], [X, 2]]), {}, LabelsError, "No item was rated by two raters"),
        (long([[1, 2], [1, 2]]), {"level": "likert"}, ConfigError, "nominal, ordinal, interval or ratio"),
        (long([["lo", "hi"], ["hi", "hi"]]), {"level": "ordinal"}, LabelsError, "options"),
        (long([["lo", "hi"], ["hi", "hi"]]), {"level": "interval"}, LabelsError, "needs numbers"),
        (long([["lo", "mid"], ["hi", "hi"]]), {"options": ["lo", "hi"]}, LabelsError, "'mid'"),
        (long([[1, 2], [1, 2]]), {"kappa_weights": "cubic"}, ConfigError, "unweighted, linear or quadratic"),
    ],
)
def test_bad_input_says_what_to_do(labels: pd.DataFrame, kwargs: dict, error: type, message: str):
    with pytest.raises(error, match=message):
        summarize(labels, **kwargs)


def test_a_repeated_rating_is_refused():
    labels = pd.DataFrame({"item": ["u1", "u1", "u1"], "rater": ["a", "a", "b"], "value": ["x", "y", "x"]})
    with pytest.raises(LabelsError, match="keep one rating per item and rater"):
        summarize(labels)


# Pairwise queues: items i0-i3 show run L{n} on the left and R{n} on the right.
LEFT = {"i0": "L0", "i1": "L1", "i2": "L2", "i3": "L3"}
PREFERENCES = pd.DataFrame(
    [
        ("i0", "a", "L0"), ("i0", "b", "L0"),  # both left
        ("i1", "a", "R1"), ("i1", "b", "tie"),  # right, tie
        ("i2", "a", "L2"), ("i2", "b", "R2"),  # left, right
        ("i3", "a", "tie"), ("i3", "b", "tie"),  # both tie
    ],
    columns=["item", "rater", "value"],
)  # fmt: skip


def test_side_coding_turns_run_ids_into_left_right_tie():
    coded = side_coded(PREFERENCES, LEFT)
    assert coded["value"].tolist() == ["left", "left", "right", "tie", "left", "right", "tie", "tie"]
    with pytest.raises(LabelsError, match="no left-side run"):
        side_coded(PREFERENCES, {"i0": "L0"})


def test_position_bias_and_ties_by_hand():
    bias = position_bias(PREFERENCES, LEFT, resamples=500, seed=1)
    # 8 preferences: 3 ties; of the 5 decided, 3 chose the left run.
    assert (bias.n_ratings, bias.ties, bias.tie_share) == (8, 3, 3 / 8)
    assert (bias.n_decisions, bias.left_rate) == (5, 3 / 5)
    low, high = bias.left_rate_ci
    assert 0 <= low <= 3 / 5 <= high <= 1
    assert bias == position_bias(PREFERENCES, pd.Series(LEFT), resamples=500, seed=1)


def test_summarize_with_left_measures_agreement_on_preference():
    summary = summarize(PREFERENCES, left=LEFT, resamples=100)
    assert summary.values == ("left", "right", "tie")
    assert summary.percent_agreement.value == 0.5  # i0 and i3 agree, i1 and i2 do not
    assert summary.preference.left_rate == 3 / 5
    assert summary.as_dict()["preference"]["tie_share"] == 3 / 8


@pytest.mark.parametrize("items", [40, 4000])
def test_chunking_does_not_change_the_resamples(items: int, monkeypatch: pytest.MonkeyPatch):
    """Resamples are drawn in chunks to bound memory; the chunk size must not change what is drawn."""
    counts = np.random.default_rng(1).integers(1, 6, size=50)
    counts = (counts * items // counts.sum()).clip(min=1)
    whole = np.concatenate(list(resample_counts(counts, 30, np.random.default_rng(9))))
    monkeypatch.setattr(bootstrap, "CHUNK_CELLS", 7 * len(counts))
    chunks = list(resample_counts(counts, 30, np.random.default_rng(9)))
    assert len(chunks) == 5 and (np.concatenate(chunks) == whole).all()


# Sparse raters: alpha from item x value counts, pairs from the items ------------------------------------------------

# Reliability data: 2-6 raters x 1-12 items, values 0-5 (a ratio scale needs no negatives), about a third missing.
reliability_data = st.integers(2, 6).flatmap(
    lambda raters: st.lists(
        st.lists(st.one_of(st.none(), st.none(), st.integers(0, 5)), min_size=raters, max_size=raters),
        min_size=1,
        max_size=12,
    )
)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=reliability_data)
def test_alpha_equals_the_krippendorff_package_on_random_reliability_data(level: str, table: list[list]):
    """Alpha from the items x values counts (point value and every bootstrap path) equals the package given the
    raters x items reliability data, at every level."""
    rows = [list(col) for col in zip(*table, strict=True)]  # raters x items
    data = np.array([[np.nan if v is None else float(v) for v in row] for row in rows])
    paired = data[:, (~np.isnan(data)).sum(axis=0) >= 2]
    assume(np.unique(paired[~np.isnan(paired)]).size >= 2)  # the package refuses a single value
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    r = Ratings.from_labels(long(rows), level)
    alpha = summarize(long(rows), level, resamples=0).krippendorff_alpha.value
    assert alpha == pytest.approx(expected, abs=1e-12, nan_ok=True)
    tables = ItemTables.from_ratings(r)
    assert tables.alpha(tables.observed)[0] == pytest.approx(expected, abs=1e-9, nan_ok=True)


def brute_force_pairs(labels: pd.DataFrame) -> pd.DataFrame:
    """Every two raters of an item, by a self-join of the labels: rater_a < rater_b, their values, one row per item."""
    both = labels.merge(labels, on="item", suffixes=("_a", "_b"))
    return both[both["rater_a"] < both["rater_b"]]


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), minimum=st.integers(1, 6))
@example(seed=61440, minimum=1)  # no item with two raters (found by a CI run)
def test_pairs_found_from_items_equal_a_self_join(seed: int, minimum: int):
    rng = np.random.default_rng(seed)
    labels = random_labels(rng, missing=float(rng.uniform(0, 0.8)))
    labels["rater"] = labels["rater"].str.replace("r", "rater-")  # sorts like the indexes (fewer than 10 raters)
    r = Ratings.from_labels(labels, "ordinal")
    joined = brute_force_pairs(labels)
    shared = joined.groupby(["rater_a", "rater_b"]).size()
    kept = shared[shared >= minimum]
    found = find_pairs(r, minimum)
    assert [(r.raters[a], r.raters[b]) for a, b in found.index_pairs()] == list(kept.index)
    assert found.n_items.tolist() == kept.tolist()
    assert (found.n_sharing, found.skipped) == (len(shared), len(shared) - len(kept))
    if joined.empty:  # no item with two raters: nothing to measure, and summarize says so
        with pytest.raises(LabelsError, match="No item was rated by two raters"):
            summarize(labels, "ordinal", resamples=0, min_shared_items=minimum)
        return
    for p in summarize(labels, "ordinal", resamples=0, min_shared_items=minimum).pairs:
        pair = joined[(joined["rater_a"] == p.rater_a) & (joined["rater_b"] == p.rater_b)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = cohen_kappa_score(pair["value_a"], pair["value_b"], labels=sorted(set(r.values)),
                                         weights="linear", replace_undefined_by=np.nan)  # fmt: skip
        assert (p.kappa is None and np.isnan(expected)) or p.kappa == pytest.approx(expected, abs=1e-9)
        assert p.agreement == pytest.approx((pair["value_a"] == pair["value_b"]).mean())


def crowd(items: int, seed: int) -> pd.DataFrame:
    """Two ratings per item: most by a crowd in which two raters rarely meet twice, every tenth item by two of
    three regulars."""
    rng = np.random.default_rng(seed)
    crowd_raters = rng.permutation(2 * items).reshape(items, 2)
    regular = np.arange(items) % 10 == 0
    names = np.where(regular[:, None], [["reg-0", "reg-1"]] * items, crowd_raters.astype(str))
    names[regular & (np.arange(items) % 20 == 0), 1] = "reg-2"
    values = rng.integers(1, 4, size=(items, 2))
    return pd.DataFrame({"item": np.repeat(np.arange(items), 2), "rater": names.ravel(), "value": values.ravel()})


def test_pairs_sharing_fewer_than_the_minimum_are_skipped_and_counted():
    labels = crowd(400, seed=1)  # regulars: reg-0/reg-1 on 20 items, reg-0/reg-2 on 20; 360 crowd pairs of 1 item
    summary = summarize(labels, "ordinal", resamples=200)
    assert MIN_SHARED_ITEMS == 10 and summary.min_shared_items == 10
    measured = [(p.rater_a, p.rater_b, p.n_items) for p in summary.pairs]
    assert measured == [("reg-0", "reg-1", 20), ("reg-0", "reg-2", 20)]
    assert (summary.sharing_pairs, summary.skipped_pairs) == (362, 360)
    assert "360 of 362 rater pairs share fewer than 10 items" in summary.pairs_note
    assert summary.as_dict()["pair_selection"] == {
        "min_shared_items": 10, "sharing_pairs": 362, "measured_pairs": 2, "skipped_pairs": 360,
        "note": summary.pairs_note,
    }  # fmt: skip
    assert summary.kappa.note == f"mean over 2 rater pairs; {summary.pairs_note}"
    assert summary.kappa.value == pytest.approx(np.mean([p.kappa for p in summary.pairs]))
    raters = {r.rater: r for r in summary.raters}
    assert (raters["reg-0"].n_pairs, raters["reg-2"].n_pairs, raters["0"].n_pairs) == (2, 1, 0)
    assert raters["0"].mean_kappa is None and raters["0"].agreement is not None  # agreement needs no pair
    everything = summarize(labels, "ordinal", resamples=0, min_shared_items=1)
    assert (len(everything.pairs), everything.skipped_pairs, everything.pairs_note) == (362, 0, None)
    assert everything.krippendorff_alpha.value == summary.krippendorff_alpha.value  # alpha needs no pair


def test_no_pair_sharing_enough_items_says_why_and_two_raters_are_always_measured():
    labels = crowd(300, seed=2)
    labels = labels[~labels["rater"].str.startswith("reg")]
    summary = summarize(labels, "ordinal", resamples=50)
    assert summary.pairs == () and summary.kappa.value is None
    assert summary.kappa.note.startswith("no rater pair has a defined kappa; 270 of 270 rater pairs share fewer")
    assert summary.krippendorff_alpha.ci is not None  # the item bootstrap still runs
    two = summarize(long([[1, 2, 3], [1, 2, 2]]), resamples=0)  # three shared items, fewer than the minimum
    assert two.kappa.name == "cohen_kappa" and two.kappa.value is not None and len(two.pairs) == 1
    assert (two.min_shared_items, two.skipped_pairs) == (1, 0)
    with pytest.raises(ConfigError, match="min_shared_items must be 1 or more"):
        summarize(labels, min_shared_items=0)


def test_patterns_group_equal_rows_even_when_every_hash_collides(monkeypatch: pytest.MonkeyPatch):
    rng = np.random.default_rng(4)
    dense = rng.integers(0, 3, size=(300, 6)) * (rng.random((300, 6)) < 0.5)
    expected_rows, expected_counts = np.unique(dense, axis=0, return_counts=True)

    def grouped() -> list[tuple[tuple[int, ...], int]]:
        first, counts = patterns(sparse.csr_matrix(dense))
        assert (np.diff(first) > 0).all() and counts.sum() == len(dense)
        return sorted((tuple(dense[f]), int(c)) for f, c in zip(first, counts, strict=True))

    truth = sorted((tuple(row), int(c)) for row, c in zip(expected_rows, expected_counts, strict=True))
    assert grouped() == truth
    monkeypatch.setattr(item_tables, "hash_multipliers", lambda width: np.zeros(width, dtype=np.uint64))
    assert grouped() == truth


# The CLI ---------------------------------------------------------------------------------------------------------


def write(path: Path, labels: pd.DataFrame) -> Path:
    labels.to_csv(path, index=False)
    return path


def cli(*args: str):
    return runner.invoke(app, ["agreement", *args])


def test_cli_json_for_two_raters_has_cohen_kappa(tmp_path: Path):
    csv = write(tmp_path / "l.csv", from_table([[20, 5], [10, 15]], ["yes", "no"]))
    result = cli("--labels", str(csv), "--json", "--resamples", "200")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {"n_items", "n_raters", "percent_agreement", "krippendorff_alpha", "fleiss_kappa", "cohen_kappa",
            "alpha_ci"} <= set(out)  # fmt: skip
    assert "mean_pairwise_cohen_kappa" not in out
    assert (out["n_items"], out["n_raters"]) == (50, 2)
    assert out["cohen_kappa"] == pytest.approx(0.4)
    low, high = out["alpha_ci"]
    assert low < out["krippendorff_alpha"] < high


def test_cli_json_for_more_raters_matches_krippendorff_2011(tmp_path: Path):
    csv = tmp_path / "c.csv"
    long(KRIPPENDORFF_C).to_csv(csv, index=False)
    out = json.loads(cli("--labels", str(csv), "--level", "ordinal", "--json", "--seed", "3").stdout)
    assert round(out["krippendorff_alpha"], 3) == 0.815
    assert "mean_pairwise_cohen_kappa" in out and "cohen_kappa" not in out
    assert out["fleiss_kappa"] is None and out["n_raters"] == 4
    assert out == json.loads(cli("--labels", str(csv), "--level", "ordinal", "--json", "--seed", "3").stdout)


def test_cli_reads_empty_values_as_missing_and_fleiss_when_complete(tmp_path: Path):
    csv = tmp_path / "w.csv"
    from_category_counts(FLEISS_WIKIPEDIA).to_csv(csv, index=False)
    with csv.open("a") as f:
        f.write("s0,extra,\n")  # an empty value: a missing rating, so every subject still has 14
    out = json.loads(cli("--labels", str(csv), "--json", "--resamples", "0").stdout)
    assert round(out["fleiss_kappa"], 3) == 0.210
    assert out["alpha_ci"] is None and out["n_raters"] == 14


def test_cli_ordinal_text_with_options(tmp_path: Path):
    csv = write(tmp_path / "r.csv", from_table([[21, 12, 0, 0], [4, 17, 1, 0], [3, 9, 15, 2], [0, 0, 0, 1]],
                                               ["normal", "benign", "suspect", "cancer"]))  # fmt: skip
    args = ("--labels", str(csv), "--level", "ordinal", "--options", "normal,benign,suspect,cancer", "--json")
    out = json.loads(cli(*args).stdout)
    assert round(out["cohen_kappa"], 4) == 0.5684 and out["kappa_weights"] == "linear"


def test_cli_prints_tables_without_json(tmp_path: Path):
    csv = write(tmp_path / "l.csv", agreeing_raters(30, 3, 0.8, seed=4))
    result = cli("--labels", str(csv), "--resamples", "100")
    assert result.exit_code == 0, result.output
    for words in ("Krippendorff", "Fleiss", "mean pairwise", "Per rater", "95% CI"):
        assert words in result.output


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (None, (), "No such file"),
        ("item,rater\nu1,a\n", (), "value"),
        ("item,rater,value\nu1,a,x\nu2,a,y\n", (), "at least two raters"),
        ("item,rater,value\nu1,a,x\nu1,b,y\n", ("--level", "likert"), "nominal, ordinal, interval or ratio"),
        ("item,rater,value\nu1,a,lo\nu1,b,hi\n", ("--level", "ordinal"), "--options"),
        ("", (), "not a readable CSV"),
        ("item,rater,value\nu1,a,x\nu1,b,y\n", ("--resamples", "-1"), "resamples must be"),
    ],
)
def test_cli_errors_exit_2_with_what_to_do(tmp_path: Path, content: str | None, args: tuple, message: str):
    csv = tmp_path / "labels.csv"
    if content is not None:
        csv.write_text(content)
    result = cli("--labels", str(csv), *args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output


def test_cli_needs_a_queue_or_a_label_file_and_not_both(tmp_path: Path):
    empty = ["--data-dir", str(tmp_path / "d")]
    result = runner.invoke(app, [*empty, "agreement", "support-quality"])
    assert result.exit_code == 2 and "publish a batch of it first" in " ".join(result.output.split())
    assert cli().exit_code == 2 and "--labels" in cli().output
    both = cli("support-quality", "--labels", str(tmp_path / "x.csv"))
    assert both.exit_code == 2 and "not both" in both.output


def test_cli_says_how_many_pairs_were_skipped_and_takes_the_minimum(tmp_path: Path):
    csv = write(tmp_path / "crowd.csv", crowd(400, seed=3))
    result = cli("--labels", str(csv), "--resamples", "0")
    assert result.exit_code == 0, result.output
    assert "360 of 362 rater pairs share fewer than 10 items" in " ".join(result.output.split())
    out = json.loads(cli("--labels", str(csv), "--resamples", "0", "--min-shared-items", "1", "--json").stdout)
    assert out["pair_selection"]["measured_pairs"] == 362 and len(out["pairs"]) == 362
    assert cli("--labels", str(csv), "--min-shared-items", "0").exit_code == 2


def test_cli_help():
    result = cli("--help")
    assert result.exit_code == 0 and "--labels" in result.output
