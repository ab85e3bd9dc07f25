"""JSON records to canonical columns, in DuckDB: one parse per record, no Python per row."""

from __future__ import annotations

import json
from pathlib import Path

from reviewdesk.ingest.canonical import COLUMNS, RAW_PROBLEM
from reviewdesk.ingest.lines import read_lines
from reviewdesk.ingest.stage import Stage


def json_relation(source: str, fields: list[str] | None = None, mapping: dict[str, str] | None = None) -> str:
    """SQL over `source` (seq, line_no, locator, raw) giving each record as canonical JSON text.

    Native records already are canonical, and their validity is checked only when the strict
    parse refuses them. Other formats give `fields` to parse and a `mapping` of canonical column
    to a SQL expression over the struct `j` of those fields; they check validity first.
    """
    rows = f"SELECT * FROM ({source}) WHERE NOT regexp_matches(raw, '^\\s*$')"
    if mapping is None:
        return f"SELECT seq, line_no, locator, raw, NULL AS problem, raw AS canon FROM ({rows})"
    struct = json.dumps({f: "JSON" for f in fields or []}).replace("'", "''")
    canon = "json_object(" + ", ".join(f"'{c}', {mapping[c]}" for c in COLUMNS if c in mapping) + ")"
    return f"""
SELECT seq, line_no, locator, raw, problem, CASE WHEN problem IS NULL THEN {canon} END AS canon
FROM (
  SELECT *, CASE WHEN problem IS NULL THEN json_transform(raw, '{struct}') END AS j
  FROM (SELECT *, {RAW_PROBLEM.replace("canon", "raw")} AS problem FROM ({rows}))
)"""


def stage_json_lines(
    path: Path, stage: Stage, fields: list[str] | None = None, mapping: dict[str, str] | None = None
) -> None:
    """Stage a JSONL file chunk by chunk, so memory stays flat however large the file."""
    relation = json_relation(
        "SELECT line_no AS seq, line_no, 'line ' || line_no AS locator, raw FROM lines", fields, mapping
    )
    for chunk in read_lines(path):
        stage.reject(chunk.rejects)
        stage.add(relation, lines=chunk.table)
        del chunk
