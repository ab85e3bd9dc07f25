"""Which scorer pre-scores a queue: `get_scorer` builds the one the queue's `prescore.scorer` (or the CLI's
--scorer) names. It sits above the scorers, which know only `reviewdesk.prescore.contracts`.

- `heuristic`: rules that need no labels (`reviewdesk.prescore.heuristic.HeuristicScorer`).
- `sklearn`: per categorical, ordinal or boolean criterion, the queue's latest trained model (see
  `reviewdesk.prescore.trained`) where it beat the majority-class baseline in cross-validation; the heuristic
  serves every other criterion, and any model whose file is missing or corrupt (with a warning).
- `http_judge`: an OpenAI-compatible chat endpoint (see `reviewdesk.prescore.judge`), falling back to the
  heuristic for a run it cannot answer.
- `none`: no scorer, no suggestions.

A pairwise queue gets `PairwiseHeuristic` whatever the name: no trained model serves pairs (models are
trained for single queues only) and the HTTP judge has no pairwise prompt; `http_judge` says so with a
warning. The trained models and the judge are imported only when asked for (scikit-learn, joblib).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from reviewdesk.errors import ConfigError
from reviewdesk.prescore.contracts import (
    ModelFallbackWarning,
    PairScorer,
    PairwiseFallbackWarning,
    Scorer,
    scorable,
)
from reviewdesk.prescore.heuristic import HeuristicScorer, PairwiseHeuristic
from schemas.queue import QueueConfig
from schemas.scoring import Judge


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
        from reviewdesk.prescore.trained import SklearnScorer, serving  # loading models imports scikit-learn

        loaded, notes = serving(wh, queue, models_dir)
        for note in notes:
            warnings.warn(note, ModelFallbackWarning, stacklevel=2)
        return SklearnScorer(loaded, heuristic, warnings=list(notes))
    if name == "http_judge":
        from reviewdesk.prescore.judge import HttpJudge

        return HttpJudge(_judge_config(queue), queue.rubric.instructions, scorable(queue), heuristic)
    raise ConfigError(f"Unknown scorer {name!r}: use sklearn, heuristic, http_judge or none.")


def _judge_config(queue: QueueConfig) -> Judge:
    """The queue's judge endpoint; a ConfigError with the fix when it has none."""
    if queue.prescore.judge is None:
        raise ConfigError(
            f"Queue {queue.name!r} has no judge endpoint: add `prescore: {{judge: {{url: ..., model: ...}}}}` "
            f"to its YAML, or pick another scorer (--scorer sklearn or heuristic)."
        )
    return queue.prescore.judge


__all__ = ["get_scorer"]
