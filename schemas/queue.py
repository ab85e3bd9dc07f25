"""Queue configuration: what the YAML files in queues/ may say, checked field by field.

Every error names its field (pydantic's location) and says what to write instead. SQL fragments
are marked `SqlExpression` here and checked against the `runs` columns by `reviewdesk.queues`
when a file is loaded, so a bad queue fails at load time, not mid-flow, and declaring a queue
needs no database engine.
"""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Annotated, Literal, Self

from cronsim import CronSim, CronSimError
from pydantic import Field, field_validator, model_validator

from schemas.base import SqlExpression, Strict, require_unique
from schemas.promotion import Promotion
from schemas.rubric import Criterion, Rubric
from schemas.scoring import Prescore

NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"
# The run fields a queue may show reviewers (`reviewer_sees`), in the order an item's payload carries them.
RUN_FIELDS = (
    "run_id", "trace_id", "session_id", "project", "name", "run_type", "model", "start_time", "latency_ms",
    "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd", "status", "error",
    "inputs", "outputs", "tags", "metadata", "user_feedback",
)  # fmt: skip
# Blind by default: the conversation, the answer and neutral fields; never names, models, providers or costs.
REVIEWER_SEES = ("inputs", "outputs", "status", "error", "prompt_tokens", "completion_tokens", "total_tokens")
METADATA_KEY = "metadata."  # `metadata.KEY` in `reviewer_sees` shows that one metadata key


class Weight(Strict):
    """Oversample runs matching `when` by `weight` (weights of several matches multiply)."""

    when: Annotated[str, SqlExpression("BOOLEAN")]
    weight: float = Field(gt=0)


class Sampling(Strict):
    """Which runs a batch is drawn from, and how."""

    filter: Annotated[str, SqlExpression("BOOLEAN")] = "TRUE"
    strategy: Literal["random", "stratified", "weighted"] = "random"
    stratify_by: Annotated[list[str], SqlExpression()] = []
    allocation: Literal["proportional", "equal"] = "proportional"
    weights: list[Weight] = []
    size: int = Field(gt=0, le=1_000_000)
    exclude_reviewed: bool = True
    seed: int | None = None

    @model_validator(mode="after")
    def _strategy_has_its_parameters(self) -> Self:
        if self.strategy == "stratified" and not self.stratify_by:
            raise ValueError("strategy stratified needs `stratify_by`, e.g. [model]")
        if self.strategy == "weighted" and not self.weights:
            raise ValueError("strategy weighted needs `weights`, e.g. [{when: \"status = 'error'\", weight: 3}]")
        return self


class Pairing(Strict):
    """Pairwise queues: runs with the same `key` that differ in `compare` make a pair."""

    key: Annotated[str, SqlExpression()] = "md5(inputs::VARCHAR)"
    compare: Annotated[str, SqlExpression()] = "model"


class ConsensusPolicy(Strict):
    """When reviewers' answers settle an item on their own, and when a lead decides (README, "Consensus policy").

    `no_majority` (the default): a strict majority is trusted; a lead decides only when there is none and,
    for ordinal and numeric criteria, the answers spread beyond the tolerance. `any_disagreement`: any
    mismatch beyond the tolerance goes to a lead. `tolerance` sets, per ordinal or numeric criterion, how
    far answers may spread (option steps, or value units) and still resolve to their median; it overrides
    the rubric's own `tolerance` without changing the rubric version.
    """

    adjudicate: Literal["no_majority", "any_disagreement"] = "no_majority"
    tolerance: dict[str, Annotated[float, Field(ge=0)]] = {}

    def check(self, criteria: dict[str, Criterion]) -> None:
        """Each tolerance names an ordinal or numeric criterion of the rubric."""
        graded = [k for k, c in criteria.items() if c.type in ("ordinal", "numeric")]
        for key in self.tolerance:
            if key not in graded:
                raise ValueError(
                    f"consensus.tolerance names {key!r}: tolerances apply to ordinal and numeric criteria "
                    f"({', '.join(graded) or 'this rubric has none'})"
                )

    def spread_allowed(self, c: Criterion) -> float:
        """How far the answers to `c` may spread before they need a lead: this policy's tolerance, else the rubric's."""
        return self.tolerance.get(c.key, c.spread_allowed)


class Training(Strict):
    """Qualification before live items: a new reviewer first answers `items` of the queue's gold items
    (README, "Making feedback trustworthy"). Training answers are graded and never become labels."""

    items: int = Field(ge=1, le=200, description="gold items a new reviewer answers first")
    pass_accuracy: float = Field(gt=0, le=1, description="share of graded answers right, to qualify")
    # immediate: after each answer, the right answer and the gold item's `explanation`; none: only the result
    feedback: Literal["immediate", "none"] = "immediate"
    retry_after_hours: float = Field(default=24, ge=0, le=24 * 365, description="a failed reviewer waits this long")


class Monitoring(Strict):
    """Qualified reviewers' accuracy on live gold items: under `min_accuracy` over the last `window`
    gold items answered since they qualified, they are paused, sent back to training, and leads told."""

    window: int = Field(ge=1, le=1000, description="last N gold items answered")
    min_accuracy: float = Field(gt=0, le=1, description="below it: back to training")


