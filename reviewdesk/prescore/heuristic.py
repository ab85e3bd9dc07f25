"""Scorers: a model's suggested answer per run and criterion, with a confidence and the model version.

A scorer takes runs (a frame of `reviewdesk.prescore.features.RUN_FIELDS`, one row a run) and returns, for
each run, `{criterion: Suggestion}`; a criterion it cannot judge is left out. Three ship:

- `heuristic`: rules that need no labels, for a cold start: an error status, an empty output, a
  refusal phrase or a thumbs-down suggests the criterion's "bad" value, a thumbs-up its "good"
  value, each with a fixed confidence. A run no rule fires on gets no suggestion.
- `sklearn`: per categorical, ordinal or boolean criterion, the queue's latest trained model (see
  `reviewdesk.prescore.trained`) where it beat the majority-class baseline in cross-validation; the heuristic
  serves every other criterion, and any model whose file is missing or corrupt (with a warning).
- `http_judge`: an OpenAI-compatible chat endpoint (see `reviewdesk.prescore.judge`), falling back to the
  heuristic for a run it cannot answer.

Pairwise queues are scored a pair at a time (`PairScorer.score_pairs`), for the `preference`
criterion only (the run id the scorer prefers), by `PairwiseHeuristic`: the single-run rules above
rate each run of the pair, and the run they hold clearly less likely bad is preferred (see its
docstring). No trained model serves pairs (models are trained for single queues only) and the HTTP
judge has no pairwise prompt, so every scorer name gives the pairwise heuristic for a pairwise
queue; `http_judge` says so with a warning. The rubric's own criteria of a pairwise queue (margin,
reason) get no suggestion: rules that rate one run say nothing about how much better the other is.

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
from reviewdesk.prescore.features import prepared
from schemas.queue import QueueConfig
from schemas.rubric import PREFERENCE, Criterion
from schemas.scoring import HeuristicValues

SCORABLE = ("categorical", "ordinal", "boolean")  # criteria with a fixed set of answers
HEURISTIC_VERSION = "heuristic-1"  # bump when a rule or confidence below changes
PAIRWISE_VERSION = f"pairwise-{HEURISTIC_VERSION}"  # bump the prefix when PairwiseHeuristic's combination changes
NOT_SEPARATED = "the rules do not separate the two runs (the same rule, or none, fires on both)"
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


class PairwiseFallbackWarning(ModelFallbackWarning):
    """The scorer asked for cannot judge pairs (the HTTP judge); the pairwise heuristic serves instead."""


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


def bad_probability(runs: pd.DataFrame) -> np.ndarray:
    """Per run, how likely the heuristic holds it bad: the confidence of the first "bad" rule that fires,
    1 minus that of a "good" rule (thumbs-up), and 0.5 (no idea either way) when none fires."""
    by_rule = np.array([c if verdict == "bad" else 1 - c for _, verdict, c in RULES] + [0.5])
    return by_rule[_signals(runs)]  # -1 (no rule) picks the last entry


@dataclass
class PairwiseHeuristic:
    """The heuristic's rules on both runs of a pair: a suggested `preference`, with no labels needed.

    Each run gets the probability p that it is bad (`bad_probability`: e.g. 0.9 for an error status,
    0.5 when no rule fires). Taking the two as independent, run b is the better one when a is bad and
    b is not, and the other way round; the suggestion is the run more likely better, with confidence

        P(b better | exactly one of them is bad) = p_a (1 - p_b) / (p_a (1 - p_b) + p_b (1 - p_a)),

    so an error status against a run no rule fires on prefers the latter at 0.9, a refusal at 0.75,
    a thumbs-down at 0.6, and a thumbs-up against nothing prefers the thumbs-up at 0.55: the rule's
    own confidence. Two different failures (an error against a thumbs-down) still prefer the milder.

    When the same rule fires on both runs, or none on either, the rules cannot separate them and the
    pair gets **no suggestion** (`no_suggestion` says so), not "tie": equal signals are not evidence
    that the answers are equally good (two unrated answers usually differ in ways rules cannot see),
    and the rubric asks for Tie only when a reviewer truly cannot prefer one. With no suggestion such
    pairs count as the most uncertain under `priority: uncertainty`, so they come first.
    """

    name: str = "heuristic"
    warnings: list[str] = field(default_factory=list)
    no_suggestion: str = NOT_SEPARATED

    def score_pairs(self, a: pd.DataFrame, b: pd.DataFrame) -> list[dict[str, Suggestion]]:
        if len(a) != len(b):
            raise ValueError(f"score_pairs needs as many runs on each side: {len(a)} against {len(b)}")
        pa, pb = bad_probability(a), bad_probability(b)
        a_better, b_better = pb * (1 - pa), pa * (1 - pb)
        out: list[dict[str, Suggestion]] = []
        for run_a, run_b, x, y in zip(a["run_id"], b["run_id"], a_better, b_better, strict=True):
            if np.isclose(x, y):
                out.append({})
                continue
            value, confidence = (run_a, x / (x + y)) if x > y else (run_b, y / (x + y))
            out.append({PREFERENCE: Suggestion(value, round(float(confidence), 4), PAIRWISE_VERSION)})
        return out

    def versions(self) -> dict[str, str]:
        return {PREFERENCE: PAIRWISE_VERSION}


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
    """Trained models for some criteria, the heuristic for the rest (see `reviewdesk.prescore.trained.serving`)."""

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


def get_scorer(name: str | None, queue: QueueConfig, wh: Any, models_dir: Path) -> Scorer | PairScorer | None:
    """The scorer `name` (default: the queue's `prescore.scorer`) for `queue`; None for `none`.

    A pairwise queue gets the `PairwiseHeuristic` whatever the name (see the module docstring).
    """
    name = name or queue.prescore.scorer
    if name == "none":
        return None
    if queue.kind == "pairwise" and name in ("heuristic", "sklearn", "http_judge"):
        if name == "http_judge":
            _judge_config(queue)
            note = (f"The HTTP judge has no pairwise prompt: queue {queue.name!r}'s pairs are pre-scored by the "
                    "heuristic rules instead.")  # fmt: skip
            warnings.warn(note, PairwiseFallbackWarning, stacklevel=2)
            return PairwiseHeuristic(warnings=[note])
        return PairwiseHeuristic()  # sklearn too: models are trained for single queues only
    heuristic = HeuristicScorer.for_queue(queue)
    if name == "heuristic":
        return heuristic
    if name == "sklearn":
        from reviewdesk.prescore.trained import serving  # the registry imports scikit-learn's heavier parts

        loaded, notes = serving(wh, queue, models_dir)
        for note in notes:
            warnings.warn(note, ModelFallbackWarning, stacklevel=2)
        return SklearnScorer(loaded, heuristic, warnings=list(notes))
    if name == "http_judge":
        from reviewdesk.prescore.judge import HttpJudge

        return HttpJudge(_judge_config(queue), queue.rubric.instructions, scorable(queue), heuristic)
    raise ConfigError(f"Unknown scorer {name!r}: use sklearn, heuristic, http_judge or none.")


def _judge_config(queue: QueueConfig) -> Any:
    """The queue's judge endpoint; a ConfigError with the fix when it has none."""
    if queue.prescore.judge is None:
        raise ConfigError(
            f"Queue {queue.name!r} has no judge endpoint: add `prescore: {{judge: {{url: ..., model: ...}}}}` "
            f"to its YAML, or pick another scorer (--scorer sklearn or heuristic)."
        )
    return queue.prescore.judge


def suggestions_json(row: Mapping[str, Suggestion]) -> dict[str, dict] | None:
    """A run's suggestions as the review store keeps them, or None when there are none."""
    return {k: s.as_dict() for k, s in row.items()} or None


__all__ = [
    "HEURISTIC_VERSION",
    "NOT_SEPARATED",
    "PAIRWISE_VERSION",
    "SCORABLE",
    "HeuristicScorer",
    "LoadedModel",
    "ModelFallbackWarning",
    "PairScorer",
    "PairwiseFallbackWarning",
    "PairwiseHeuristic",
    "Scorer",
    "SklearnScorer",
    "Suggestion",
    "bad_probability",
    "get_scorer",
    "heuristic_values",
    "options",
    "scorable",
    "suggestions_json",
]
