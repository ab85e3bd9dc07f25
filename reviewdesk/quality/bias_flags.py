"""The bias figures of saved quality reports as rows to show, and the biases flagged per reviewer and
queue: what the Agreement page, the Markdown report and a lead's Reviewers page read. It imports
nothing heavy (the app reads saved snapshots), and renders no markup: callers escape names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Measure:
    """How to show a bias figure: its title, the factor and format for its value, and what to do if flagged."""

    title: str
    scale: float
    spec: str
    advice: str

    def show(self, value: float | None) -> str:
        """A value of this measure, formatted (a dash when there is none)."""
        return "-" if value is None else format(value * self.scale, self.spec)


MEASURES = {
    "verbosity": Measure("Verbosity: excess share preferring the longer answer", 1, "+.1%",
                         "say in the rubric that length is no merit, add a short right answer as an example, "
                         "and go through the reviewer's long-answer picks with them"),
    "fatigue_accuracy": Measure("Fatigue: gold accuracy change per 10 items into a session", 10, "+.1%",
                                "suggest shorter sessions with breaks, or cap items per sitting"),
    "fatigue_agreement": Measure("Fatigue: agreement change per 10 items into a session", 10, "+.1%",
                                 "suggest shorter sessions with breaks, or cap items per sitting"),
    "fast_answers": Measure("Rubber-stamping: share answered faster than min_seconds", 1, ".1%",
                            "look at their fast answers; retrain, or pause the reviewer"),
    "suggestion_copying": Measure("Rubber-stamping: share of shown suggestions copied", 1, ".1%",
                                  "hide suggestions until after the answer for this reviewer or queue, and retrain"),
    "straight_lining": Measure("Straight-lining: excess chance of repeating the previous answer", 1, "+.1%",
                               "look at their long runs of one answer; retrain, or pause the reviewer"),
    "drift_accuracy": Measure("Drift: gold accuracy change per week", 1, "+.1%",
                              "recalibrate on gold items and the rubric's examples"),
    "drift_score": Measure("Drift: mean ordinal score change per week (0 lowest option, 1 highest)", 1, "+.3f",
                           "recalibrate on gold items and the rubric's examples"),
}  # fmt: skip
EVERYONE = "all reviewers"


def bias_table(biases: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Every figure of a report's bias section as a row: measure, title, reviewer (EVERYONE for the queue),
    estimate and interval (raw and formatted), n, flagged and note; measures that do not apply are left out."""
    rows = []
    for key, measure in MEASURES.items():
        section = ((biases or {}).get("figures") or {}).get(key)
        if not section:
            continue
        for who, f in [(EVERYONE, section["queue"]), *section["reviewers"].items()]:
            ci = f.get("ci")
            rows.append({"measure": key, "title": measure.title, "reviewer": who, "estimate": f["estimate"],
                         "ci": ci, "n": f["n"], "flagged": f["flagged"], "note": f.get("note"),
                         "shown": measure.show(f["estimate"]),
                         "ci_shown": f"{measure.show(ci[0])} to {measure.show(ci[1])}" if ci else "-"})  # fmt: skip
    return rows


def biases_flagged(reports: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Per reviewer, per queue: the bias figures flagged in the queues' saved reports (`quality.latest`), each
    {"measure", "title", "estimate", "ci", "shown", "ci_shown", "advice"}; reviewers with none are left out."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for report in reports:
        for row in bias_table(report.get("biases")):
            if row["flagged"] and row["reviewer"] != EVERYONE:
                keep = {k: row[k] for k in ("measure", "title", "estimate", "ci", "shown", "ci_shown")}
                out.setdefault(row["reviewer"], {}).setdefault(report["queue"], []).append(
                    keep | {"advice": MEASURES[row["measure"]].advice}
                )
    return out


__all__ = ["EVERYONE", "MEASURES", "Measure", "bias_table", "biases_flagged"]
