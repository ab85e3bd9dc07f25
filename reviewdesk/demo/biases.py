"""Known biases injected into simulated reviewers, so the bias controls can be checked against the truth.

Each bias has one size, and each figure of `reviewdesk.quality` estimates exactly that size:

- `length`: with this chance a pairwise answer is the longer answer, whatever the reviewer thought
  (verbosity: the excess share choosing the longer answer).
- `fatigue`: accuracy falls by this much per item into a session (fatigue: the slope of gold accuracy
  on the position in the session, negated).
- `fast`: this share of submissions is made faster than the queue's `min_seconds` (rubber-stamping).
  Copying the suggestion shown is the simulator's `anchoring` rate (the copy rate).
- `repeat`: with this chance a submission repeats the reviewer's previous answers (straight-lining:
  the excess chance of repeating the previous answer).
- `drift`: accuracy changes by this much per week (drift: the slope of gold accuracy on weeks).
- `leniency`: each week adds this chance that an ordinal answer moves one option up (drift of the mean
  ordinal score; it cannot move past the top option, so its size is recovered only roughly).

Simulated time: each reviewer works in sessions of SESSION_ITEMS items, one every SLOT_SECONDS, and a
new session every SESSION_DAYS days, from the simulation's start. Honest reviewers spend a time drawn
between HONEST_SECONDS on an item. The functions work on numbers and on numpy arrays alike, so the
simulator (one submission at a time) and the simulation tests (thousands at once) share them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from reviewdesk.errors import ConfigError
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse

SESSION_ITEMS = 25
SLOT_SECONDS = 120.0
SESSION_DAYS = 2.0
WEEK_SECONDS = 7 * 24 * 3600.0
HONEST_SECONDS = (20.0, 110.0)
FAST_SECONDS = 5.0  # how fast a too-fast answer is when the queue sets no `min_seconds`
PREFERENCE, TIE = "preference", "tie"


@dataclass(frozen=True)
class Biases:
    """The biases the first `reviewers` simulated reviewers carry (see the module docstring)."""

    length: float = 0.0
    fatigue: float = 0.0
    fast: float = 0.0
    repeat: float = 0.0
    drift: float = 0.0
    leniency: float = 0.0
    reviewers: int = 1

    def __post_init__(self) -> None:
        for what in ("length", "fast", "repeat", "fatigue", "leniency"):
            if not 0 <= getattr(self, what) <= 1:
                raise ConfigError(f"{what} {getattr(self, what)} is not a rate: give a value from 0 to 1.")
        if not -1 <= self.drift <= 1:
            raise ConfigError(f"drift {self.drift} is an accuracy change per week: give a value from -1 to 1.")
        if self.reviewers < 0:
            raise ConfigError("the number of biased reviewers cannot be negative.")

    def as_dict(self) -> dict:
        return asdict(self)


def schedule(k: Any) -> tuple[Any, Any]:
    """The position in its session (0 first) and the seconds since the reviewer started of their k-th submission."""
    session, position = np.divmod(k, SESSION_ITEMS)
    return position, session * SESSION_DAYS * 86400.0 + (position + 1) * SLOT_SECONDS


def accuracy_at(base: float, fatigue: float, drift: float, position: Any, seconds: Any) -> Any:
    """A reviewer's accuracy at a position in a session, that many seconds after they started."""
    return np.clip(base - fatigue * position + drift * seconds / WEEK_SECONDS, 0.0, 1.0)


def seconds_on_item(u_fast: Any, u: Any, fast: float, min_seconds: float | None) -> Any:
    """Time spent on an item: under `min_seconds` with chance `fast`, else an honest time (never under it)."""
    quick = min_seconds or FAST_SECONDS
    low = max(HONEST_SECONDS[0], quick)
    honest = low + u * (HONEST_SECONDS[1] - HONEST_SECONDS[0])
    return np.where(u_fast < fast, quick * (0.05 + 0.9 * u), honest)


def mix(u: Any, rate: Any, biased: Any, honest: Any) -> Any:
    """The biased answer with chance `rate` (u uniform on [0, 1)), else the honest one (elementwise on arrays)."""
    if np.ndim(u) == 0:
        return biased if u < rate else honest
    return np.where(u < rate, biased, honest)


def lenient_rate(leniency: float, seconds: Any) -> Any:
    """The chance an ordinal answer moves one option up, that many seconds after the reviewer started."""
    return np.clip(leniency * seconds / WEEK_SECONDS, 0.0, 1.0)


