"""Rubrics: versioned instructions plus criteria, and the pairwise question every A/B item asks first.

A rubric's content hash is its version, so labels stay tied to the exact questions they answered.
An option may be written as a plain value or as `{value: ..., description: ..., examples: {good: [...],
bad: [...]}}`; the model keeps plain values in `options` and the descriptions and examples apart, in
`option_descriptions` and `option_examples` (keyed by the option as text), so the rest of the code
sees plain option values and the form shows each option's help (description and examples) on it.
Examples are short: a rubric author's clearest way to say where an option ends (`good`: answers that
earn the option; `bad`: near misses that do not).
The pairwise question (`PREFERENCE`) is not written in a rubric: every pairwise item asks it
before the rubric's criteria. Its answer is stored as the chosen run's id, or `TIE`; consensus
resolves it like a required categorical criterion (`PREFERENCE_CRITERION`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal, Self

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from schemas.base import Strict, require_unique

KEY = r"^[a-z][a-z0-9_]{0,62}$"
NEEDS_OPTIONS = ("categorical", "ordinal")
PREFERENCE = "preference"  # the pairwise question's key: its answer is a run id of the item, or TIE
TIE = "tie"


Option = str | int | float
MAX_EXAMPLES = 5  # per kind (good, bad) and option: a few clear cases help, a long list is not read
MAX_EXAMPLE_CHARS = 300  # an example is a sentence or two, not a whole run
# The step types a trace or session has (a run's `run_type`), which a `per_step` criterion may ask about.
STEP_TYPES = ("llm", "tool", "retriever", "chain", "embedding", "prompt", "parser")
StepType = Literal["llm", "tool", "retriever", "chain", "embedding", "prompt", "parser"]


def _short_examples(kind: str, examples: list[str]) -> list[str]:
    """At most MAX_EXAMPLES examples, each one non-blank line of at most MAX_EXAMPLE_CHARS characters."""
    if len(examples) > MAX_EXAMPLES:
        raise ValueError(f"{len(examples)} {kind} examples: give at most {MAX_EXAMPLES}, the clearest ones")
    for n, e in enumerate(examples, 1):
        if not e.strip():
            raise ValueError(f"{kind} example {n} is blank: write the example, or remove it")
        if len(e) > MAX_EXAMPLE_CHARS:
            raise ValueError(f"{kind} example {n} has {len(e):,} characters: shorten it to {MAX_EXAMPLE_CHARS} or less")
    return examples


class OptionExamples(Strict):
    """Short examples of one option: `good` ones earn it, `bad` ones are near misses that do not."""

    good: list[str] = []
    bad: list[str] = []

    @field_validator("good", "bad")
    @classmethod
    def _short(cls, examples: list[str], info: ValidationInfo) -> list[str]:
        return _short_examples(info.field_name, examples)

    @model_validator(mode="after")
    def _some(self) -> Self:
        if not self.good and not self.bad:
            raise ValueError("examples list neither `good` nor `bad` ones: add some, or remove `examples`")
        return self


class DescribedOption(Strict):
    """An option written with the help the form shows on it: a description, examples, or both."""

    value: Option
    description: str | None = Field(None, min_length=1)
    examples: OptionExamples | None = None

    @model_validator(mode="after")
    def _some_help(self) -> Self:
        if self.description is None and self.examples is None:
            raise ValueError("give the option a `description` or `examples`, or write it as a plain value")
        return self


def _described(option: dict, key: Any) -> DescribedOption:
    """The option as a DescribedOption; a problem names the criterion and option (as queue files are read)."""
    try:
        return DescribedOption(**option)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'option'}: {_problem(err)}" for err in e.errors())
        raise ValueError(f"criterion {key!r}, option {option.get('value')!r}: {problems}") from None


def _problem(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key: remove it, or check its spelling (value, description, examples: good, bad)"
    return err["msg"].removeprefix("Value error, ")


class Criterion(Strict):
    """One question of the rubric."""

    key: Annotated[str, Field(pattern=KEY, description="snake_case identifier, unique in the rubric")]
    type: Literal["categorical", "ordinal", "numeric", "boolean", "text"]
    options: list[Option] | None = None
    min: float | None = None
    max: float | None = None
    required: bool = True
    description: str = ""
    tolerance: Annotated[float | None, Field(ge=0)] = None  # see `spread_allowed`
    option_descriptions: dict[str, str] | None = None  # option (as text) -> help; from `{value, description}`
    option_examples: dict[str, OptionExamples] | None = None  # option (as text) -> examples; from `{value, examples}`
    # Trace and session queues: asked once per step of these types (its answer maps step run id -> value),
    # instead of once for the whole unit.
    per_step: Annotated[list[StepType] | None, Field(min_length=1)] = None

    @model_validator(mode="before")
    @classmethod
    def _split_described_options(cls, data: Any) -> Any:
        """Options written as `{value, description, examples}` become plain values plus `option_descriptions`
        and `option_examples` (each only when some option has one, so older rubrics keep their version)."""
        if not isinstance(data, dict) or not isinstance(data.get("options"), list):
            return data
        if not any(isinstance(o, dict) for o in data["options"]):
            return data
        plain, described = [], dict(data.get("option_descriptions") or {})
        examples = dict(data.get("option_examples") or {})
        for o in data["options"]:
            if isinstance(o, dict):
                o = _described(o, data.get("key"))
                if o.description is not None:
                    described[str(o.value)] = o.description
                if o.examples is not None:
                    examples[str(o.value)] = o.examples
                o = o.value
            plain.append(o)
        helped = {"option_descriptions": described or data.get("option_descriptions")}
        if examples:
            helped["option_examples"] = examples
        return {**data, "options": plain, **helped}

    def describe(self, option: Option) -> str:
        """The help text of one option ("" when the rubric gives none)."""
        return (self.option_descriptions or {}).get(str(option), "")

    def examples(self, option: Option) -> OptionExamples | None:
        """The good and bad examples of one option (None when the rubric gives none)."""
        return (self.option_examples or {}).get(str(option))

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
        if unknown := sorted(set(self.option_descriptions or ()) - {str(o) for o in self.options or ()}):
            raise ValueError(f"criterion {self.key!r}: descriptions of options it does not list: {unknown}")
        if unknown := sorted(set(self.option_examples or ()) - {str(o) for o in self.options or ()}):
            raise ValueError(f"criterion {self.key!r}: examples of options it does not list: {unknown}")
        if self.tolerance is not None and self.type not in ("ordinal", "numeric"):
            raise ValueError(f"criterion {self.key!r} is {self.type}: `tolerance` applies to ordinal and numeric only")
        if self.per_step is not None:
            require_unique(self.per_step, f"criterion {self.key!r}: list each step type in `per_step` once")
        return self


def _unset_additions(rubric: Rubric) -> dict:
    """Fields added after rubrics were first published hash only when set, so old versions keep their hash."""
    added = ("tolerance", "option_descriptions", "option_examples", "per_step")
    unset = ((i, {f for f in added if getattr(c, f) is None}) for i, c in enumerate(rubric.criteria))
    return {"criteria": {i: fields for i, fields in unset if fields}}


class Rubric(Strict):
    """Instructions plus criteria; its content hash is its version."""

    instructions: str = Field(min_length=1)
    criteria: list[Criterion] = Field(min_length=1)

    @field_validator("criteria")
    @classmethod
    def _unique_keys(cls, criteria: list[Criterion]) -> list[Criterion]:
        require_unique((c.key for c in criteria), "criterion keys must be unique")
        return criteria

    @property
    def version(self) -> str:
        """Content hash: editing the rubric makes a new version, and old labels keep theirs."""
        canonical = json.dumps(self.model_dump(mode="json", exclude=_unset_additions(self)), sort_keys=True,
                               separators=(",", ":"))  # fmt: skip
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]


# The pairwise question as consensus resolves it: a required categorical answer. Its real options
# (the item's two run ids, or TIE) differ per item and are not needed to count votes.
PREFERENCE_CRITERION = Criterion(key=PREFERENCE, type="categorical", options=["run_a", "run_b", TIE])

__all__ = ["KEY", "MAX_EXAMPLES", "MAX_EXAMPLE_CHARS", "PREFERENCE", "PREFERENCE_CRITERION", "STEP_TYPES", "TIE",
           "Criterion", "DescribedOption", "Option", "OptionExamples", "Rubric", "StepType"]  # fmt: skip
