"""The canonical run record every format maps into, and how its raw JSON values become typed columns.

A format module maps its records to one JSON value per canonical column; this module turns those
values into typed SQL columns and a list of problems per record, all inside DuckDB so that a
million runs never pass through Python one by one.
"""

from __future__ import annotations

import json

from reviewdesk.stores.payloads import MAX_DEPTH, MAX_RECORD_BYTES, openers_sql, too_large

# Canonical columns of `runs` that a format supplies, with their kind.
COLUMNS: dict[str, str] = {
    "run_id": "id",
    "trace_id": "id",
    "parent_run_id": "id",
    "session_id": "id",
    "project": "text",
    "name": "text",
    "run_type": "text",
    "model": "text",
    "start_time": "timestamp",
    "end_time": "timestamp",
    "latency_ms": "number",
    "prompt_tokens": "integer",
    "completion_tokens": "integer",
    "total_tokens": "integer",
    "cost_usd": "number",
    "status": "text",
    "error": "text",
    "inputs": "json",
    "outputs": "json",
    "tags": "list",
    "metadata": "object",
    "user_feedback": "number",
}

# A record whose strings may hide brackets as escapes (\u005b, \u007b): a string holding JSON text is unwrapped
# (`_as_json_container`), and its brackets then nest too.
HIDDEN_BRACKETS = "(contains(canon, '\\u005') OR contains(canon, '\\u007'))"
INVALID_JSON = "invalid JSON"
NOT_AN_OBJECT = "not a JSON object"
# Checked only for records the strict parse refused, so a clean record is parsed once.
RAW_PROBLEM = (
    f"CASE WHEN NOT json_valid(canon) THEN '{INVALID_JSON}' "
    f"WHEN NOT regexp_matches(canon, '^\\s*\\{{') THEN '{NOT_AN_OBJECT}' END"
)


def _as_json_container(v: str) -> str:
    """Columnar formats carry nested values as JSON text: unwrap a string that holds an object or array."""
    inner = f"({v}->>'$')"
    return (
        f"CASE WHEN starts_with({v}, '\"') AND json_valid({inner}) "
        f"AND (starts_with(ltrim({inner}), '{{') OR starts_with(ltrim({inner}), '[')) "
        f"THEN json({inner}) ELSE {v} END"
    )


def _typed(name: str, kind: str) -> tuple[str, str]:
    """SQL for the typed value of column `name` (read from `c_<name>`) and for its problem, if any."""
    v = f"c_{name}"
    text = f"({v}->>'$')"
    shown = f"left({text}, 60)"
    is_container = f"json_type({v}) IN ('OBJECT', 'ARRAY')"
    if kind in ("id", "text"):
        return text, f"CASE WHEN {is_container} THEN '{name}: expected a string, got ' || lower(json_type({v})) END"
    if kind == "timestamp":
        typed = f"TRY_CAST({text} AS TIMESTAMPTZ)"
        return typed, (
            f"CASE WHEN {v} IS NOT NULL AND {typed} IS NULL "
            f"THEN '{name}: expected an ISO 8601 timestamp, got ' || {shown} END"
        )
    if kind in ("integer", "number"):
        typed = f"TRY_CAST({text} AS DOUBLE)"
        bad = f"{v} IS NOT NULL AND ({typed} IS NULL OR {is_container} OR NOT isfinite({typed})"
        if kind == "integer":  # exact from the text when it can be; never a silent NULL out of BIGINT's range
            number, typed = typed, f"coalesce(TRY_CAST({text} AS BIGINT), TRY_CAST({typed} AS BIGINT))"
            bad += f" OR {number} <> round({number}) OR {typed} IS NULL"
        what = "an integer" if kind == "integer" else "a number"
        return typed, f"CASE WHEN {bad}) THEN '{name}: expected {what}, got ' || {shown} END"
    value = _as_json_container(v)
    if kind == "json":
        return value, "NULL"
    if kind == "object":
        return value, (
            f"CASE WHEN {v} IS NOT NULL AND json_type({value}) NOT IN ('OBJECT', 'NULL') "
            f"THEN '{name}: expected an object, got ' || lower(json_type({value})) END"
        )
    typed = f"TRY_CAST({value} AS VARCHAR[])"
    return typed, (
        f"CASE WHEN {v} IS NOT NULL AND json_type({value}) <> 'NULL' AND {typed} IS NULL "
        f"THEN '{name}: expected a list of strings, got ' || {shown} END"
    )


