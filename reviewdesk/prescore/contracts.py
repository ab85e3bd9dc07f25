"""What every scorer promises, so the heuristic, the trained models, the HTTP judge and the prescore step
can depend on this one module instead of on each other.

A scorer takes runs (a frame of `reviewdesk.prescore.features.RUN_FIELDS`, one row a run) and returns, for
each run, `{criterion: Suggestion}`; a criterion it cannot judge is left out. A pair scorer does the same
for pairs of runs (row i of one frame against row i of the other). Only criteria with a fixed set of
answers (`scorable`) are ever suggested, never a `per_step` one (a trace's tool calls, ...): a trace or session
item gets suggestions for its unit-level criteria only. This module imports nothing else of the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from schemas.queue import QueueConfig
    from schemas.rubric import Criterion

SCORABLE = ("categorical", "ordinal", "boolean")  # criteria with a fixed set of answers


class ModelFallbackWarning(UserWarning):
    """A trained model could not be used (missing or corrupt file); the heuristic serves its criterion."""


class PairwiseFallbackWarning(ModelFallbackWarning):
    """The scorer asked for cannot judge pairs (the HTTP judge); the pairwise heuristic serves instead."""


MAX_REASON = 300  # characters of a scorer's reason kept with a suggestion


@dataclass(frozen=True)
class Suggestion:
    """A scorer's answer for one criterion of one run; `reason`, where the scorer gives one, says why in a
    short sentence a reviewer reads beside the suggestion."""

    value: Any
    confidence: float
    model_version: str
    reason: str | None = None


class Scorer(Protocol):
    """Anything that suggests answers for runs; `warnings` says what it could not do as asked."""

    name: str
    warnings: list[str]

    def score(self, runs: pd.DataFrame) -> list[dict[str, Suggestion]]:
        """One dict per run, in order: criterion -> suggestion (criteria it cannot judge left out)."""
        ...

    def versions(self) -> dict[str, str]:
        """The model version serving each criterion."""
        ...


class PairScorer(Protocol):
    """Anything that suggests a preference for pairs of runs; `no_suggestion` says why a pair may get none."""

    name: str
    warnings: list[str]
    no_suggestion: str

    def score_pairs(self, a: pd.DataFrame, b: pd.DataFrame) -> list[dict[str, Suggestion]]:
        """One dict per pair (row i of `a` against row i of `b`): {"preference": suggestion} or {}."""
        ...

    def versions(self) -> dict[str, str]:
        """The model version serving each criterion."""
        ...


def scorable(queue: QueueConfig) -> list[Criterion]:
    """The queue's criteria a scorer can suggest an answer for (a fixed set of options). A `per_step`
    criterion is never one: scorers judge an item as a whole, and its answer is one value per step."""
    return [c for c in queue.rubric.criteria if c.type in SCORABLE and not c.per_step]


def options(c: Criterion) -> list[Any]:
    """The answers a criterion allows, as typed values."""
    return [True, False] if c.type == "boolean" else list(c.options or [])


__all__ = [
    "MAX_REASON",
    "SCORABLE",
    "ModelFallbackWarning",
    "PairScorer",
    "PairwiseFallbackWarning",
    "Scorer",
    "Suggestion",
    "options",
    "scorable",
]
