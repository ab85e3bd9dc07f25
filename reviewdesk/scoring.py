"""Scorers: a model's suggested answer per run and criterion, with a confidence and the model version.

A scorer takes runs (a frame of `reviewdesk.features.RUN_FIELDS`, one row a run) and returns, for
each run, `{criterion: Suggestion}`; a criterion it cannot judge is left out. Three ship:

- `heuristic`: rules that need no labels, for a cold start: an error status, an empty output, a
  refusal phrase or a thumbs-down suggests the criterion's "bad" value, a thumbs-up its "good"
  value, each with a fixed confidence. A run no rule fires on gets no suggestion.
- `sklearn`: per categorical, ordinal or boolean criterion, the queue's latest trained model (see
  `reviewdesk.models`) where it beat the majority-class baseline in cross-validation; the heuristic
  serves every other criterion, and any model whose file is missing or corrupt (with a warning).
- `http_judge`: an OpenAI-compatible chat endpoint (see `reviewdesk.judge`), falling back to the
  heuristic for a run it cannot answer.

`get_scorer(name, queue, wh, models_dir)` builds the one a queue (or the CLI's --scorer) asks for.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from reviewdesk.errors import ConfigError
from reviewdesk.features import prepared
from schemas.queue import Criterion, QueueConfig
from schemas.scoring import HeuristicValues

SCORABLE = ("categorical", "ordinal", "boolean")  # criteria with a fixed set of answers
HEURISTIC_VERSION = "heuristic-1"  # bump when a rule or confidence below changes
REFUSAL = re.compile(
    r"\b(?:i'?m sorry,? (?:but )?i can(?:no|')?t|i can(?:no|')?t (?:help|assist)|i(?:'m| am) (?:not able|unable) to|"
    r"unfortunately,? i(?:'m| am) not able|as an ai\b)",
    re.IGNORECASE,
)
BAD_WORDS = re.compile(r"^(incorrect|wrong|bad|fail(ed)?|no|poor|unacceptable|unsafe|harmful|unhelpful)$")
GOOD_WORDS = re.compile(r"^(correct|right|good|pass(ed)?|yes|ok|acceptable|safe|helpful)$")
# The rules in the order they are tried: (why, verdict, confidence). The first that fires decides.
RULES = (
    ("error status", "bad", 0.9),
    ("empty output", "bad", 0.85),
    ("refusal phrase", "bad", 0.75),
    ("thumbs-down", "bad", 0.6),
    ("thumbs-up", "good", 0.55),
)


class ModelFallbackWarning(UserWarning):
    """A trained model could not be used (missing or corrupt file); the heuristic serves its criterion."""


@dataclass(frozen=True)
class Suggestion:
    """A scorer's answer for one criterion of one run."""

    value: Any
    confidence: float
    model_version: str

    def as_dict(self) -> dict[str, Any]:
        """The review store's `items.suggestions` entry."""
        return {"value": self.value, "confidence": self.confidence, "model_version": self.model_version}


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


def scorable(queue: QueueConfig) -> list[Criterion]:
    """The queue's criteria a scorer can suggest an answer for (a fixed set of options)."""
    return [c for c in queue.rubric.criteria if c.type in SCORABLE]


def options(c: Criterion) -> list[Any]:
    """The answers a criterion allows, as typed values."""
    return [True, False] if c.type == "boolean" else list(c.options or [])


def heuristic_values(c: Criterion, override: HeuristicValues | None = None) -> tuple[Any, Any]:
    """The (bad, good) values rules suggest for a criterion: from the queue's config, else inferred.

    Ordinal scales run from worst to best; categorical options are matched by name (incorrect /
    correct, bad / good, fail / pass, ...); booleans have no known direction. None where unknown.
    """
    bad = good = None
    if c.type == "ordinal":
        bad, good = c.options[0], c.options[-1]
    elif c.type == "categorical":
        names = {str(o).lower().replace("_", " ").replace("-", " "): o for o in c.options or []}
        bad = next((o for n, o in names.items() if BAD_WORDS.match(n)), None)
        good = next((o for n, o in names.items() if GOOD_WORDS.match(n)), None)
    if override is not None:
        bad = override.bad if override.bad is not None else bad
        good = override.good if override.good is not None else good
    return bad, good


def _signals(runs: pd.DataFrame) -> np.ndarray:
    """Per run, the index into RULES of the first rule that fires, or -1."""
    frame = prepared(runs)
    feedback = pd.to_numeric(frame["user_feedback"], errors="coerce").to_numpy(float)
    fired = [
        (frame["status"] != "success").to_numpy() & (frame["status"] != ""),
        frame["output_text"].str.strip().eq("").to_numpy(),
        frame["output_text"].str.contains(REFUSAL).to_numpy(),
        feedback < 0,
        feedback > 0,
    ]
    out = np.full(len(frame), -1)
    for i in reversed(range(len(RULES))):
        out[fired[i]] = i
    return out


