"""The runs contract's rules in SQL (schemas.run_rules) agree with the contract itself (schemas.runs.RunSchema).

Ingestion lets DuckDB find the runs that break a rule and sends only those through pandera, so a
rule missing or looser in SQL would let a bad run in unchecked: each check of the schema must have
its condition, and both must refuse exactly the same runs.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import duckdb
import pandera.errors
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.run_rules import COLUMN_RULES, DOMAIN_COLUMNS, FRAME_RULES, PASSES
from schemas.runs import DOMAIN_COLUMNS as SCHEMA_DOMAIN_COLUMNS
from schemas.runs import RunSchema

SQL_TYPES = {
    "status": "VARCHAR",
    "start_time": "TIMESTAMPTZ",
    "end_time": "TIMESTAMPTZ",
    "latency_ms": "DOUBLE",
    "prompt_tokens": "BIGINT",
    "completion_tokens": "BIGINT",
    "total_tokens": "BIGINT",
    "cost_usd": "DOUBLE",
    "user_feedback": "DOUBLE",
}  # fmt: skip  (as the staged table types them)
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_every_check_of_the_schema_has_its_condition():
    schema = RunSchema.to_schema()
    assert DOMAIN_COLUMNS == SCHEMA_DOMAIN_COLUMNS == list(SQL_TYPES)
    assert {c.name for c in schema.checks} == set(FRAME_RULES)
    for name in DOMAIN_COLUMNS:
        column = schema.columns[name]
        # a column with checks, or one that may not be NULL, needs more than TRUE
        assert (COLUMN_RULES[name] == "TRUE") == (not column.checks and column.nullable), name


numbers = st.one_of(st.none(), st.just(math.nan), st.just(-0.0), st.floats(-5, 5, allow_nan=False))
counts = st.one_of(st.none(), st.integers(-3, 3), st.integers(-(2**62), 2**62))
times = st.one_of(st.none(), st.integers(-5, 5).map(lambda s: T0 + timedelta(seconds=s)))
runs = st.fixed_dictionaries({
    "status": st.one_of(st.none(), st.sampled_from(["success", "error", "ok", "Success", ""])),
    "start_time": times, "end_time": times, "latency_ms": numbers, "prompt_tokens": counts,
    "completion_tokens": counts, "total_tokens": counts, "cost_usd": numbers, "user_feedback": numbers,
})  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(runs, min_size=1, max_size=12))
def test_sql_and_pandera_refuse_the_same_runs(rows: list[dict]):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE t (seq INTEGER, " + ", ".join(f"{c} {t}" for c, t in SQL_TYPES.items()) + ")")
    con.executemany(
        f"INSERT INTO t VALUES (?, {', '.join('?' for _ in SQL_TYPES)})",
        [[i, *(row[c] for c in SQL_TYPES)] for i, row in enumerate(rows)],
    )
    refused_by_sql = {
        seq for (seq,) in con.execute(f"SELECT seq FROM t WHERE NOT coalesce({PASSES}, FALSE)").fetchall()
    }
    df = con.sql(f"SELECT {', '.join(SQL_TYPES)} FROM t ORDER BY seq").df()
    try:
        RunSchema.to_schema().select_columns(DOMAIN_COLUMNS).validate(df, lazy=True)
        refused_by_pandera = set()
    except pandera.errors.SchemaErrors as e:
        refused_by_pandera = {int(i) for i in e.failure_cases["index"].dropna()}
    assert refused_by_sql == refused_by_pandera, rows
