"""Answers as the warehouse stores them: text in `value`, a number in `value_num` when there is one.

Strings are stored as they are and everything else as JSON (4 -> "4", true -> "true"), so the
criterion's type says how to read a value back: `typed` undoes `as_text`.
"""

from __future__ import annotations

import json
from numbers import Real
from typing import Any

from schemas.rubric import Criterion


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def as_number(value: Any) -> float | None:
    """Numbers, ordinal numbers and booleans (true = 1.0) as floats; None otherwise."""
    return float(value) if isinstance(value, Real) else None


def typed(text: str | None, c: Criterion) -> Any:
    """A stored value read back as the answer it was: the inverse of `as_text` for this criterion."""
    if text is None:
        return None
    textual = c.type in ("categorical", "ordinal") and all(isinstance(o, str) for o in c.options or ())
    return text if textual or c.type == "text" else json.loads(text)


__all__ = ["as_number", "as_text", "typed"]
