"""Ingest production logs into `warehouse.runs`: native, LangSmith and OpenTelemetry formats.

Every record ends as a run, a duplicate of one, or a quarantine row with its position, raw text
and reasons, so `read == inserted + duplicates + rejected` always holds.

    from reviewdesk.ingest import ingest
    with Warehouse(settings.warehouse_path) as wh:
        for report in ingest(wh, ["logs/runs.jsonl", "export.jsonl"]):   # format detected per file
            report.read, report.inserted, report.duplicates, report.rejected

Modules: detect (which format a file is), lines (reading and quarantining raw lines), records and
csvfile (JSON lines and CSV into staged rows), native, langsmith, otel (one per format), canonical
(the run columns every format maps to), stage (one file's transaction: validate, dedupe, insert),
overview (what the warehouse holds, for the CLI), openinference (Arize's `llm.*` span attributes),
otlp (the receiver's protobuf requests in OTLP/JSON shape), inbox (ingesting `data/inbox/` by itself).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from reviewdesk.errors import ConfigError, InputFileError
from reviewdesk.ingest import langsmith, native, otel
from reviewdesk.ingest.detect import FORMATS, detect_format
from reviewdesk.ingest.stage import IngestReport, Stage
from reviewdesk.stores.warehouse import Warehouse

__all__ = ["FORMATS", "IngestReport", "detect_format", "ingest", "ingest_file"]

STAGERS: dict[str, Callable[[Path, Stage], None]] = {
    "native": native.stage_file,
    "langsmith": langsmith.stage_file,
    "otel": otel.stage_file,
}


def ingest_file(
    warehouse: Warehouse, path: Path | str, fmt: str = "auto", *, source: str | None = None,
    content_sha256: str | None = None,
) -> IngestReport:
    """Ingest one file atomically; running it again inserts nothing and counts duplicates.

    `source` names it in `ingests` (its path by default), with its content hash if given."""
    path = Path(path)
    if fmt != "auto" and fmt not in FORMATS:
        raise ConfigError(f"Unknown format {fmt!r}: use auto, {', '.join(FORMATS)}.")
    if not path.is_file():
        raise InputFileError(f"No such file: {path}. Check the path, or run `reviewdesk demo-data` to make one.")
    fmt = detect_format(path) if fmt == "auto" else fmt
    with Stage(warehouse, source or str(path), fmt, content_sha256) as stage:
        STAGERS[fmt](path, stage)
    return stage.report


def ingest(
    warehouse: Warehouse,
    paths: Iterable[Path | str],
    fmt: str = "auto",
    on_file: Callable[[IngestReport], None] | None = None,
) -> list[IngestReport]:
    """Ingest several files, one transaction each; `on_file` reports progress after every file."""
    paths = [Path(p) for p in paths]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise InputFileError(f"No such file: {', '.join(missing)}. Nothing was ingested; fix the paths and rerun.")
    reports = []
    for path in paths:
        reports.append(ingest_file(warehouse, path, fmt))
        if on_file:
            on_file(reports[-1])
    return reports
