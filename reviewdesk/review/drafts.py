"""A draft: what a reviewer sends for an item (answers, comment, correction, flags, whether model
suggestions were shown and what the reviewer did with each, and since when the item was shown), as one
value, and the form's check of it.

`submit`, `submit_and_next` and `revise` take a `Draft`, so the review app, the simulated reviewers
and the tests build a submission once and pass it on, instead of spelling out its fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.suggestions import OUTCOMES


@dataclass(frozen=True)
class Draft:
    """A submission before it is stored, exactly as the reviewer sent it.

    `suggestion_shown` None means: not shown, for a first submission; as in the latest revision,
    for an edit. `shown_at` None means: when the item was reserved, for a first submission.
    `suggestion_outcomes`: {criterion: accepted | changed | left} for each suggestion the form pre-selected
    (see `schemas.suggestions`); None means none was, for a first submission; as in the latest revision,
    for an edit.
    """

    answers: Mapping[str, Any]
    comment: str | None = None
    correction: str | None = None
    flags: Iterable[Mapping[str, Any]] = ()
    suggestion_shown: bool | None = None
    shown_at: datetime | None = None
    suggestion_outcomes: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        for key, outcome in (self.suggestion_outcomes or {}).items():
            if not isinstance(key, str) or outcome not in OUTCOMES:
                raise ValueError(
                    f"suggestion outcome {key!r}: {outcome!r} is not one of {', '.join(OUTCOMES)} for a criterion key"
                )


def missing_answers(criteria: Iterable[Mapping[str, Any]], answers: Mapping[str, Any]) -> list[str]:
    """Keys of required criteria left unanswered (a boolean always has an answer): the form and the
    collect stage refuse a submission for the same reasons."""
    return [c["key"] for c in criteria if c.get("required") and answers.get(c["key"]) in (None, "")]


__all__ = ["Draft", "missing_answers"]
