"""Guess a log file's format from its suffix and its first record."""

from __future__ import annotations

import json
from pathlib import Path

from reviewdesk.errors import InputFileError

FORMATS = ("native", "langsmith", "otel")
SNIFF_BYTES = 1 << 20


def detect_format(path: Path) -> str:
    """Return 'native', 'langsmith' or 'otel'; raise InputFileError when the file gives no clue."""
    if path.suffix.lower() in (".parquet", ".csv"):
        return "native"
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if not text:
        return "native"
    if '"resourceSpans"' in text[:4096]:
        return "otel"
    try:
        first = json.loads(text.split("\n", 1)[0])
    except ValueError:
        first = None
    if isinstance(first, dict):
        if "run_id" in first:
            return "native"
        if "id" in first and ({"run_type", "extra", "dotted_order", "session_id"} & first.keys()):
            return "langsmith"
    raise InputFileError(
        f"Cannot tell the format of {path}: its first record is not a native run (run_id), a LangSmith run "
        "(id, run_type) or OTLP/JSON (resourceSpans). Pass --format native|langsmith|otel."
    )
