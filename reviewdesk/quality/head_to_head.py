"""The A/B answer of a pairwise queue: which compared value (model, prompt version) wins, by how
much, and how surely, from every reviewer's preference.

Each preference names a run of the item (or a tie). The queue's `pairing.compare` expression (e.g.
`model`) gives each run's compared value, evaluated in the sandbox as sampling does; the item's
recorded `left_run_id` says which side each value was shown on. Statistics: `reviewdesk.agreement.ranking`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from reviewdesk.agreement.ranking import bradley_terry, pair_results
from reviewdesk.errors import ReviewdeskError
from reviewdesk.sample.evaluation import evaluate
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import Pairing
from schemas.rubric import PREFERENCE, TIE

RELATION = "__compared_values"


def _compared(wh: Warehouse, queue: str, compare: str) -> dict[str, str]:
    """run_id -> its compared value, for the runs of the queue's pairwise items."""
    on = evaluate(wh.con, RELATION, "TRUE", {"compared": f"CAST(({compare}) AS VARCHAR)"})
    try:
        rows = wh.execute(
            f"""SELECT runs.run_id, {RELATION}.compared FROM runs JOIN {RELATION} ON {on}
                WHERE runs.run_id IN (SELECT unnest([run_a, run_b]) FROM items WHERE queue = ?)""",
            [queue],
        )
    finally:
        wh.con.unregister(RELATION)
    return {run_id: value for run_id, value in rows if value is not None}


def comparisons(wh: Warehouse, queue: str, compare: str) -> pd.DataFrame:
    """One row per reviewer's preference: item, left and right compared values, outcome (left, right, tie)."""
    labels = wh.execute(
        """SELECT l.item_id, l.value, i.run_a, i.run_b, i.left_run_id FROM labels l JOIN items i USING (item_id)
           WHERE l.queue = ? AND l.criterion = ? AND i.left_run_id IS NOT NULL ORDER BY l.item_id, l.reviewer""",
        [queue, PREFERENCE],
    )
    values = _compared(wh, queue, compare) if labels else {}
    rows = []
    for item_id, chosen, run_a, run_b, left in labels:
        right = run_b if left == run_a else run_a
        if left not in values or right not in values or values[left] == values[right]:
            continue  # a run gone from the warehouse, or no contrast to measure
        outcome = "tie" if chosen == TIE else "left" if chosen == left else "right"
        rows.append((item_id, values[left], values[right], outcome))
    return pd.DataFrame(rows, columns=["item", "left", "right", "outcome"])


def pairwise_results(wh: Warehouse, queue: str, config: dict[str, Any], confidence: float = 0.95) -> dict[str, Any]:
    """Win rates per pair and a Bradley-Terry ranking (raw and position-corrected), JSON-ready."""
    compare = (config.get("pairing") or {}).get("compare") or Pairing().compare
    try:
        c = comparisons(wh, queue, compare)
    except ReviewdeskError as e:  # the compare expression fails on some run
        return {"compare": compare, "note": str(e)}
    base = {"compare": compare, "judgments": len(c), "items": int(c["item"].nunique())}
    if c.empty or len(set(c["left"]) | set(c["right"])) < 2:
        return base | {"note": "no preferences between two different compared values yet"}
    return base | {
        "pairs": [p.as_dict() for p in pair_results(c, confidence)],
        "ranking": bradley_terry(c, position=False, confidence=confidence).as_dict(),
        "ranking_position_corrected": _corrected(c, confidence),
        "confidence": confidence,
    }


def _corrected(c: pd.DataFrame, confidence: float) -> dict[str, Any]:
    try:
        return bradley_terry(c, position=True, confidence=confidence).as_dict()
    except np.linalg.LinAlgError:  # every value always on the same side: side and value cannot be told apart
        return {"note": "each value was always shown on the same side, so position bias cannot be separated"}


__all__ = ["comparisons", "pairwise_results"]
