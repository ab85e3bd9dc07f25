"""Queue and rubric configuration: what the YAML files in queues/ may say, checked field by field.

Every error names its field (pydantic's location) and says what to write instead. SQL fragments
are checked against the `runs` columns here, so a bad queue fails at load time, not mid-flow.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Literal, Self

from cronsim import CronSim, CronSimError
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reviewdesk.stores.sqlcheck import ExpressionError, check_expression
from schemas.promotion import Promotion
from schemas.scoring import Prescore

NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"
KEY = r"^[a-z][a-z0-9_]{0,62}$"
NEEDS_OPTIONS = ("categorical", "ordinal")


class Strict(BaseModel):
    """Unknown keys are errors: a typo must not silently fall back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _sql(expr: str, want: str | None = None) -> str:
    try:
        check_expression(expr, want)
    except ExpressionError as e:
        raise ValueError(f"{expr!r} {e}") from None
    return expr


class Criterion(Strict):
    """One question of the rubric."""

    key: Annotated[str, Field(pattern=KEY, description="snake_case identifier, unique in the rubric")]
    type: Literal["categorical", "ordinal", "numeric", "boolean", "text"]
    options: list[str | int | float] | None = None
    min: float | None = None
    max: float | None = None
    required: bool = True
    description: str = ""
    tolerance: Annotated[float | None, Field(ge=0)] = None  # see `spread_allowed`

    @property
    def spread_allowed(self) -> float:
        """How far reviewers' answers may spread before the item goes to adjudication: option
        steps for ordinal criteria (default 1), value units for numeric (default 0); none otherwise."""
        if self.tolerance is not None:
            return self.tolerance
        return 1.0 if self.type == "ordinal" else 0.0

    @model_validator(mode="after")
    def _options_fit_type(self) -> Self:
        if self.type in NEEDS_OPTIONS:
            if not self.options or len(self.options) < 2:
                raise ValueError(f"criterion {self.key!r} is {self.type}: list at least two `options`")
            if len(set(map(str, self.options))) != len(self.options):
                raise ValueError(f"criterion {self.key!r} has duplicate options: make each option unique")
        elif self.options is not None and self.type != "numeric":
            raise ValueError(f"criterion {self.key!r} is {self.type}: remove `options`, it takes none")
        if self.type == "numeric":
            if self.options is None and (self.min is None or self.max is None):
                raise ValueError(f"criterion {self.key!r} is numeric: give `min` and `max`, or `options`")
            if self.min is not None and self.max is not None and self.min >= self.max:
                raise ValueError(f"criterion {self.key!r}: `min` must be below `max`")
        elif self.min is not None or self.max is not None:
            raise ValueError(f"criterion {self.key!r} is {self.type}: `min`/`max` apply to numeric criteria only")
        if self.tolerance is not None and self.type not in ("ordinal", "numeric"):
            raise ValueError(f"criterion {self.key!r} is {self.type}: `tolerance` applies to ordinal and numeric only")
        return self


def _unset_additions(rubric: Rubric) -> dict:
    """Fields added after rubrics were first published hash only when set, so old versions keep their hash."""
    return {"criteria": {i: {"tolerance"} for i, c in enumerate(rubric.criteria) if c.tolerance is None}}


class Rubric(Strict):
    """Instructions plus criteria; its content hash is its version."""

    instructions: str = Field(min_length=1)
    criteria: list[Criterion] = Field(min_length=1)

    @field_validator("criteria")
    @classmethod
    def _unique_keys(cls, criteria: list[Criterion]) -> list[Criterion]:
        keys = [c.key for c in criteria]
        if dupes := sorted({k for k in keys if keys.count(k) > 1}):
            raise ValueError(f"criterion keys must be unique; repeated: {', '.join(dupes)}")
        return criteria

    @property
    def version(self) -> str:
        """Content hash: editing the rubric makes a new version, and old labels keep theirs."""
        canonical = json.dumps(self.model_dump(mode="json", exclude=_unset_additions(self)), sort_keys=True,
                               separators=(",", ":"))  # fmt: skip
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]


