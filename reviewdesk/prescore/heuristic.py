"""The `heuristic` scorers: rules that need no labels, for a cold start, one run at a time or a pair at a time.

- `HeuristicScorer`: an error status, an empty output, a refusal phrase or a thumbs-down suggests the
  criterion's "bad" value, a thumbs-up its "good" value, each with a fixed confidence (`RULES`). A run
  no rule fires on gets no suggestion. It also serves every criterion a trained model or the HTTP judge
  cannot (see `reviewdesk.prescore.factory`).
- `PairwiseHeuristic`: pairwise queues are scored a pair at a time, for the `preference` criterion only
  (the run id preferred): the single-run rules rate each run of the pair, and the run they hold clearly
  less likely bad is preferred (see its docstring). The rubric's own criteria of a pairwise queue
  (margin, reason) get no suggestion: rules that rate one run say nothing about how much better the
  other is.

Each suggestion carries its reason (`REASONS`): the rule that fired, and for a pair what fired on each run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reviewdesk.prescore.contracts import Suggestion, scorable
from reviewdesk.prescore.features import prepared
from schemas.queue import QueueConfig
from schemas.rubric import PREFERENCE, Criterion
from schemas.scoring import HeuristicValues

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
# What each rule tells a reviewer, as the suggestion's reason (index -1: no rule fires).
REASONS = (
    "the call ended with an error",
    "the answer is empty",
    "the answer reads as a refusal",
    "the user gave it a thumbs-down",
    "the user gave it a thumbs-up",
    "no rule fires",
)


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
                        row[key] = Suggestion(value, confidence, HEURISTIC_VERSION, REASONS[rule].capitalize())
            out.append(row)
        return out

    def versions(self) -> dict[str, str]:
        return dict.fromkeys(self.values, HEURISTIC_VERSION)


def bad_probability(runs: pd.DataFrame, signals: np.ndarray | None = None) -> np.ndarray:
    """Per run, how likely the heuristic holds it bad: the confidence of the first "bad" rule that fires,
    1 minus that of a "good" rule (thumbs-up), and 0.5 (no idea either way) when none fires.
    `signals`: the runs' `_signals`, if already read."""
    by_rule = np.array([c if verdict == "bad" else 1 - c for _, verdict, c in RULES] + [0.5])
    return by_rule[_signals(runs) if signals is None else signals]  # -1 (no rule) picks the last entry


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
        ra, rb = _signals(a), _signals(b)
        pa, pb = bad_probability(a, ra), bad_probability(b, rb)
        a_better, b_better = pb * (1 - pa), pa * (1 - pb)
        out: list[dict[str, Suggestion]] = []
        for run_a, run_b, x, y, why_a, why_b in zip(a["run_id"], b["run_id"], a_better, b_better, ra, rb, strict=True):
            if np.isclose(x, y):
                out.append({})
                continue
            value, confidence = (run_a, x / (x + y)) if x > y else (run_b, y / (x + y))
            chosen, other = (why_a, why_b) if x > y else (why_b, why_a)
            reason = f"The other answer: {REASONS[other]}; this one: {REASONS[chosen]}"
            out.append({PREFERENCE: Suggestion(value, round(float(confidence), 4), PAIRWISE_VERSION, reason)})
        return out

    def versions(self) -> dict[str, str]:
        return {PREFERENCE: PAIRWISE_VERSION}


__all__ = [
    "HEURISTIC_VERSION",
    "NOT_SEPARATED",
    "PAIRWISE_VERSION",
    "REASONS",
    "RULES",
    "HeuristicScorer",
    "PairwiseHeuristic",
    "bad_probability",
    "heuristic_values",
]
