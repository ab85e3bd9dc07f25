"""What a submission's answers must satisfy, built from the rubric version it was made under.

One pandera schema per rubric version (and item kind): a column per criterion, checking that a
required answer is there, that a choice is one of the options, that a number is in range, and
that each value has its criterion's type. A pairwise submission must name one of the item's two
runs, or "tie". Every failure becomes a reason, so a rejected submission says all that is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import pandas as pd
import pandera.pandas as pa

from schemas.answer_values import value_rules
from schemas.rubric import PREFERENCE, TIE

META = ("run_a", "run_b")  # columns the pairwise check reads beside the answers


def _present(check):
    """An element-wise check that lets missing values through (nullability is checked on its own)."""
    return lambda v: v is None or (isinstance(v, float) and pd.isna(v)) or check(v)


def _criterion_checks(c: Mapping[str, Any]) -> list[pa.Check]:
    return [pa.Check(_present(check), element_wise=True, error=message) for message, check in value_rules(c)]


def _names_a_run(df: pd.DataFrame) -> pd.Series:
    p = df[PREFERENCE]
    return p.isna() | (p == df["run_a"]) | (p == df["run_b"]) | (p == TIE)


@lru_cache(maxsize=64)
def _schema(rubric_json: str, kind: str) -> pa.DataFrameSchema:
    rubric = json.loads(rubric_json)
    columns = {
        c["key"]: pa.Column(None, _criterion_checks(c), nullable=not c.get("required", True), required=True)
        for c in rubric["criteria"]
    }
    checks = []
    if kind == "pairwise":
        columns[PREFERENCE] = pa.Column(None, nullable=False, required=True)
        checks.append(pa.Check(_names_a_run, error="preference must name one of the item's two runs, or tie"))
    return pa.DataFrameSchema(columns, checks=checks, strict=False)


def answer_keys(rubric: Mapping[str, Any], kind: str) -> list[str]:
    """The answer keys a submission under this rubric may hold, in order."""
    return ([PREFERENCE] if kind == "pairwise" else []) + [c["key"] for c in rubric["criteria"]]


def answers_schema(rubric: Mapping[str, Any], kind: str) -> pa.DataFrameSchema:
    """The schema for a frame with one row per submission and one column per answer key (missing
    answers as None), plus `run_a`/`run_b` for pairwise items."""
    return _schema(json.dumps(rubric, sort_keys=True), kind)


__all__ = ["META", "answer_keys", "answers_schema"]
