"""What the bias controls read: one row per label of a queue, with when it was given, how long the
reviewer spent on the item, and what it can be checked against.

- `seconds`: the submission's time on the item (submitted_at - shown_at); NaN where none was recorded.
- `gold`: the item's known answer for the criterion (gold items), as text.
- `others`: the strict majority of the *other* reviewers of the item (more than half of them gave it),
  as text; leaving the reviewer's own answer out keeps a biased reviewer from agreeing with themself.
- `reference`: gold where known, else `others`. `correct` (against gold) and `agree` (against
  `others`) are 1.0 or 0.0, NaN where there is nothing to check against.
- `answer`: the answer as the reviewer saw it: a pairwise preference as the side it was shown on
  (left, right or tie), so always picking the left answer is a run of identical answers.
- `score`: an ordinal answer's position on its scale, from 0 (first option) to 1 (last); NaN otherwise.
- `len_a`, `len_b`: the length of each pairwise answer (its outputs as JSON text).
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pandas as pd

from reviewdesk.stores.values import as_text
from reviewdesk.stores.warehouse import Warehouse
from schemas.rubric import PREFERENCE, TIE, Criterion

SCORED = ("categorical", "ordinal", "boolean")


def _read(wh: Warehouse, queue: str) -> pd.DataFrame:
    return wh.con.execute(
        """SELECT l.item_id, l.reviewer, l.criterion, l.value, l.submission_id, l.submitted_at,
                  epoch(l.submitted_at) - epoch(s.shown_at) AS seconds, i.is_gold,
                  i.gold_answer::VARCHAR AS gold_answer,
                  i.left_run_id, i.run_a, i.run_b, length(ra.outputs::VARCHAR) AS len_a,
                  length(rb.outputs::VARCHAR) AS len_b
           FROM labels l JOIN items i USING (item_id) JOIN submissions s ON s.submission_id = l.submission_id
           LEFT JOIN runs ra ON ra.run_id = i.run_a LEFT JOIN runs rb ON rb.run_id = i.run_b
           WHERE l.queue = ? AND l.value IS NOT NULL AND l.step_run_id = ''  -- bias measures read whole-item answers
           ORDER BY l.reviewer, l.submitted_at, l.submission_id, l.criterion""",
        [queue],
    ).df()


def others_majority(items: pd.Series, criteria: pd.Series, values: pd.Series) -> list[str | None]:
    """Per row: the value more than half of the other rows of its item and criterion hold, or None."""
    groups: dict[tuple, Counter] = {}
    for key, value in zip(zip(items, criteria, strict=True), values, strict=True):
        groups.setdefault(key, Counter())[value] += 1
    out: list[str | None] = []
    for key, value in zip(zip(items, criteria, strict=True), values, strict=True):
        counts = groups[key]
        others = sum(counts.values()) - 1
        best = None
        for candidate, n in counts.items():
            if (n - (candidate == value)) * 2 > others > 0:
                best = candidate
        out.append(best)
    return out


def _gold(answers: pd.Series, criteria: pd.Series) -> list[str | None]:
    parsed: dict[str, dict] = {}
    out = []
    for answer, key in zip(answers, criteria, strict=True):
        if not isinstance(answer, str):
            out.append(None)
            continue
        known = parsed.setdefault(answer, json.loads(answer) or {})
        out.append(as_text(known[key]) if known.get(key) is not None else None)
    return out


def _check(values: pd.Series, against: pd.Series) -> np.ndarray:
    known = against.notna().to_numpy()
    return np.where(known, (values.to_numpy(object) == against.to_numpy(object)).astype(float), np.nan)


def bias_rows(wh: Warehouse, queue: str, criteria: list[Criterion]) -> pd.DataFrame:
    """The queue's labels on scored criteria, as the bias controls read them (see the module docstring)."""
    by_key = {c.key: c for c in criteria if c.type in SCORED}
    rows = _read(wh, queue)
    rows = rows[rows["criterion"].isin(list(by_key))].reset_index(drop=True)
    rows["gold"] = pd.Series(_gold(rows["gold_answer"], rows["criterion"]), dtype=object)
    rows["others"] = pd.Series(others_majority(rows["item_id"], rows["criterion"], rows["value"]), dtype=object)
    rows["reference"] = rows["gold"].where(rows["gold"].notna(), rows["others"])
    rows["correct"], rows["agree"] = _check(rows["value"], rows["gold"]), _check(rows["value"], rows["others"])
    preference = (rows["criterion"] == PREFERENCE).to_numpy()
    side = np.where(rows["value"] == TIE, TIE, np.where(rows["value"] == rows["left_run_id"], "left", "right"))
    rows["answer"] = np.where(preference, side, rows["value"].to_numpy(object))
    positions = {(k, as_text(o)): i / max(len(c.options or []) - 1, 1)
                 for k, c in by_key.items() if c.type == "ordinal" for i, o in enumerate(c.options or [])}  # fmt: skip
    rows["score"] = [positions.get(kv, np.nan) for kv in zip(rows["criterion"], rows["value"], strict=True)]
    rows["submitted_at"] = pd.to_datetime(rows["submitted_at"], utc=True)
    return rows.drop(columns=["gold_answer"])


__all__ = ["SCORED", "bias_rows", "others_majority"]