class QueueConfig(Strict):
    """A review queue, as written in queues/<name>.yaml."""

    name: Annotated[str, Field(pattern=NAME, description="lowercase letters, digits, - and _")]
    kind: Literal["single", "pairwise"] = "single"
    # What one item is: a run; a trace (a root run and all its descendants); or a session (every run of one
    # `session_id`, in time order). Sampling draws units; README "Traces and sessions".
    unit: Literal["run", "trace", "session"] = "run"
    # A trace or session is published once complete: its newest run is at least this many minutes old.
    settle_minutes: float = Field(default=30, ge=0, le=7 * 24 * 60)
    description: str = ""
    rubric: Rubric
    sampling: Sampling
    pairing: Pairing | None = None
    reviewers_per_item: int = Field(default=1, ge=1, le=20)
    overlap_fraction: float = Field(default=0.0, ge=0, le=1)
    gold_fraction: float = Field(default=0.0, ge=0, lt=1)
    gold_source: Annotated[str | None, SqlExpression()] = Field(
        default=None, description="SQL over runs giving a JSON object of known answers per criterion, or NULL"
    )
    # What reviewers see of each run: run fields, and metadata keys as `metadata.KEY` (all of them: `metadata`).
    # Whatever `gold_source` reads is held back even if listed (reviewdesk.review.blinding).
    reviewer_sees: list[str] = Field(default=list(REVIEWER_SEES))
    reservation_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # Rubber-stamping: a submission made in less time on the item than this counts as too fast to have read it.
    min_seconds: float | None = Field(default=None, gt=0, le=3600, description="seconds on an item, at least")
    suggestions: Literal["show", "hide", "after_answer", "randomized"] = "hide"
    # A reviewer may flag a broken item and leave the ratings empty; the flag-only submission gives no
    # labels and goes to the lead's Flagged items. False: every required criterion must be answered.
    flag_instead_of_rating: bool = True
    # Review order (never which runs are sampled): lowest model confidence first, a seeded shuffle, or
    # first published first. See reviewdesk.prescore.priority.
    priority: Literal["uncertainty", "random", "oldest"] = "oldest"
    prescore: Prescore = Prescore()  # which scorer suggests answers (schemas/scoring.py)
    assignees: list[str] = []  # granted the queue when it is first published; after that, grants are set in the app
    schedule: str | None = None
    # Backlog control: the review cycle publishes only what fits (reviewdesk.review.backlog).
    max_open_items: int | None = Field(default=None, ge=1, description="items still needing reviews, at most")
    max_backlog_hours: float | None = Field(
        default=None, gt=0, description="open reviews, at most this many hours of work at the measured review rate"
    )
    promotion: Promotion | None = None  # datasets fed by this queue (schemas/promotion.py)
    consensus: ConsensusPolicy = ConsensusPolicy()  # when answers resolve alone, when a lead decides
    training: Training | None = None  # qualification on gold items before live items (reviewdesk.review.training)
    monitoring: Monitoring | None = None  # live gold accuracy; needs `training` (reviewdesk.review.monitoring)

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                CronSim(v, datetime(2026, 1, 1))
            except CronSimError as e:
                raise ValueError(f"{v!r} is not a cron expression ({e}); e.g. '0 * * * *' is hourly") from None
        return v

    @field_validator("reviewer_sees")
    @classmethod
    def _run_fields(cls, v: list[str]) -> list[str]:
        for name in v:
            if name not in RUN_FIELDS and not (name.startswith(METADATA_KEY) and len(name) > len(METADATA_KEY)):
                close = difflib.get_close_matches(name, RUN_FIELDS, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ValueError(
                    f"{name!r} is not a run field: {hint}list run fields ({', '.join(RUN_FIELDS)}) or metadata "
                    f"keys as metadata.KEY"
                )
        require_unique(v, "list each field once")
        return v

    @model_validator(mode="after")
    def _kind_fits(self) -> Self:
        if self.kind == "pairwise" and self.pairing is None:
            object.__setattr__(self, "pairing", Pairing())
        if self.kind == "single" and self.pairing is not None:
            raise ValueError("`pairing` is for kind: pairwise; remove it or set kind: pairwise")
        if self.kind == "pairwise" and self.unit != "run":
            raise ValueError("pairwise queues compare runs: remove `unit`, or set kind: single")
        if self.unit == "run" and (stepped := [c.key for c in self.rubric.criteria if c.per_step]):
            raise ValueError(f"criteria {stepped} ask `per_step`, which needs unit: trace or session")
        if self.gold_fraction > 0 and self.gold_source is None:
            raise ValueError("gold_fraction > 0 needs `gold_source`: SQL giving each run's known answers")
        if self.training is not None and (self.gold_source is None or self.gold_fraction <= 0):
            raise ValueError(
                "`training` draws its items from the queue's gold items: set `gold_source` and `gold_fraction` > 0, "
                "or remove `training`"
            )
        if self.monitoring is not None and self.training is None:
            raise ValueError("`monitoring` sends a reviewer back to training: add a `training` block, or remove it")
        if self.promotion is not None:
            self.promotion.check(self.kind, {c.key: c for c in self.rubric.criteria})
        self.prescore.check({c.key: c for c in self.rubric.criteria})
        self.consensus.check({c.key: c for c in self.rubric.criteria})
        return self

    @property
    def rubric_version(self) -> str:
        return self.rubric.version