def answer_lengths(wh: Warehouse, queue: str) -> dict[str, int]:
    """The length of each pairwise run's answer (its outputs as JSON text), as the verbosity figure measures it."""
    rows = wh.execute(
        """SELECT r.run_id, length(r.outputs::VARCHAR) FROM runs r
           WHERE r.run_id IN (SELECT unnest([run_a, run_b]) FROM items WHERE queue = ? AND run_b IS NOT NULL)""",
        [queue],
    )
    return {run_id: n or 0 for run_id, n in rows}


class Injector:
    """Applies `biases` to the submissions of the biased reviewers, one at a time, and keeps every
    simulated reviewer's clock (see the module docstring). Its generators are its own, seeded, so the
    honest answers are the same with or without biases."""

    def __init__(self, biases: Biases, names: list[str], start: datetime, lengths: Mapping[str, int],
                 min_seconds: float | None, seed: int) -> None:  # fmt: skip
        self.biases, self.start, self.lengths, self.min_seconds = biases, start, lengths, min_seconds
        self.biased = set(names[: biases.reviewers])
        self.rng = {name: random.Random(f"{seed}:biases:{name}") for name in names}
        self.count = dict.fromkeys(names, 0)
        self.previous: dict[str, dict[str, Any]] = {}

    @classmethod
    def for_queue(
        cls, biases: Biases, store: ReviewStore, wh: Warehouse, queue: str, names: list[str], start: datetime, seed: int
    ) -> Injector:
        """The injector for a simulation of `queue`: its answers' lengths and its `min_seconds`."""
        config = (store.queue(queue) or {}).get("config") or {}
        return cls(biases, names, start, answer_lengths(wh, queue), config.get("min_seconds"), seed)

    def clock(self, name: str) -> datetime:
        """When `name` submits their next item."""
        return self.start + timedelta(seconds=float(schedule(self.count[name])[1]))

    def accuracy(self, name: str, base: float) -> float:
        """The accuracy of `name`'s next answer: fatigue and drift applied."""
        if name not in self.biased:
            return base
        position, seconds = schedule(self.count[name])
        return float(accuracy_at(base, self.biases.fatigue, self.biases.drift, position, seconds))

    def apply(
        self, name: str, item: Mapping[str, Any], answers: dict[str, Any], criteria: list[Mapping[str, Any]]
    ) -> tuple[dict[str, Any], datetime, datetime]:
        """`name`'s answers with the biases applied, when they were shown the item and when they submitted."""
        rng, b = self.rng[name], self.biases
        _, seconds = schedule(self.count[name])
        at = self.clock(name)
        self.count[name] += 1
        u_fast, u = rng.random(), rng.random()
        shown_at = at - timedelta(seconds=float(seconds_on_item(u_fast, u, b.fast if name in self.biased else 0.0,
                                                                 self.min_seconds)))  # fmt: skip
        if name not in self.biased:
            return answers, at, shown_at
        out = dict(answers)
        rate = float(lenient_rate(b.leniency, seconds))
        for c in criteria:
            options, key = c.get("options") or [], c["key"]
            if c["type"] == "ordinal" and key in out and out[key] in options:
                up = options[min(options.index(out[key]) + 1, len(options) - 1)]
                out[key] = mix(rng.random(), rate, up, out[key])
        if PREFERENCE in out:
            a, z = self.lengths.get(item["run_a"], 0), self.lengths.get(item["run_b"], 0)
            longer = item["run_a"] if a > z else item["run_b"] if z > a else out[PREFERENCE]
            out[PREFERENCE] = mix(rng.random(), b.length, longer, out[PREFERENCE])
        if name in self.previous and rng.random() < b.repeat:
            out = {**out, **self._repeated(item, self.previous[name])}
        self.previous[name] = self._sides(item, out)
        return out, at, shown_at

    @staticmethod
    def _sides(item: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, Any]:
        """Answers as the reviewer saw them: a pairwise preference as the side it was shown on."""
        out = dict(answers)
        if PREFERENCE in out:
            v = out[PREFERENCE]
            out[PREFERENCE] = TIE if v == TIE else "left" if v == item["left_run_id"] else "right"
        return out

    @staticmethod
    def _repeated(item: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, Any]:
        """The previous answers on this item: a preference on the same side."""
        out = dict(previous)
        if PREFERENCE in out:
            right = item["run_b"] if item["left_run_id"] == item["run_a"] else item["run_a"]
            out[PREFERENCE] = {"left": item["left_run_id"], "right": right}.get(out[PREFERENCE], TIE)
        return out


__all__ = ["Biases", "Injector", "accuracy_at", "answer_lengths", "lenient_rate", "mix", "schedule",
           "seconds_on_item"]  # fmt: skip
