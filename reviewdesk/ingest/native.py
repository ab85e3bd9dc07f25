"""Native format: our own column names, as JSONL, Parquet or CSV (nested values as JSON text)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from reviewdesk.errors import InputFileError
from reviewdesk.ingest.csvfile import stage_csv
from reviewdesk.ingest.records import json_relation, stage_json_lines
from reviewdesk.ingest.stage import Stage


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def stage_parquet(path: Path, stage: Stage) -> None:
    """Parquet through DuckDB; a row is located by its position in the file, its raw text is the row as JSON."""
    try:
        stage.wh.execute(f"SELECT count(*) FROM parquet_metadata('{_sql_path(path)}')")
    except duckdb.Error as e:
        raise InputFileError(f"Cannot read {path} as Parquet ({e}). Check that the file is complete.") from e
    # file_row_number, unlike row_number() OVER (), is stable, so a row keeps its locator when re-read.
    source = (
        "SELECT file_row_number + 1 AS seq, NULL::BIGINT AS line_no, 'row ' || (file_row_number + 1) AS locator, "
        """json_merge_patch(to_json(t), '{"file_row_number": null}')::VARCHAR AS raw """
        f"FROM read_parquet('{_sql_path(path)}', file_row_number = true) t"
    )
    stage.add(json_relation(source))


def stage_file(path: Path, stage: Stage) -> None:
    """Stage a native file, choosing the reader by its suffix."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        stage_parquet(path, stage)
    elif suffix == ".csv":
        stage_csv(path, stage)
    else:
        stage_json_lines(path, stage)
