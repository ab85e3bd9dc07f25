"""The quality report's bias controls: verbosity, fatigue, rubber-stamping, straight-lining and drift,
each an estimate with a 95% interval per reviewer and over the queue, flagged when the interval excludes
"no bias". What each figure means: the modules `bias_verbosity`, `bias_fatigue`, `bias_speed`,
`bias_runs` and `bias_drift`; how to read them: the README, "Making feedback trustworthy".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reviewdesk.quality.bias_drift import drift
from reviewdesk.quality.bias_fatigue import fatigue
from reviewdesk.quality.bias_frame import bias_rows
from reviewdesk.quality.bias_runs import straight_lining
from reviewdesk.quality.bias_speed import copying, fast_answers, median_seconds
from reviewdesk.quality.bias_verbosity import verbosity
from reviewdesk.quality.suggestion_quality import suggestion_labels
from reviewdesk.stores.warehouse import Warehouse
from schemas.rubric import Criterion


def bias_controls(
    wh: Warehouse, queue: str, criteria: list[Criterion], row: Mapping[str, Any], resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """The bias section of a queue's report (`row`: the queue as the review store holds it), JSON-ready.

    `figures` maps each measure to {"queue": figure, "reviewers": {name: figure}} or None where it does not
    apply; a figure is {"estimate", "ci", "n", "flagged"} plus a `note` when it cannot be estimated."""
    rows = bias_rows(wh, queue, criteria)
    tired, moving = fatigue(rows), drift(rows)
    min_seconds = (row.get("config") or {}).get("min_seconds")
    return {
        "figures": {
            "verbosity": verbosity(rows, resamples, seed),
            "fatigue_accuracy": tired["accuracy"],
            "fatigue_agreement": tired["agreement"],
            "fast_answers": fast_answers(rows, min_seconds),
            "suggestion_copying": copying(suggestion_labels(wh, queue, criteria), row["suggestions"], resamples, seed),
            "straight_lining": straight_lining(rows),
            "drift_accuracy": moving["accuracy"],
            "drift_score": moving["score"],
        },
        "min_seconds": min_seconds,
        "median_seconds": median_seconds(rows),
        "fatigue_curve": tired["curve"],
        "weekly": moving["weekly"],
    }


__all__ = ["bias_controls"]
