"""JSON records to canonical columns, in DuckDB: one parse per record, no Python per row."""

from __future__ import annotations

import json
from pathlib import Path

from reviewdesk.ingest.canonical import COLUMNS, INVALID_JSON, NOT_AN_OBJECT
from reviewdesk.ingest.lines import read_lines
from reviewdesk.ingest.stage import Stage

def json_relation(source: str, fields: list[str] | None = None, mapping: dict[str, str] | None = None) -> str:
    """SQL over `source` (seq, line_no, locator, raw) giving each record as a canonical JSON object.

    Native records already are canonical. Other formats give `fields` to parse and a `mapping`
    of canonical column to a SQL expression over the struct `j` of those fields.
    """
    parsed, canon = "", "raw"
    if mapping is not None:
        struct = json.dumps({f: "JSON" for f in fields or []}).replace("'", "''")
        parsed = f", CASE WHEN problem IS NULL THEN json_transform(raw, '{struct}') END AS j"
        canon = "json_object(" + ", ".join(f"'{c}', {mapping[c]}" for c in COLUMNS if c in mapping) + ")"
    return f"""
SELECT seq, line_no, locator, raw, problem, {canon} AS canon
FROM (
  SELECT *{parsed}
  FROM (
    SELECT *, CASE WHEN NOT json_valid(raw) THEN '{INVALID_JSON}'
                   WHEN NOT regexp_matches(raw, '^\\s*\\{{') THEN '{NOT_AN_OBJECT}' END AS problem
    FROM ({source}) WHERE NOT regexp_matches(raw, '^\\s*$')
  )
)"""


def stage_json_lines(path: Path, stage: Stage, fields: list[str] | None = None, mapping: dict[str, str] | None = None) -> None:
    """Stage a JSONL file chunk by chunk, so memory stays flat however large the file."""
    relation = json_relation(
        "SELECT line_no AS seq, line_no, 'line ' || line_no AS locator, raw FROM lines", fields, mapping
    )
    for chunk in read_lines(path):
        stage.reject(chunk.rejects)
        stage.add(relation, lines=chunk.table)
        del chunk


def stage_sql_rows(stage: Stage, rows: str) -> None:
    """Stage native rows of a DuckDB table function (Parquet, CSV), each rendered as JSON."""
    source = (
        "SELECT row_number() OVER () AS seq, NULL::BIGINT AS line_no, 'row ' || row_number() OVER () AS locator, "
        f"to_json(t)::VARCHAR AS raw FROM {rows} t"
    )
    stage.add(json_relation(source))
