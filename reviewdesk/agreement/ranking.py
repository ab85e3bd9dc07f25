"""Pairwise results: which compared value (model, prompt version) wins, by how much, how surely.

Input: one row per judgment, with the compared value shown on the `left`, the one on the `right`,
and the `outcome` ("left", "right" or "tie"), and optionally the `item` judged. Several reviewers'
judgments of one item are not independent evidence: with `item`, each item weighs 1 in the fits and
intervals, shared equally by its judgments (the win counts stay per judgment). Two figures come out:

- Per pair of values: wins, ties and losses, and the win rate counting a tie as half a win, with a
  Wilson score interval (n = items of the pair, or judgments without `item`).
- A Bradley-Terry ranking of every value: P(i beats j) = 1 / (1 + exp(-(s_i - s_j))), strengths
  centred on 0, fitted by maximum likelihood (Newton's method) with a tie counted as half a win for
  each side. Intervals are Wald intervals from the inverse Fisher information. With
  `position=True` the model adds a left-side advantage h, P(left beats right) = logistic(s_l - s_r + h):
  the strengths are then corrected for position bias, using the recorded sides.

The maximum likelihood estimate exists only when the "beat or tied" graph of the values is strongly
connected (Ford's condition); otherwise (e.g. a value that never lost) the fit adds a weak prior,
`PRIOR` on every strength (a ridge, as one virtual tie against an average value), and says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from reviewdesk.errors import ConfigError

OUTCOMES = ("left", "right", "tie")
PRIOR = 0.5  # ridge precision added only when the maximum likelihood estimate does not exist


@dataclass(frozen=True)
class PairResult:
    """Judgments of one pair of values, from the side of `value` against `other`."""

    value: str
    other: str
    wins: int
    ties: int
    losses: int
    win_rate: float  # (wins + ties / 2) / judgments
    win_rate_ci: tuple[float, float]

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "other": self.other, "wins": self.wins, "ties": self.ties, "losses": self.losses,
                "n": self.wins + self.ties + self.losses, "win_rate": self.win_rate,
                "win_rate_ci": list(self.win_rate_ci)}  # fmt: skip


@dataclass(frozen=True)
class Ranking:
    """A Bradley-Terry fit: strengths (centred log-odds) with their intervals, best first."""

    values: tuple[str, ...]
    strength: tuple[float, ...]
    ci: tuple[tuple[float, float], ...]
    stderr: tuple[float, ...]
    left_advantage: float | None  # h, in log-odds; None when the fit ignores sides
    left_advantage_ci: tuple[float, float] | None
    n: int  # judgments (items, when judgments carry their item)
    note: str | None = None  # e.g. why a weak prior was added

    def win_probability(self, a: str, b: str) -> float:
        """The fitted chance that `a` beats `b` (a tie counting half), sides balanced."""
        i, j = self.values.index(a), self.values.index(b)
        return _logistic(self.strength[i] - self.strength[j])

    def as_dict(self) -> dict[str, Any]:
        rows = zip(self.values, self.strength, self.ci, self.stderr, strict=True)
        return {
            "values": [
                {"value": v, "rank": k + 1, "strength": s, "strength_ci": list(ci), "stderr": se,
                 "win_probability_vs_average": _logistic(s)}
                for k, (v, s, ci, se) in enumerate(rows)
            ],
            "left_advantage": self.left_advantage,
            "left_advantage_ci": list(self.left_advantage_ci) if self.left_advantage_ci else None,
            "left_win_probability": None if self.left_advantage is None else _logistic(self.left_advantage),
            "n": self.n,
            "note": self.note,
        }


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(successes: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (successes may count halves, e.g. ties)."""
    if n <= 0:
        raise ConfigError("A proportion needs at least one trial.")
    z, p = _z(confidence), min(1.0, successes / n)
    if p in (0.0, 1.0):  # the closed forms, exactly
        bound = n / (n + z * z)
        return (0.0, 1.0 - bound) if p == 0 else (bound, 1.0)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _checked(comparisons: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("left", "right", "outcome") if c not in comparisons.columns]
    if missing:
        raise ConfigError(f"Comparisons lack the column(s) {', '.join(missing)}: give left, right and outcome.")
    bad = ~comparisons["outcome"].isin(OUTCOMES) | (comparisons["left"] == comparisons["right"])
    if bad.any():
        row = comparisons[bad].iloc[0]
        raise ConfigError(f"A comparison must set two different values against each other, with outcome left, "
                          f"right or tie; got {row['left']!r} vs {row['right']!r}: {row['outcome']!r}.")  # fmt: skip
    c = comparisons.astype({"left": str, "right": str})
    per_item = c.groupby("item")["item"].transform("size") if "item" in c.columns else 1
    return c.assign(weight=1.0 / per_item)


