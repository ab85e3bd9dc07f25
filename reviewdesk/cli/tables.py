"""CLI tables that never cut an identifier: every command builds its rich tables here."""

from __future__ import annotations

from typing import Any

from rich.table import Column, Table


def new_table(*headers: str, keys: tuple[str, ...] | None = None, **options: Any) -> Table:
    """A rich table that never cuts a cell with an ellipsis: text wraps, and a word longer than its column
    folds onto the next line. `keys` (default: the first column) hold identifiers (queues, batches, runs,
    reviewers): they keep their full width while the other columns narrow, and fold only if even that
    is not enough."""
    keys = headers[:1] if keys is None else keys
    return Table(*(Column(h, overflow="fold", no_wrap=h in keys) for h in headers), **options)
