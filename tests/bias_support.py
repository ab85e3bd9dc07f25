"""Synthetic reviewers for the bias simulation tests: answers drawn with the injection functions that
`reviewdesk simulate-reviews` uses (`reviewdesk.demo.biases`), straight into each estimator's input
frame (no store, no warehouse), one seeded generator per simulated reviewer."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reviewdesk.demo.biases import accuracy_at, mix, schedule, seconds_on_item

START = pd.Timestamp("2026-01-05", tz="UTC")
OPTIONS = np.array(["correct", "partially_correct", "incorrect"], dtype=object)


def honest(rng: np.random.Generator, truth: np.ndarray, accuracy: np.ndarray | float, k: int = 3) -> np.ndarray:
    """Codes 0..k-1: the true code with chance `accuracy`, else one of the others at random (as the simulator)."""
    other = (truth + rng.integers(1, k, size=len(truth))) % k
    return np.where(rng.random(len(truth)) < accuracy, truth, other)


def verbosity_rows(seed: int, length: float, n: int = 400, accuracy: float = 0.75) -> pd.DataFrame:
    """Preferences coded by length (+1 longer, -1 shorter, 0 tie) against gold, by a reviewer with `length`."""
    rng = np.random.default_rng(seed)
    codes = np.array([1.0, -1.0, 0.0])
    truth = rng.choice(3, size=n, p=[0.45, 0.35, 0.2])
    chose = mix(rng.random(n), length, 1.0, codes[honest(rng, truth, accuracy)])
    return pd.DataFrame({"item_id": np.arange(n), "reviewer": "r", "chose": chose, "reference": codes[truth]})


def timeline(n: int) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """Positions in session, seconds since the start and submission times of a reviewer's n submissions."""
    position, seconds = schedule(np.arange(n))
    return position, seconds, START + pd.to_timedelta(seconds, unit="s")


def graded_rows(seed: int, fatigue: float = 0.0, drift: float = 0.0, n: int = 600, base: float = 0.85) -> pd.DataFrame:
    """Gold answers (`correct`) of a reviewer with a fatigue slope and a drift, one submission per item."""
    rng = np.random.default_rng(seed)
    position, seconds, at = timeline(n)
    right = rng.random(n) < accuracy_at(base, fatigue, drift, position, seconds)
    return pd.DataFrame({"item_id": np.arange(n), "reviewer": "r", "submission_id": np.arange(n), "submitted_at": at,
                         "correct": right.astype(float), "agree": np.nan, "score": np.nan})  # fmt: skip


def timed_rows(seed: int, fast: float, min_seconds: float = 8.0, n: int = 400) -> pd.DataFrame:
    """Submissions with their seconds on the item, a share `fast` of them under `min_seconds`."""
    rng = np.random.default_rng(seed)
    seconds = seconds_on_item(rng.random(n), rng.random(n), fast, min_seconds)
    return pd.DataFrame({"reviewer": "r", "submission_id": np.arange(n), "seconds": seconds})


def suggestion_rows(seed: int, copy: float, n: int = 600, accuracy: float = 0.75) -> pd.DataFrame:
    """Labels under the randomized policy (half the items show the suggestion) by a reviewer copying `copy`."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    suggested = honest(rng, truth, 0.7)
    shown = rng.random(n) < 0.5
    answer = honest(rng, truth, accuracy)
    answer = np.where(shown, mix(rng.random(n), copy, suggested, answer), answer)
    return pd.DataFrame({"item_id": np.arange(n), "reviewer": "r", "suggestion_shown": shown,
                         "agree": answer == suggested})  # fmt: skip


def sequence_rows(seed: int, repeat: float, n: int = 400, accuracy: float = 0.8) -> pd.DataFrame:
    """Two criteria answered on n items in turn by a reviewer who repeats the previous submission with `repeat`."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(3, size=(n, 2), p=[0.5, 0.3, 0.2])
    fresh = np.column_stack([honest(rng, truth[:, c], accuracy) for c in range(2)])
    # mix(u, repeat, previous, fresh) in turn, as the simulator does: each answer comes from the last fresh one
    fresh_here = mix(rng.random(n), repeat, False, True) | (np.arange(n) == 0)
    answers = fresh[np.maximum.accumulate(np.where(fresh_here, np.arange(n), 0))]
    _, _, at = timeline(n)
    return pd.DataFrame({"reviewer": "r", "submission_id": np.repeat(np.arange(n), 2),
                         "submitted_at": np.repeat(at.to_numpy(), 2), "criterion": np.tile(["a", "b"], n),
                         "answer": OPTIONS[answers.ravel()]})  # fmt: skip
