"""A draft: what a reviewer sends for an item (answers, comment, correction, flags, whether model
suggestions were shown and what the reviewer did with each, and since when the item was shown), as one
value, and the form's check of it.

`submit`, `submit_and_next` and `revise` take a `Draft`, so the review app, the simulated reviewers
and the tests build a submission once and pass it on, instead of spelling out its fields.

The rubric's own rules, shared by the form and the collect stage so both refuse for the same
reasons: a required criterion needs an answer (a boolean too: unanswered is not False), except in a
*flag-only* submission (a flag with a reason and no answer at all), which a queue with
`flag_instead_of_rating` (the default) accepts and sends to the lead instead of counting it as a rating.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reviewdesk.errors import ReviewdeskError
from schemas.suggestions import OUTCOMES


class DraftError(ReviewdeskError):
    """A draft whose parts have the wrong shape to be stored (answers not an object, flags not a list of objects)."""


@dataclass(frozen=True)
class Draft:
    """A submission before it is stored, exactly as the reviewer sent it.

    `suggestion_shown` None means: not shown, for a first submission; as in the latest revision,
    for an edit. `shown_at` None means: when the item was reserved, for a first submission.
    `correction` is the reviewer's corrected output in the run's own shape (`reviewdesk.review.corrections`).
    `suggestion_outcomes`: {criterion: accepted | changed | left} for each suggestion the form pre-selected
    (see `schemas.suggestions`); None means none was, for a first submission; as in the latest revision,
    for an edit.
    """

    answers: Mapping[str, Any]
    comment: str | None = None
    correction: Any = None
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


def stored_parts(draft: Draft) -> tuple[dict, list[dict]]:
    """The draft's answers and flags as stored; raises DraftError, before anything is stored, when
    they cannot be (the rules themselves are checked on collect, which keeps a rejected submission)."""
    if not isinstance(draft.answers, Mapping):
        raise DraftError("Answers must be an object of criterion: value, e.g. {\"correctness\": \"correct\"}.")
    flags = [] if isinstance(draft.flags, str | bytes | Mapping) else list(draft.flags)
    if (not flags and draft.flags) or not all(isinstance(f, Mapping) for f in flags):
        raise DraftError('Flags must be a list of objects, e.g. [{"reason": "broken run"}].')
    return dict(draft.answers), [dict(f) for f in flags]


def unanswered(value: Any) -> bool:
    """Whether an answer is missing: None or empty text (False and 0 are answers)."""
    return value is None or (isinstance(value, str) and value == "")


def flag_reasons(flags: Any) -> list[str]:
    """The reasons of the flags that give one; a flag without a reason raises nothing."""
    if not isinstance(flags, Iterable) or isinstance(flags, str | Mapping):
        return []
    return [str(f["reason"]).strip() for f in flags if isinstance(f, Mapping) and str(f.get("reason") or "").strip()]


def flag_only(answers: Any, flags: Any) -> bool:
    """A flag with a reason and no answer at all: the reviewer flags the item instead of rating it."""
    return isinstance(answers, Mapping) and all(map(unanswered, answers.values())) and bool(flag_reasons(flags))


def allows_flag_only(queue: Mapping[str, Any]) -> bool:
    """The queue's `flag_instead_of_rating` setting, from its review-store row (default true)."""
    return bool((queue.get("config") or {}).get("flag_instead_of_rating", True))


def missing_answers(
    criteria: Iterable[Mapping[str, Any]], answers: Mapping[str, Any], flags: Any = (), flag_instead: bool = False
) -> list[str]:
    """Keys of required criteria left unanswered; none for a flag-only submission when `flag_instead`
    (the queue's `flag_instead_of_rating`) allows it."""
    if flag_instead and flag_only(answers, flags):
        return []
    return [c["key"] for c in criteria if c.get("required", True) and unanswered(answers.get(c["key"]))]


__all__ = [
    "Draft",
    "DraftError",
    "allows_flag_only",
    "flag_only",
    "flag_reasons",
    "missing_answers",
    "stored_parts",
    "unanswered",
]
