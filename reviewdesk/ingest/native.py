"""Native format: our own column names, as JSONL, Parquet or CSV (nested values as JSON text)."""

from __future__ import annotations

import uuid
from pathlib import Path

from reviewdesk.ingest.canonical import COLUMNS
from reviewdesk.ingest.lines import Reject, lines_at
from reviewdesk.ingest.records import stage_json_lines, stage_sql_rows
from reviewdesk.ingest.stage import Stage





def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def stage_csv(path: Path, stage: Stage) -> None:
    """CSV through DuckDB's reader; rows it cannot parse come back from its rejects table."""
    name = f"rejects_{uuid.uuid4().hex[:8]}"
    rows = (
        f"read_csv('{_sql_path(path)}', header = true, all_varchar = true, ignore_errors = true, "
        f"store_rejects = true, rejects_table = '{name}', rejects_scan = '{name}_scan')"
    )
    stage_sql_rows(stage, rows)
    found = stage.wh.execute(f"SELECT line, error_type, error_message FROM {name} ORDER BY line")
    raw = lines_at(path, [line for line, *_ in found])
    stage.reject([Reject(line, f"line {line}", raw.get(line, b""), f"CSV {kind.lower()}: {msg}") for line, kind, msg in found])
    stage.wh.execute(f"DROP TABLE IF EXISTS {name}; DROP TABLE IF EXISTS {name}_scan")


def stage_file(path: Path, stage: Stage) -> None:
    """Stage a native file, choosing the reader by its suffix."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        stage_sql_rows(stage, f"read_parquet('{_sql_path(path)}')")
    elif suffix == ".csv":
        stage_csv(path, stage)
    else:
        stage_json_lines(path, stage)