@dataclass
class HeuristicScorer:
    """Rules that need no labels (see the module docstring); `values` maps criterion -> (bad, good)."""

    values: dict[str, tuple[Any, Any]]
    name: str = "heuristic"
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def for_queue(cls, queue: QueueConfig) -> HeuristicScorer:
        """Rules for every criterion of the queue with a known bad or good value."""
        values = {c.key: heuristic_values(c, queue.prescore.heuristic.get(c.key)) for c in scorable(queue)}
        return cls({k: v for k, v in values.items() if v != (None, None)})

    def score(self, runs: pd.DataFrame) -> list[dict[str, Suggestion]]:
        out: list[dict[str, Suggestion]] = []
        for rule in _signals(runs):
            row: dict[str, Suggestion] = {}
            if rule >= 0:
                _, verdict, confidence = RULES[rule]
                for key, (bad, good) in self.values.items():
                    value = bad if verdict == "bad" else good
                    if value is not None:
                        row[key] = Suggestion(value, confidence, HEURISTIC_VERSION)
            out.append(row)
        return out

    def versions(self) -> dict[str, str]:
        return dict.fromkeys(self.values, HEURISTIC_VERSION)


@dataclass
class LoadedModel:
    """A trained model ready to predict: its features, classifier and the typed value of each class."""

    criterion: str
    model_version: str
    features: Any
    features_id: str
    classifier: Any
    values: list[Any]


@dataclass
class SklearnScorer:
    """Trained models for some criteria, the heuristic for the rest (see `reviewdesk.models.serving`)."""

    models: dict[str, LoadedModel]
    fallback: HeuristicScorer
    name: str = "sklearn"
    warnings: list[str] = field(default_factory=list)

    def score(self, runs: pd.DataFrame) -> list[dict[str, Suggestion]]:
        out = self.fallback.score(runs)
        for row in out:
            for key in self.models:
                row.pop(key, None)
        if not self.models or runs.empty:
            return out
        frame = prepared(runs)
        matrices: dict[str, Any] = {}  # models trained together share their features: transform once
        for key, m in self.models.items():
            if m.features_id not in matrices:
                matrices[m.features_id] = m.features.transform(frame)
            proba = m.classifier.predict_proba(matrices[m.features_id])
            best = proba.argmax(axis=1)
            for row, k, p in zip(out, best, proba[np.arange(len(best)), best], strict=True):
                row[key] = Suggestion(m.values[k], round(float(p), 4), m.model_version)
        return out

    def versions(self) -> dict[str, str]:
        return self.fallback.versions() | {k: m.model_version for k, m in self.models.items()}


def get_scorer(name: str | None, queue: QueueConfig, wh: Any, models_dir: Path) -> Scorer | None:
    """The scorer `name` (default: the queue's `prescore.scorer`) for `queue`; None for `none`."""
    name = name or queue.prescore.scorer
    if name == "none":
        return None
    heuristic = HeuristicScorer.for_queue(queue)
    if name == "heuristic":
        return heuristic
    if name == "sklearn":
        from reviewdesk.models import serving  # the registry imports scikit-learn's heavier parts

        loaded, notes = serving(wh, queue, models_dir)
        for note in notes:
            warnings.warn(note, ModelFallbackWarning, stacklevel=2)
        return SklearnScorer(loaded, heuristic, warnings=list(notes))
    if name == "http_judge":
        if queue.prescore.judge is None:
            raise ConfigError(
                f"Queue {queue.name!r} has no judge endpoint: add `prescore: {{judge: {{url: ..., model: ...}}}}` "
                f"to its YAML, or pick another scorer (--scorer sklearn or heuristic)."
            )
        from reviewdesk.judge import HttpJudge

        return HttpJudge(queue.prescore.judge, queue.rubric.instructions, scorable(queue), heuristic)
    raise ConfigError(f"Unknown scorer {name!r}: use sklearn, heuristic, http_judge or none.")


def suggestions_json(row: Mapping[str, Suggestion]) -> dict[str, dict] | None:
    """A run's suggestions as the review store keeps them, or None when there are none."""
    return {k: s.as_dict() for k, s in row.items()} or None


__all__ = [
    "HEURISTIC_VERSION",
    "SCORABLE",
    "HeuristicScorer",
    "LoadedModel",
    "ModelFallbackWarning",
    "Scorer",
    "SklearnScorer",
    "Suggestion",
    "get_scorer",
    "heuristic_values",
    "options",
    "scorable",
    "suggestions_json",
]
