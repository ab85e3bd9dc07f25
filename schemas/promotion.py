"""Promotion rules: which consensus outcomes of a queue become examples of which dataset.

Declared in a queue's YAML under `promotion:` and checked against its rubric when the file is
loaded (a rule naming a criterion or option the rubric lacks fails at once, with its field). The
rubric is hashed on its own, so adding or editing rules never changes the rubric version.
"""

from __future__ import annotations

import re
import string
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import ConfigDict, Field, field_validator, model_validator

from schemas.base import Strict, require_unique
from schemas.rubric import PREFERENCE, Criterion

# A dataset's name is its folder under data/datasets/: 1 to 63 lowercase letters, digits, '-' and '_', starting
# with a letter or digit. No dots or slashes, so a name can never reach outside that folder (or hide in it).
DATASET_NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"
DATASET_NAME_RULE = "1 to 63 lowercase letters, digits, '-' and '_', starting with a letter or digit"
KINDS = ("regression", "sft", "preference", "classification")
# The consensus methods promotion may trust, strongest first (reviewdesk.labels.consensus lists every
# method): a median is trusted because it is reached only within the criterion's tolerance.
Trusted = Literal["gold", "adjudicated", "unanimous", "majority", "median"]
TRUSTED: tuple[str, ...] = get_args(Trusted)
RUN_URL_FIELDS = {"run_id", "trace_id"}


class Condition(Strict):
    """One test on an item's consensus value: `equals`, `in`, or a `min`/`max` bound (ordinal: by option order)."""

    model_config = ConfigDict(populate_by_name=True)  # `in` is a Python keyword: the field is `in_`, aliased

    criterion: str
    equals: str | int | float | bool | None = None
    in_: Annotated[list[str | int | float | bool] | None, Field(alias="in")] = None
    min: str | int | float | None = None
    max: str | int | float | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Self:
        tests = [self.equals is not None, self.in_ is not None, self.min is not None or self.max is not None]
        if sum(tests) != 1:
            raise ValueError(
                f"condition on {self.criterion!r}: give exactly one of `equals`, `in`, or `min`/`max`, "
                "e.g. {criterion: helpfulness, min: 4}"
            )
        return self

    @property
    def values(self) -> list[Any] | None:
        """The accepted values of an `equals`/`in` test; None for a bound."""
        return [self.equals] if self.equals is not None else self.in_


class DatasetRule(Strict):
    """One dataset fed by the queue: its kind, and which items go in."""

    name: Annotated[str, Field(pattern=DATASET_NAME, description="the dataset's folder under data/datasets/")]
    kind: Literal["regression", "sft", "preference", "classification"]
    description: str = ""
    when: list[Condition] = Field(default=[], description="all must hold, each on a trusted consensus value")
    criteria: list[str] | None = Field(default=None, description="classification: the criteria labelled")
    methods: list[Trusted] = Field(
        default=list(TRUSTED), min_length=1, description="consensus methods trusted for promotion"
    )
    test_fraction: float = Field(default=0.1, ge=0, lt=1, description="share of inputs in the test split")

    @model_validator(mode="after")
    def _fits_kind(self) -> Self:
        if self.kind in ("regression", "sft") and not self.when:
            example = (
                "{criterion: correctness, equals: incorrect}"
                if self.kind == "regression"
                else ("{criterion: correctness, equals: correct}")
            )
            raise ValueError(f"dataset {self.name!r} ({self.kind}) needs `when`, e.g. [{example}]")
        if self.criteria is not None and self.kind != "classification":
            raise ValueError(f"dataset {self.name!r}: `criteria` applies to kind classification only")
        return self


class AgreementGate(Strict):
    """Promote a dataset only while the queue's agreement on each criterion it uses reaches `min`."""

    coefficient: str = "krippendorff_alpha"
    min: dict[str, Annotated[float, Field(ge=-1, le=1)]] = Field(min_length=1)


