"""Reviewer calibration: who to calibrate, on what evidence, and the items to go through with them.

A reviewer is listed for a criterion when there is enough evidence (`CALIBRATION`) and their kappa
with the others or their gold accuracy is low. The evidence a lead goes through with them is read from
the review store (the app computes it): the items where another reviewer answered differently, and
the gold items they missed, each with every answer given.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reviewdesk.quality.store_answers import current_answers, queue_criteria
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.values import as_text
from schemas.rubric import PREFERENCE, TIE

# Who is listed for calibration: enough evidence, and below these.
CALIBRATION = {"min_items": 10, "min_kappa": 0.4, "min_gold": 5, "min_gold_accuracy": 0.7}


def to_calibrate(criteria: Mapping[str, dict]) -> list[dict]:
    """Reviewers whose agreement with the others or whose gold accuracy is low, per criterion, with why."""
    out = []
    for key, summary in criteria.items():
        for r in summary.get("raters", []):
            reasons = []
            kappa = r["mean_kappa"]
            if r["n_items"] >= CALIBRATION["min_items"] and kappa is not None and kappa < CALIBRATION["min_kappa"]:
                reasons.append(f"kappa with the others {kappa:.2f} < {CALIBRATION['min_kappa']}")
            accuracy = r["gold_accuracy"]
            if r["gold_ratings"] >= CALIBRATION["min_gold"] and accuracy < CALIBRATION["min_gold_accuracy"]:
                reasons.append(f"gold accuracy {accuracy:.0%} < {CALIBRATION['min_gold_accuracy']:.0%}")
            if reasons:
                out.append({"reviewer": r["rater"], "criterion": key, "reasons": reasons})
    return out


def _shown(key: str, value: str, left: str | None) -> str:
    """An answer as the reviewer saw it: a preference names the side, not the run id."""
    if key != PREFERENCE:
        return value
    return "tie" if value == TIE else "left answer" if value == left else "right answer"


def reviewer_evidence(store: ReviewStore, queue: str, reviewer: str, criterion: str | None = None) -> dict[str, list]:
    """The reviewer's disagreements (items where another reviewer answered otherwise) and gold misses,
    newest first, each with every answer given (optionally one criterion only)."""
    _, criteria = queue_criteria(store, queue)
    keys = {c.key for c in criteria if criterion in (None, c.key)}
    rows = current_answers(store, queue, keys)
    disagreements, misses = [], []
    for (item, key), group in rows.groupby(["item", "criterion"], sort=False):
        mine = group[group["rater"] == reviewer]
        if mine.empty:
            continue
        first = mine.iloc[0]
        answer = _shown(key, first["value"], first["left_run_id"])
        at = first["submitted_at"].isoformat()
        others = {r: _shown(key, v, first["left_run_id"]) for r, v in zip(group["rater"], group["value"], strict=True)
                  if r != reviewer}  # fmt: skip
        if any(v != answer for v in others.values()):
            disagreements.append({"item_id": item, "criterion": key, "answer": answer, "others": others, "at": at})
        gold = json.loads(first["gold_answer"]) if isinstance(first["gold_answer"], str) else {}
        if key in gold and as_text(gold[key]) != first["value"]:
            known = _shown(key, as_text(gold[key]), first["left_run_id"])
            misses.append({"item_id": item, "criterion": key, "answer": answer, "gold": known, "others": others,
                           "at": at})  # fmt: skip

    def newest(found: list[dict]) -> list[dict]:
        return sorted(found, key=lambda d: (d["at"], d["item_id"], d["criterion"]), reverse=True)

    return {"disagreements": newest(disagreements), "gold_misses": newest(misses)}


def evidence_counts(evidence: Mapping[str, Any]) -> str:
    """E.g. "12 disagreements, 3 gold misses"."""
    d, g = len(evidence["disagreements"]), len(evidence["gold_misses"])
    return f"{d:,} disagreement{'s' * (d != 1)}, {g:,} gold miss{'es' * (g != 1)}"


__all__ = ["CALIBRATION", "evidence_counts", "reviewer_evidence", "to_calibrate"]
