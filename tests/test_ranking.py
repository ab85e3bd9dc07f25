"""Pairwise results: win rates with Wilson intervals, and a Bradley-Terry ranking checked against
hand-computed cases, an independent fit (scikit-learn's unpenalised logistic regression) and a
simulation with known strengths."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from reviewdesk.agreement.ranking import bradley_terry, fit_counts, pair_results, wilson
from reviewdesk.errors import ConfigError


def judgments(*rows: tuple[str, str, str, int]) -> pd.DataFrame:
    """(left, right, outcome, times) -> one row per judgment."""
    rows = [(a, b, o) for a, b, o, times in rows for _ in range(times)]
    return pd.DataFrame(rows, columns=["left", "right", "outcome"])


def test_wilson_interval_matches_the_published_8_of_10():
    low, high = wilson(8, 10)  # Wilson (1927); Newcombe (1998) table I: 0.4902 to 0.9433
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    assert wilson(0, 5)[0] == 0.0 and wilson(5, 5)[1] == 1.0
    assert wilson(0, 5)[1] == pytest.approx(1.96**2 / (5 + 1.96**2), abs=1e-4)


def test_pair_results_count_each_pair_from_the_first_name_with_ties_as_half():
    c = judgments(("gpt", "claude", "left", 3), ("claude", "gpt", "left", 1), ("gpt", "claude", "tie", 2),
                  ("claude", "gpt", "right", 2), ("gpt", "llama", "right", 1))  # fmt: skip
    got = {(p.value, p.other): p for p in pair_results(c)}
    claude = got["claude", "gpt"]
    assert (claude.wins, claude.ties, claude.losses) == (1, 2, 5)
    assert claude.win_rate == pytest.approx(2 / 8) and claude.win_rate_ci == pytest.approx(wilson(2, 8))
    assert (got["gpt", "llama"].wins, got["gpt", "llama"].losses) == (0, 1)


def test_reviewers_of_one_item_share_its_weight():
    c = judgments(("A", "B", "left", 2), ("A", "B", "right", 1), ("B", "A", "tie", 3))
    c["item"] = ["i1", "i1", "i1", "i2", "i2", "i2"]  # item 1: A won 2 of 3 reviews; item 2: three ties
    (ab,) = pair_results(c)
    assert (ab.wins, ab.ties, ab.losses) == (2, 3, 1)  # judgments
    assert ab.win_rate == pytest.approx((2 / 3 + 1 / 2) / 2) and ab.win_rate_ci == pytest.approx(wilson(7 / 6, 2))
    r = bradley_terry(c)  # two items: A's share 7/6 of 2 -> s_A - s_B = log(7/5)
    assert r.n == 2 and r.strength[0] == pytest.approx(math.log(7 / 5) / 2, abs=1e-9)


def test_two_values_fit_the_log_odds_of_their_record_by_hand():
    # A beats B 3 times of 4: s_A - s_B = log 3, centred +-log(3)/2; Var(s_A - s_B) = 1 / (n p (1 - p)) = 4/3
    r = bradley_terry(judgments(("A", "B", "left", 2), ("B", "A", "right", 1), ("A", "B", "right", 1)))
    assert r.values == ("A", "B")
    assert r.strength == pytest.approx((math.log(3) / 2, -math.log(3) / 2), abs=1e-9)
    assert r.stderr[0] == pytest.approx(math.sqrt(4 / 3) / 2, abs=1e-9)
    assert r.win_probability("A", "B") == pytest.approx(0.75)
    assert r.note is None and r.n == 4
    # a tie is half a win each: 2 wins, 2 ties, 0 losses -> 3 of 4 again
    tied = bradley_terry(judgments(("A", "B", "left", 2), ("A", "B", "tie", 2)))
    assert tied.strength == pytest.approx(r.strength, abs=1e-9)


def _sklearn(c: pd.DataFrame, values: list[str], position: bool) -> tuple[np.ndarray, float]:
    """The same model as a weighted logistic regression: x = e_left - e_right (last value dropped), a tie
    entered twice at weight 1/2."""
    index = {v: i for i, v in enumerate(values)}
    x = np.zeros((len(c), len(values)))
    x[np.arange(len(c)), c["left"].map(index)] = 1
    x[np.arange(len(c)), c["right"].map(index)] = -1
    tie = (c["outcome"] == "tie").to_numpy()
    xs = np.r_[x, x[tie]][:, :-1]
    y = np.r_[(c["outcome"] == "left").to_numpy(), np.zeros(tie.sum(), bool)]
    y[np.flatnonzero(tie)] = True  # each tie: once won (weight 1/2), once lost (weight 1/2)
    w = np.r_[np.where(tie, 0.5, 1.0), np.full(tie.sum(), 0.5)]
    fit = LogisticRegression(C=np.inf, fit_intercept=position, tol=1e-12, max_iter=10_000).fit(xs, y, w)
    beta = np.r_[fit.coef_[0], 0.0]
    return beta - beta.mean(), float(fit.intercept_[0]) if position else 0.0


@pytest.mark.parametrize("position", [False, True])
def test_the_fit_matches_an_independent_logistic_regression_to_3_decimals(position: bool):
    rng = np.random.default_rng(3)
    values = ["claude", "gpt", "llama", "mistral"]
    truth = {"claude": 0.6, "gpt": 0.2, "llama": -0.3, "mistral": -0.5}
    rows = []
    for _ in range(400):
        a, b = rng.choice(values, 2, replace=False)
        p = 1 / (1 + math.exp(-(truth[a] - truth[b] + 0.4)))
        u = rng.random()
        rows.append((a, b, "tie" if u < 0.15 else "left" if u < 0.15 + 0.85 * p else "right"))
    c = pd.DataFrame(rows, columns=["left", "right", "outcome"])
    ours = bradley_terry(c, position=position)
    theirs, h = _sklearn(c, values, position)
    got = dict(zip(ours.values, ours.strength, strict=True))
    assert [round(got[v], 3) for v in values] == [round(x, 3) for x in theirs]
    assert ours.strength == tuple(sorted(ours.strength, reverse=True))  # best first
    if position:
        assert round(ours.left_advantage, 3) == round(h, 3) and ours.left_advantage_ci[0] > 0
    else:
        assert ours.left_advantage is None


def test_a_simulation_recovers_known_strengths_with_covering_intervals():
    truth = np.array([0.9, 0.4, -0.3, -1.0])  # centred; the left side is worth +0.3
    names = ["v0", "v1", "v2", "v3"]
    i, j = np.array([(a, b) for a in range(4) for b in range(4) if a != b]).T  # every ordered pair: left a, right b
    seeds, per_side = 200, 40
    p = 1 / (1 + np.exp(-(truth[i] - truth[j] + 0.3)))
    wins = np.random.default_rng(7).binomial(per_side, p, size=(seeds, len(i)))  # all seeds at once
    n = np.full(len(i), float(per_side))
    covered, ordered, h_covered = np.zeros(4), 0, 0
    for s in wins:
        r = fit_counts(names, i, j, s.astype(float), n, position=True)
        ordered += r.values == tuple(names)
        for v, (low, high) in zip(r.values, r.ci, strict=True):
            covered[names.index(v)] += low <= truth[names.index(v)] <= high
        h_covered += r.left_advantage_ci[0] <= 0.3 <= r.left_advantage_ci[1]
    assert ordered / seeds >= 0.9
    assert (covered / seeds >= 0.9).all(), covered / seeds
    assert h_covered / seeds >= 0.9


def test_a_value_that_never_lost_gets_a_weak_prior_and_a_note():
    r = bradley_terry(judgments(("A", "B", "left", 5), ("B", "C", "left", 3), ("C", "B", "left", 2)))
    assert r.values[0] == "A" and r.note and "weak prior" in r.note
    assert all(math.isfinite(s) for s in r.strength) and sum(r.strength) == pytest.approx(0, abs=1e-9)


def test_bad_comparisons_say_what_to_give():
    with pytest.raises(ConfigError, match="left, right and outcome"):
        bradley_terry(pd.DataFrame({"left": ["A"], "right": ["B"]}))
    with pytest.raises(ConfigError, match="outcome left, right or tie"):
        bradley_terry(judgments(("A", "B", "won", 1)))
    with pytest.raises(ConfigError, match="two different values"):
        bradley_terry(judgments(("A", "A", "left", 1)))
    with pytest.raises(ConfigError, match="at least two different values"):
        bradley_terry(judgments())


def test_the_ab_queue_report_answers_which_model_wins(demo_stores):
    from reviewdesk.demo.simulate import simulate_reviews
    from reviewdesk.labels.collection import collect
    from reviewdesk.labels.resolve import resolve_queue
    from reviewdesk.quality.markdown import markdown
    from reviewdesk.quality.report import queue_quality

    store, wh = demo_stores
    simulate_reviews(store, wh, "support-ab", reviewers=3, accuracy=0.9, seed=2)
    collect(store, wh)
    resolve_queue(store, wh, "support-ab")
    results = queue_quality(store, wh, "support-ab", resamples=50)["pairwise"]
    preferences = wh.scalar("SELECT count(*) FROM labels WHERE queue = 'support-ab' AND criterion = 'preference'")
    models = {m for (m,) in wh.execute(
        "SELECT DISTINCT r.model FROM runs r JOIN items i ON r.run_id IN (i.run_a, i.run_b) "
        "JOIN labels l USING (item_id) WHERE i.queue = 'support-ab'")}  # fmt: skip
    assert results["compare"] == "model" and results["judgments"] == preferences > 0
    assert sum(p["wins"] + p["ties"] + p["losses"] for p in results["pairs"]) == preferences
    assert {v["value"] for v in results["ranking"]["values"]} == models
    corrected = results["ranking_position_corrected"]
    assert {v["value"] for v in corrected["values"]} == models and 0 < corrected["left_win_probability"] < 1
    assert sum(v["strength"] for v in results["ranking"]["values"]) == pytest.approx(0, abs=1e-9)
    assert "## Pairwise results (by model)" in markdown(queue_quality(store, wh, "support-ab", resamples=0))
