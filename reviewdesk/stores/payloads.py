"""Payload limits: how deep and how large one run's JSON may be, and reading stored JSON without trusting it.

Python's json module parses arrays and objects recursively, so a record nested a few thousand
levels deep raises RecursionError wherever it is read (the review app, promotion), while DuckDB
reads it fine. Ingest therefore quarantines every record past these limits, in every format:

- `MAX_DEPTH` = 64 levels: the run's JSON object is level 1, so its inputs, outputs and metadata
  may nest 63 levels more (chat logs nest about 6);
- `MAX_RECORD_BYTES` = 8 MiB: one run as JSON text (long contexts, a few images inlined). A line of
  a file may still be up to 32 MiB (`reviewdesk.ingest.lines`), e.g. an OTLP request of many spans.

Readers of stored payloads still use `read_json`, which turns any failure into `UnreadablePayload`
with a reason, so one bad payload is set aside instead of failing the reader's transaction.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
MAX_RECORD_BYTES = 8 << 20

JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)  # a string literal; unrolled, so it never backtracks
_BRACKETS = re.compile(r"[\[{]+|[\]}]+")


class UnreadablePayload(ValueError):
    """Stored JSON that cannot be read; the message says why."""


def json_depth(text: str) -> int:
    """How deep JSON text nests (a scalar 0, `[]` 1, `{"a": []}` 2), by an iterative scan at any depth."""
    depth = deepest = 0
    for run in _BRACKETS.finditer(JSON_STRING.sub("", text)):
        step = len(run.group())
        if run.group()[0] in "[{":
            depth += step
            deepest = max(deepest, depth)
        else:
            depth -= step
    return deepest


def too_deep(depth: int) -> str:
    """The reason given for JSON nested `depth` levels, past `MAX_DEPTH`."""
    return f"nested {depth:,} levels deep, over the {MAX_DEPTH}-level limit"


def too_large(size: str) -> str:
    """SQL for the reason given for a record of `size` bytes (a SQL expression), past `MAX_RECORD_BYTES`."""
    return f"'record is ' || format('{{:,}}', {size}) || ' bytes, over the {MAX_RECORD_BYTES:,}-byte limit'"


def openers_sql(text: str) -> str:
    """SQL counting the `[` and `{` in `text` (a VARCHAR expression): JSON with at most `MAX_DEPTH` of
    them cannot nest deeper, so only the rare text with more needs `json_depth`. About 1 ns a byte."""
    return f"(strlen({text}) - strlen(replace(replace({text}, '[', ''), '{{', '')))"


def read_json(text: str | None) -> Any:
    """Parse stored JSON text (None stays None); `UnreadablePayload` with the reason when it cannot be."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except RecursionError:
        raise UnreadablePayload(f"its JSON is {too_deep(json_depth(text))}") from None
    except (TypeError, ValueError) as e:
        raise UnreadablePayload(f"its JSON cannot be parsed ({e})") from None


__all__ = ["JSON_STRING", "MAX_DEPTH", "MAX_RECORD_BYTES", "UnreadablePayload", "json_depth", "openers_sql",
           "read_json", "too_deep", "too_large"]  # fmt: skip