def pair_results(comparisons: pd.DataFrame, confidence: float = 0.95) -> list[PairResult]:
    """Wins, ties, losses and the win rate with its Wilson interval, per pair of values (sorted by name)."""
    c = _checked(comparisons)
    left_first = c["left"] <= c["right"]
    table = pd.DataFrame({
        "a": c["left"].where(left_first, c["right"]), "b": c["right"].where(left_first, c["left"]),
        "win": np.where(left_first, c["outcome"] == "left", c["outcome"] == "right"), "tie": c["outcome"] == "tie",
        "weight": c["weight"],
    })  # fmt: skip
    table["loss"] = ~table["win"] & ~table["tie"]
    out = []
    for (a, b), g in table.groupby(["a", "b"], sort=True):
        wins, ties, losses = int(g["win"].sum()), int(g["tie"].sum()), int(g["loss"].sum())
        n = g["weight"].sum()
        won = (g["weight"] * (g["win"] + 0.5 * g["tie"])).sum()
        ci = wilson(won, max(1, round(n)), confidence)
        out.append(PairResult(str(a), str(b), wins, ties, losses, float(won / n), ci))
    return out


def _estimable(k: int, i: np.ndarray, j: np.ndarray, s: np.ndarray, n: np.ndarray) -> bool:
    """Ford's condition: every value beat or tied one in each other group (the graph is strongly connected)."""
    beat = np.concatenate([np.c_[i, j][s > 0], np.c_[j, i][n - s > 0]])
    graph = coo_matrix((np.ones(len(beat)), (beat[:, 0], beat[:, 1])), shape=(k, k))
    return connected_components(graph, directed=True, connection="strong")[0] == 1


def _newton(x: np.ndarray, s: np.ndarray, n: np.ndarray, prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximise sum s log p + (n - s) log(1 - p), p = logistic(x b), minus sum prior b^2 / 2; (b, covariance)."""
    beta = np.zeros(x.shape[1])
    ridge = np.diag(prior)
    for _ in range(100):
        p = 1 / (1 + np.exp(-(x @ beta)))
        info = x.T @ (x * (n * p * (1 - p))[:, None]) + ridge
        step = np.linalg.solve(info, x.T @ (s - n * p) - ridge @ beta)
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    p = 1 / (1 + np.exp(-(x @ beta)))
    return beta, np.linalg.inv(x.T @ (x * (n * p * (1 - p))[:, None]) + ridge)


def bradley_terry(comparisons: pd.DataFrame, position: bool = False, confidence: float = 0.95) -> Ranking:
    """Fit strengths (ties as half a win each); with `position`, also the left side's advantage."""
    c = _checked(comparisons)
    values = sorted(set(c["left"]) | set(c["right"]))
    if len(values) < 2:
        raise ConfigError("A ranking needs comparisons between at least two different values.")
    index = {v: i for i, v in enumerate(values)}
    won = c["weight"] * ((c["outcome"] == "left") + 0.5 * (c["outcome"] == "tie"))
    grouped = pd.DataFrame({"i": c["left"].map(index), "j": c["right"].map(index), "s": won, "n": c["weight"]})
    grouped = grouped.groupby(["i", "j"], as_index=False).sum()
    i, j, s, n = (grouped[col].to_numpy() for col in ("i", "j", "s", "n"))
    return fit_counts(values, i, j, s, n, position, confidence)


def fit_counts(
    values: Sequence[str], i: np.ndarray, j: np.ndarray, s: np.ndarray, n: np.ndarray, position: bool = False,
    confidence: float = 0.95,
) -> Ranking:
    """The fit from counts: `n` judgments of values[i] (left) against values[j] (right), `s` of them won on the left."""
    k, rows = len(values), np.arange(len(i))
    full = np.zeros((len(i), k))
    full[rows, i] += 1
    full[rows, j] -= 1
    note, prior = None, 0.0
    if _estimable(k, i, j, s, n):  # the last value is the reference (0) while fitting, then all are centred
        x, a = full[:, : k - 1], (np.eye(k) - 1.0 / k)[:, : k - 1]
    else:  # a ridge on every strength identifies them, and centres them by itself
        x, a, prior = full, np.eye(k), PRIOR
        note = (
            "some value won or lost every comparison it had against the rest, so the strengths are not bounded: "
            f"a weak prior ({PRIOR} per strength) keeps them finite; read the order, not the size"
        )
    ridge = np.full(x.shape[1], prior)
    if position:  # the side's advantage is never shrunk
        x, a, ridge = np.c_[x, np.ones(len(i))], np.c_[a, np.zeros(k)], np.r_[ridge, 0.0]
    beta, cov = _newton(x, s, n, ridge)
    strength = a @ beta
    se = np.sqrt(np.diag(a @ cov @ a.T))
    z = _z(confidence)
    order = np.argsort(-strength, kind="stable")
    h = float(beta[-1]) if position else None
    h_ci = (h - z * math.sqrt(cov[-1, -1]), h + z * math.sqrt(cov[-1, -1])) if h is not None else None
    return Ranking(
        values=tuple(values[o] for o in order),
        strength=tuple(float(strength[o]) for o in order),
        ci=tuple((float(strength[o] - z * se[o]), float(strength[o] + z * se[o])) for o in order),
        stderr=tuple(float(se[o]) for o in order),
        left_advantage=h,
        left_advantage_ci=h_ci,
        n=round(float(n.sum())),
        note=note,
    )


__all__ = ["OUTCOMES", "PRIOR", "PairResult", "Ranking", "bradley_terry", "fit_counts", "pair_results", "wilson"]
