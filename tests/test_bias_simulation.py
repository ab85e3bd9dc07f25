"""Each bias figure checked by simulation: over 100 seeds, the interval of a reviewer with an injected bias
covers the injected size in at least 90 of them (the issue's bar; a 95% interval misses it with chance
about 3% if its coverage is exact), and with nothing injected the figure is flagged in at most
FALSE_FLAGS of them.

FALSE_FLAGS: a correct 5% test flags Binomial(100, 0.05) of 100 seeds: 5 on average, more than 10 with
chance 1.1% (`test_the_allowances_fail_a_correct_interval_about_one_time_in_a_hundred`). So 10 allows a correct test
its binomial scatter, while a test flagging 10% or more of the time would fail about half the time. The
seeds are fixed, so each run gives the same counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from bias_support import graded_rows, sequence_rows, suggestion_rows, timed_rows, verbosity_rows
from scipy import stats

from reviewdesk.demo.biases import lenient_rate, mix
from reviewdesk.quality.bias_drift import WEEK, drift, slope_on_weeks
from reviewdesk.quality.bias_fatigue import fatigue, sessions, slope_on_position
from reviewdesk.quality.bias_runs import straight_lining
from reviewdesk.quality.bias_speed import copy_figure, fast_share
from reviewdesk.quality.bias_verbosity import excess_longer

SEEDS = range(100)
MIN_COVERED = 90
FALSE_FLAGS = 10
RESAMPLES = 300


def weeks(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows with their weeks since the first, as `drift` reads them."""
    return rows.assign(weeks=(rows["submitted_at"] - rows["submitted_at"].min()) / WEEK)


def covers(f: dict[str, Any], size: float) -> bool:
    return f["ci"] is not None and f["ci"][0] <= size <= f["ci"][1]


MEASURES: dict[str, tuple[Callable[[int, float], dict[str, Any]], float, float]] = {
    # name: (the reviewer's figure for a seed and an injected size, the size injected, the figure it gives)
    "verbosity": (lambda seed, b: excess_longer(verbosity_rows(seed, b), RESAMPLES, seed), 0.3, 0.3),
    "fatigue": (lambda seed, f: slope_on_position(sessions(graded_rows(seed, fatigue=f)), "correct"), 0.01, -0.01),
    "drift": (lambda seed, d: slope_on_weeks(weeks(graded_rows(seed, drift=d)), "correct"), -0.04, -0.04),
    "fast answers": (lambda seed, s: fast_share(timed_rows(seed, s), 8.0), 0.2, 0.2),
    "suggestion copying": (lambda seed, c: copy_figure(suggestion_rows(seed, c), RESAMPLES, seed), 0.3, 0.3),
    "straight-lining": (lambda seed, r: straight_lining(sequence_rows(seed, r))["queue"], 0.25, 0.25),
}


@pytest.mark.parametrize("name", list(MEASURES))
def test_an_injected_bias_is_recovered_within_the_interval_and_flagged(name: str):
    measure, injected, size = MEASURES[name]
    figures = [measure(seed, injected) for seed in SEEDS]
    covered = sum(covers(f, size) for f in figures)
    assert covered >= MIN_COVERED, f"{name}: {covered} of 100 intervals cover {size}"
    assert sum(f["flagged"] for f in figures) >= 90, name  # and it is seen: the sizes are detectable
    assert abs(np.mean([f["estimate"] for f in figures]) - size) < 0.1 * abs(size), name  # unbiased


@pytest.mark.parametrize("name", list(MEASURES))
def test_with_no_bias_injected_the_figure_is_rarely_flagged(name: str):
    measure, _, _ = MEASURES[name]
    figures = [measure(seed + 1000, 0.0) for seed in SEEDS]
    flagged = sum(f["flagged"] for f in figures)
    assert flagged <= FALSE_FLAGS, f"{name}: flagged in {flagged} of 100 seeds"
    if name != "fast answers":  # one-sided against a tolerance: its interval need not cover 0
        assert sum(covers(f, 0.0) for f in figures) >= MIN_COVERED, name


def test_fatigue_agreement_and_drift_of_the_score_are_not_flagged_without_bias():
    """The secondary figures (agreement with the others, the ordinal score) on honest answers."""
    flagged = np.zeros(2, int)
    for seed in SEEDS:
        rows = graded_rows(seed + 2000)
        rows = rows.assign(agree=rows["correct"], score=np.where(rows["correct"] == 1, 1.0, 0.5))
        flagged += [slope_on_position(sessions(rows), "agree")["flagged"],
                    slope_on_weeks(weeks(rows), "score")["flagged"]]
    assert (flagged <= FALSE_FLAGS).all(), flagged


def test_the_allowances_fail_a_correct_interval_about_one_time_in_a_hundred():
    assert stats.binom.sf(FALSE_FLAGS, 100, 0.05) < 0.012 < stats.binom.sf(FALSE_FLAGS - 1, 100, 0.05)
    assert stats.binom.cdf(MIN_COVERED - 1, 100, 0.95) < 0.03  # so does an exact interval's coverage


def test_leniency_drift_moves_the_mean_score_up():
    """Leniency: an answer moves one option up with a chance growing each week; the score's slope is positive."""
    
    flagged = 0
    for seed in range(20):
        rows = graded_rows(seed)
        rng = np.random.default_rng(seed)
        index = rng.integers(0, 4, size=len(rows))  # options 0..4, the top one never true
        seconds = (rows["submitted_at"] - rows["submitted_at"].min()).dt.total_seconds().to_numpy()
        index = mix(rng.random(len(rows)), lenient_rate(0.1, seconds), index + 1, index)
        figure = drift(rows.assign(score=index / 4))["score"]["queue"]
        flagged += figure["flagged"] and figure["estimate"] > 0
    assert flagged >= 18


def test_fatigue_and_drift_report_per_reviewer_with_a_curve_and_weeks():
    rows = pd.concat([graded_rows(1, fatigue=0.02).assign(reviewer="tired"), graded_rows(2).assign(reviewer="fresh")])
    rows = rows.assign(submission_id=np.arange(len(rows)), item_id=np.arange(len(rows)))
    tired = fatigue(rows)
    assert tired["accuracy"]["reviewers"]["tired"]["flagged"] and not tired["accuracy"]["reviewers"]["fresh"]["flagged"]
    assert [(c["from"], c["to"]) for c in tired["curve"]] == [(1, 5), (6, 10), (11, 15), (16, 20), (21, 25)]
    assert tired["curve"][0]["gold_n"] == 2 * 5 * 24  # 600 submissions each: 24 sessions of 25
    moving = drift(rows)
    assert {w["week"] for w in moving["weekly"]} == set(range(1, 8))  # 24 sessions two days apart: 47 days
    assert moving["score"]["queue"]["note"].startswith("needs 20+")


def test_sessions_split_at_thirty_minute_gaps():
    at = pd.to_datetime(["2026-01-01 09:00", "2026-01-01 09:29", "2026-01-01 10:00", "2026-01-01 10:10",
                         "2026-01-01 09:00"], utc=True)  # fmt: skip
    rows = pd.DataFrame({"reviewer": ["a", "a", "a", "a", "b"], "submission_id": [1, 2, 3, 4, 5], "submitted_at": at})
    out = sessions(rows).set_index("submission_id")
    assert out["position"].tolist() == [0, 1, 0, 1, 0]  # 09:29 -> 10:00 is a 31-minute gap
    assert out["session"].nunique() == 3