class ProductIssues(Strict):
    """What goes to the flagged report for product owners."""

    flags: bool = True  # items a reviewer flagged (unless a lead resolved the flag as "not an issue")
    adjudications: bool = True  # decisions a lead routed to product owners (a checkbox on the Adjudication page)

    @model_validator(mode="before")
    @classmethod
    def _no_reason_words(cls, data: Any) -> Any:
        if isinstance(data, dict) and "adjudication_reasons" in data:
            raise ValueError(
                "`adjudication_reasons` is gone: words in a lead's reason no longer route a decision. Remove it; "
                "leads tick \"Route to product owners\" on the Adjudication page (`adjudications: false` turns "
                "that off)."
            )
        return data


class Promotion(Strict):
    """A queue's promotion rules (see the README, "Datasets")."""

    datasets: list[DatasetRule] = []
    agreement_gate: AgreementGate | None = None
    product_issues: ProductIssues = ProductIssues()
    run_url: str | None = Field(default=None, description="link to a run, with {run_id} and/or {trace_id}")

    @field_validator("datasets")
    @classmethod
    def _unique(cls, rules: list[DatasetRule]) -> list[DatasetRule]:
        require_unique((r.name for r in rules), "dataset names must be unique in a queue")
        return rules

    @field_validator("run_url")
    @classmethod
    def _template(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not v.startswith(("https://", "http://")):
            raise ValueError(f"{v!r}: a run_url is a web address, starting with https:// or http://")
        fields = {f for _, f, _, _ in string.Formatter().parse(v) if f is not None}
        if not fields or not fields <= RUN_URL_FIELDS:
            raise ValueError(f"{v!r}: use {{run_id}} and/or {{trace_id}} and no other fields")
        return v

    def check(self, kind: str, criteria: dict[str, Criterion]) -> None:
        """Check the rules against the queue's kind and rubric (criterion key -> Criterion)."""
        gradable = {k: c for k, c in criteria.items() if c.type != "text"}
        labelled = [*([PREFERENCE] if kind == "pairwise" else []), *gradable]  # what consensus holds
        for rule in self.datasets:
            where = f"promotion: dataset {rule.name!r}"
            if rule.kind == "preference" and kind != "pairwise":
                raise ValueError(f"{where}: kind preference needs a pairwise queue")
            if rule.kind in ("regression", "sft") and kind != "single":
                raise ValueError(f"{where}: kind {rule.kind} needs a single queue (one run an item)")
            for cond in rule.when:
                _check_condition(where, cond, gradable)
            for key in rule.criteria or ():
                if key not in labelled:
                    raise ValueError(f"{where}: criteria lists {key!r}; choose from {', '.join(labelled)}")
        for key in self.agreement_gate.min if self.agreement_gate else ():
            if key not in labelled:
                raise ValueError(f"agreement_gate.min: no criterion {key!r}; choose from {', '.join(labelled)}")


def is_dataset_name(name: object) -> bool:
    """Whether `name` is a valid dataset name (DATASET_NAME): a plain folder name, never a path."""
    return isinstance(name, str) and re.fullmatch(DATASET_NAME, name) is not None


def _check_condition(where: str, cond: Condition, gradable: dict[str, Criterion]) -> None:
    c = gradable.get(cond.criterion)
    if c is None:
        raise ValueError(f"{where}: `when` names {cond.criterion!r}; choose from {', '.join(gradable)}")
    if c.per_step:
        raise ValueError(
            f"{where}: `when` tests one value per item, but {c.key!r} is answered per step; test a criterion "
            "about the whole trace or session (per-step labels reach datasets through kind classification)"
        )
    options = list(c.options or ([True, False] if c.type == "boolean" else []))
    if cond.values is not None and options and c.type != "numeric":
        for v in cond.values:
            if v not in options:
                raise ValueError(f"{where}: {c.key} cannot be {v!r}; its options are {options}")
    for bound in (cond.min, cond.max):
        if bound is None:
            continue
        if c.type not in ("ordinal", "numeric"):
            raise ValueError(f"{where}: `min`/`max` apply to ordinal and numeric criteria, not {c.type} {c.key!r}")
        if c.type == "ordinal" and bound not in options:
            raise ValueError(f"{where}: {c.key} bound {bound!r} is not one of its options {options}")


__all__ = [
    "DATASET_NAME",
    "DATASET_NAME_RULE",
    "KINDS",
    "TRUSTED",
    "AgreementGate",
    "Condition",
    "DatasetRule",
    "ProductIssues",
    "Promotion",
    "Trusted",
    "is_dataset_name",
]
