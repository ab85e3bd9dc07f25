"""What one answer to one criterion must be, as plain rules (no pandera), so the review screen's submit
and the collect stage's pandera schema (`schemas.answers`) refuse a value for the same reasons.

Each rule is (message, check); a check lets a missing value through (whether one is required is
checked on its own). A per-step criterion's answer holds one such value per step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from numbers import Real
from typing import Any

Rule = tuple[str, Callable[[Any], bool]]

TYPES: dict[str, Rule] = {
    "categorical": ("must be text or a number", lambda v: isinstance(v, str | Real) and not isinstance(v, bool)),
    "ordinal": ("must be text or a number", lambda v: isinstance(v, str | Real) and not isinstance(v, bool)),
    "numeric": ("must be a number", lambda v: isinstance(v, Real) and not isinstance(v, bool)),
    "boolean": ("must be true or false", lambda v: isinstance(v, bool)),
    "text": ("must be text", lambda v: isinstance(v, str)),
}


def value_rules(c: Mapping[str, Any]) -> list[Rule]:
    """The criterion's rules for one value: its type, then its options or its range."""
    message, is_type = TYPES[c["type"]]
    rules: list[Rule] = [(message, is_type)]
    if options := c.get("options"):
        allowed = {(type(o) is str, o) for o in options}  # 1 and "1" are different answers
        rules.append((f"must be one of {', '.join(map(str, options))}", lambda v: _hashable(v) in allowed))
    if c["type"] == "numeric" and c.get("min") is not None:
        lo, hi = c["min"], c["max"]
        rules.append((f"must be between {lo:g} and {hi:g}", lambda v: not is_type(v) or lo <= v <= hi))
    return rules


def _hashable(v: Any) -> tuple[bool, Any] | None:
    try:
        hash(v)
    except TypeError:
        return None
    return (type(v) is str, v)


def value_problems(c: Mapping[str, Any], value: Any) -> list[str]:
    """Why `value` is not a valid answer to criterion `c` ([] when it is, or when it is missing)."""
    if value is None:
        return []
    return [message for message, check in value_rules(c) if not check(value)]


__all__ = ["TYPES", "value_problems", "value_rules"]
