"""What every configuration model shares: strictness, a uniqueness check, and the mark of a SQL field.

Queue files are written by hand, so a typo must fail loudly rather than fall back to a default:
every model derives from `Strict`. SQL fields are only *declared* here (`SqlExpression`); checking
them needs the warehouse engine, so `reviewdesk.queues` does it when a queue file is loaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown keys are errors and models are immutable: a typo must not silently fall back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class SqlExpression:
    """Marks a field (`Annotated[str, SqlExpression()]`, or a list of such strings) as a DuckDB expression over
    the runs table; `want` is the type it must have ('BOOLEAN' for a condition), None for any type."""

    want: str | None = None


def require_unique(values: Iterable[str], rule: str) -> None:
    """Raise ValueError '<rule>; repeated: a, b' if any value appears more than once."""
    values = list(values)
    if repeated := sorted({v for v in values if values.count(v) > 1}):
        raise ValueError(f"{rule}; repeated: {', '.join(repeated)}")


__all__ = ["SqlExpression", "Strict", "require_unique"]