class Weight(Strict):
    """Oversample runs matching `when` by `weight` (weights of several matches multiply)."""

    when: str
    weight: float = Field(gt=0)

    _when = field_validator("when")(lambda v: _sql(v, "BOOLEAN"))


class Sampling(Strict):
    """Which runs a batch is drawn from, and how."""

    filter: str = "TRUE"
    strategy: Literal["random", "stratified", "weighted"] = "random"
    stratify_by: list[str] = []
    allocation: Literal["proportional", "equal"] = "proportional"
    weights: list[Weight] = []
    size: int = Field(gt=0, le=1_000_000)
    exclude_reviewed: bool = True
    seed: int | None = None

    _filter = field_validator("filter")(lambda v: _sql(v, "BOOLEAN"))

    @field_validator("stratify_by")
    @classmethod
    def _strata(cls, exprs: list[str]) -> list[str]:
        return [_sql(e) for e in exprs]

    @model_validator(mode="after")
    def _strategy_has_its_parameters(self) -> Self:
        if self.strategy == "stratified" and not self.stratify_by:
            raise ValueError("strategy stratified needs `stratify_by`, e.g. [model]")
        if self.strategy == "weighted" and not self.weights:
            raise ValueError("strategy weighted needs `weights`, e.g. [{when: \"status = 'error'\", weight: 3}]")
        return self


class Pairing(Strict):
    """Pairwise queues: runs with the same `key` that differ in `compare` make a pair."""

    key: str = "md5(inputs::VARCHAR)"
    compare: str = "model"

    _exprs = field_validator("key", "compare")(lambda v: _sql(v))


class QueueConfig(Strict):
    """A review queue, as written in queues/<name>.yaml."""

    name: Annotated[str, Field(pattern=NAME, description="lowercase letters, digits, - and _")]
    kind: Literal["single", "pairwise"] = "single"
    description: str = ""
    rubric: Rubric
    sampling: Sampling
    pairing: Pairing | None = None
    reviewers_per_item: int = Field(default=1, ge=1, le=20)
    overlap_fraction: float = Field(default=0.0, ge=0, le=1)
    gold_fraction: float = Field(default=0.0, ge=0, lt=1)
    gold_source: str | None = Field(
        default=None, description="SQL over runs giving a JSON object of known answers per criterion, or NULL"
    )
    reservation_minutes: int = Field(default=30, ge=1, le=24 * 60)
    suggestions: Literal["show", "hide", "after_answer", "randomized"] = "hide"
    # Review order (never which runs are sampled): lowest model confidence first, a seeded shuffle, or
    # first published first. See reviewdesk.prescore.priority.
    priority: Literal["uncertainty", "random", "oldest"] = "oldest"
    prescore: Prescore = Prescore()  # which scorer suggests answers (schemas/scoring.py)
    assignees: list[str] = []
    schedule: str | None = None
    promotion: Promotion | None = None  # datasets fed by this queue (schemas/promotion.py)

    @field_validator("gold_source")
    @classmethod
    def _gold(cls, v: str | None) -> str | None:
        return None if v is None else _sql(v)

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                CronSim(v, datetime(2026, 1, 1))
            except CronSimError as e:
                raise ValueError(f"{v!r} is not a cron expression ({e}); e.g. '0 * * * *' is hourly") from None
        return v

    @model_validator(mode="after")
    def _kind_fits(self) -> Self:
        if self.kind == "pairwise" and self.pairing is None:
            object.__setattr__(self, "pairing", Pairing())
        if self.kind == "single" and self.pairing is not None:
            raise ValueError("`pairing` is for kind: pairwise; remove it or set kind: pairwise")
        if self.gold_fraction > 0 and self.gold_source is None:
            raise ValueError("gold_fraction > 0 needs `gold_source`: SQL giving each run's known answers")
        if self.promotion is not None:
            self.promotion.check(self.kind, {c.key: c for c in self.rubric.criteria})
        self.prescore.check({c.key: c for c in self.rubric.criteria})
        return self

    @property
    def rubric_version(self) -> str:
        return self.rubric.version
