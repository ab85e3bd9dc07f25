"""Simulated reviewers: they answer the demo truth with the accuracy asked for, through the store API."""

from __future__ import annotations

from pathlib import Path

import pytest
from demo_support import demo_copy

from reviewdesk.demo.simulate import CORRECTNESS_RANK, preference, simulate_reviews, truths
from reviewdesk.errors import ConfigError
from reviewdesk.review.oversight import progress
from reviewdesk.review.submissions import item_submissions


@pytest.mark.parametrize("accuracy", [1.0, 0.0])
def test_accuracy_one_answers_the_truth_and_zero_never_does(demo_stores, accuracy: float):
    store, wh = demo_stores
    result = simulate_reviews(store, wh, "support-quality", reviewers=3, accuracy=accuracy, seed=1)
    assert result.submitted == progress(store, "support-quality").needed  # every review the queue needs
    assert result.answers > 2 * result.submitted * 0.9  # correctness and helpfulness on almost every item
    assert result.answered_truly == (result.answers if accuracy == 1.0 else 0)


def test_partial_accuracy_is_met_on_average_and_a_seed_repeats_itself(demo_stores, demo_template: Path, tmp_path: Path):
    store, wh = demo_stores
    result = simulate_reviews(store, wh, "support-quality", reviewers=3, accuracy=0.7, seed=2)
    share = result.answered_truly / result.answers
    assert abs(share - 0.7) < 0.06, share  # a few hundred answers: within about 3 standard errors
    with demo_copy(demo_template, tmp_path / "again") as (s2, w2):
        assert simulate_reviews(s2, w2, "support-quality", reviewers=3, accuracy=0.7, seed=2) == result


def test_pairwise_answers_name_runs_and_follow_the_better_verdict(demo_stores):
    store, wh = demo_stores
    result = simulate_reviews(store, wh, "support-ab", reviewers=3, accuracy=1.0, seed=3)
    assert result.submitted > 0 and result.answered_truly == result.answers
    truth = truths(wh, "support-ab")
    for item in store.items("support-ab")[:20]:
        [stored, *_] = item_submissions(store, item["item_id"])
        a, b = truth[item["run_a"]], truth[item["run_b"]]
        rank_a = (CORRECTNESS_RANK[a["correctness"]], a["helpfulness"])
        rank_b = (CORRECTNESS_RANK[b["correctness"]], b["helpfulness"])
        expected = item["run_a"] if rank_a > rank_b else item["run_b"] if rank_b > rank_a else "tie"
        assert stored["answers"]["preference"] == expected == preference(item, truth)


def test_limit_leaves_the_rest_for_people(demo_stores):
    store, wh = demo_stores
    result = simulate_reviews(store, wh, "support-quality", reviewers=2, accuracy=0.9, seed=4, limit=25)
    assert result.submitted == 25 and result.reviewers == ["reviewer1", "reviewer2"]
    assert progress(store, "support-quality", "reviewer3").left_for_me > 0


@pytest.mark.parametrize(("reviewers", "accuracy", "message"), [
    (4, 0.9, "has 3 assignees, fewer than 4 simulated reviewers"),
    (2, 1.5, "is not a probability"),
])  # fmt: skip
def test_bad_parameters_say_what_to_do(demo_stores, reviewers: int, accuracy: float, message: str):
    store, wh = demo_stores
    with pytest.raises(ConfigError, match=message):
        simulate_reviews(store, wh, "support-quality", reviewers=reviewers, accuracy=accuracy)