SQL_TYPES = {
    "id": "VARCHAR", "text": "VARCHAR", "timestamp": "TIMESTAMPTZ", "number": "DOUBLE", "integer": "BIGINT",
    "json": "JSON", "object": "JSON", "list": "VARCHAR[]",
}  # fmt: skip
TYPED = json.dumps({name: SQL_TYPES[kind] for name, kind in COLUMNS.items()})
UNTYPED = json.dumps({name: "JSON" for name in COLUMNS})


def _fast(name: str, kind: str) -> str:
    """The value from the strict typed parse, with nested JSON text unwrapped (CSV, Parquet)."""
    return _as_json_container(f"t.{name}") if kind in ("json", "object") else f"t.{name}"


def staged_select(relation: str, source_format: str) -> str:
    """SELECT that types a candidate relation and lists each record's problems.

    `relation` yields seq (source order), line_no, locator, raw, problem (a reason known before
    parsing, or NULL) and `canon`: the record as JSON text in canonical column names. A strict
    typed parse serves the common, clean record in one pass; only records it refuses get the
    per-column diagnosis, which also coerces what it can (numbers in strings, lists in JSON text).
    A record over `MAX_RECORD_BYTES` is refused before it is parsed. Derived values (latency from
    the timestamps, total tokens from the parts, status from the error) are filled here for every format.
    `deep` marks the rare record with enough `[` and `{` to nest past `MAX_DEPTH` anywhere in it, or
    with brackets escaped in its strings (`HIDDEN_BRACKETS`), the only records the depth check measures.
    """
    slow = {name: _typed(name, kind) for name, kind in COLUMNS.items()}
    checks = ", ".join(check for _, check in slow.values())
    typed = ",\n    ".join(
        f"CASE WHEN t IS NOT NULL THEN {_fast(name, kind)} ELSE {slow[name][0]} END AS {name}"
        for name, kind in COLUMNS.items()
    )
    fast_checks = (
        "[CASE WHEN coalesce(run_id, '') = '' THEN 'run_id: missing' END, "
        "CASE WHEN NOT starts_with(metadata::VARCHAR, '{') "
        "THEN 'metadata: expected an object, got ' || lower(json_type(metadata)) END]"
    )
    slow_checks = f"[CASE WHEN coalesce(c_run_id->>'$', '') = '' THEN 'run_id: missing' END, {checks}]"
    derived = {
        "latency_ms": "coalesce(latency_ms, date_diff('microsecond', start_time, end_time) / 1000.0)",
        "total_tokens": "coalesce(total_tokens, prompt_tokens + completion_tokens)",
        "status": "coalesce(lower(status), CASE WHEN error IS NOT NULL THEN 'error' ELSE 'success' END)",
    }
    cols = ", ".join(f"{derived[c]} AS {c}" if c in derived else c for c in COLUMNS)
    unwrap = ", ".join(f"c.{c} AS c_{c}" for c in COLUMNS)
    oversized = f"CASE WHEN strlen(canon) > {MAX_RECORD_BYTES} THEN {too_large('strlen(canon)')} END"
    return f"""
SELECT seq, line_no, locator, problems, raw,
  {cols}, '{source_format}' AS source_format, deep
FROM (
  SELECT *, CASE WHEN problem IS NOT NULL THEN [problem]
                 ELSE list_filter(coalesce(slow_problems, {fast_checks}), lambda x: x IS NOT NULL) END AS problems
  FROM (
    SELECT seq, line_no, locator, raw, problem, {typed},
      CASE WHEN t IS NULL AND problem IS NULL THEN {slow_checks} END AS slow_problems,
      coalesce({openers_sql("canon")} >= {MAX_DEPTH} OR {HIDDEN_BRACKETS}, FALSE) AS deep
    FROM (
      SELECT *, {unwrap}
      FROM (
        SELECT *, CASE WHEN t IS NULL AND problem IS NULL THEN json_transform(canon, '{UNTYPED}') END AS c
        FROM (
          SELECT * REPLACE (CASE WHEN t IS NULL AND problem IS NULL THEN {RAW_PROBLEM} ELSE problem END AS problem)
          FROM (SELECT *, CASE WHEN problem IS NULL THEN try(json_transform_strict(canon, '{TYPED}')) END AS t
                FROM (SELECT * REPLACE (coalesce(problem, {oversized}) AS problem) FROM ({relation})))
        )
      )
    )
  )
)"""
