"""Guess a log file's format from its suffix and its first record."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reviewdesk.errors import InputFileError
from reviewdesk.ingest import lines
from reviewdesk.stores.payloads import JSON_STRING

FORMATS = ("native", "langsmith", "otel")
SNIFF_BYTES = 1 << 20
SNIFF_LINES = 20
_TOKENS = re.compile(JSON_STRING.pattern + r"(\s*:)?|[\[\]{}]", re.S)  # a string (a key if a colon follows); a bracket


def _top_keys(line: bytes) -> dict[str, None] | None:
    """The top-level keys of a JSON object too deep for Python's parser, by an iterative scan."""
    keys: dict[str, None] = {}
    depth = 0
    for token in _TOKENS.finditer(line.decode("utf-8", errors="replace")):
        text = token.group()
        if text in "[{":
            depth += 1
        elif text in "]}":
            depth -= 1
        elif token.group(1) and depth == 1:
            keys[text[1 : text.rindex('"')]] = None
    return keys if line.lstrip().startswith(b"{") else None


def _first_records(path: Path) -> Iterator[Any]:
    """The parsed values of the first few non-blank lines; a line that is not JSON, or too long, gives None.

    An object nested too deeply to parse gives its top-level keys (its values None): enough to tell
    the format, and ingest then quarantines the record.
    """
    limit, seen = lines.MAX_LINE_BYTES, 0
    with open(path, "rb") as f:
        while seen < SNIFF_LINES and (line := f.readline(limit + 2)):  # room for a CRLF
            line = line.removeprefix(b"\xef\xbb\xbf") if seen == 0 else line
            if not line.strip():
                continue
            seen += 1
            if len(line.rstrip(b"\r\n")) > limit:  # over-long: skip the rest of it
                while line and not line.endswith(b"\n"):
                    line = f.readline(1 << 20)
                yield None
                continue
            try:
                yield json.loads(line)
            except RecursionError:
                yield _top_keys(line)
            except ValueError:
                yield None


def detect_format(path: Path) -> str:
    """Return 'native', 'langsmith' or 'otel'; raise InputFileError when the file gives no clue.

    The first record that looks like one of the formats decides, so a damaged or over-long first
    line does not hide the format of the rest.
    """
    if path.suffix.lower() in (".parquet", ".csv"):
        return "native"
    for record in _first_records(path):
        if isinstance(record, dict):
            if "resourceSpans" in record:
                return "otel"
            if "run_id" in record:
                return "native"
            if "id" in record and ({"run_type", "extra", "dotted_order", "session_id"} & record.keys()):
                return "langsmith"
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if not text:
        return "native"
    if text.startswith("{") and '"resourceSpans"' in text[:4096]:  # one pretty-printed OTLP/JSON request
        return "otel"
    raise InputFileError(
        f"Cannot tell the format of {path}: none of its first records is a native run (run_id), a LangSmith "
        "run (id, run_type) or OTLP/JSON (resourceSpans). Pass --format native|langsmith|otel."
    )
