"""The drawn units of one draw: a temporary table on the warehouse connection, from the draw to the items.

A design inserts the units it draws (each with its inclusion probability and stratum) straight from its
aggregation, gold items are added beside them, a trace or session unit gets its key and window here, and
`assembly` turns the table into the batch's items with one INSERT. No unit passes through Python: at 100,000
items that cost about 2 s of a 2.6 s draw (bench/publish_bench.py).

Columns: uid (the unit id: a run id, `run_a || ' ' || run_b`, a trace's root run id or a session id), run_id,
run_a, run_b, rid (a trace root's rowid, until `add_unit_keys`), key (a trace or session unit's key,
`units.unit_key_sql`), pi, stratum, is_gold, gold_answer (JSON text), first_start and last_start (the window
its runs started in).
"""

from __future__ import annotations

import itertools

import duckdb

from reviewdesk.sample.units import keyed_runs_sql, unit_key_sql

COLUMNS = """uid VARCHAR NOT NULL, run_id VARCHAR, run_a VARCHAR, run_b VARCHAR, rid BIGINT, key VARCHAR,
             pi DOUBLE, stratum VARCHAR, is_gold BOOLEAN NOT NULL DEFAULT false, gold_answer VARCHAR,
             first_start TIMESTAMPTZ, last_start TIMESTAMPTZ"""
_tables = itertools.count()  # a name per draw, unique in the process


def create_drawn(con: duckdb.DuckDBPyConnection) -> str:
    """A new, empty table of drawn units; its name."""
    name = f"__drawn_{next(_tables)}"
    con.execute(f"CREATE TEMP TABLE {name} ({COLUMNS})")
    return name


def count(con: duckdb.DuckDBPyConnection, drawn: str) -> int:
    """How many units the design drew (gold items aside)."""
    return con.execute(f"SELECT count(*) FROM {drawn} WHERE NOT is_gold").fetchone()[0]


def add_unit_keys(con: duckdb.DuckDBPyConnection, drawn: str, unit: str) -> None:
    """Give the drawn trace or session units their key and the window their runs started in, read for the
    drawn units only: a trace's key by its root's rowid (reading the key of every root to draw from cost about
    5% of a 10M-run draw), the window over the runs the draw counts as the unit's (`keyed_runs_sql` by key;
    NULL when none has a start time). Publish reads a unit's runs within that window, which spares it reading
    a key column whole; the unit summary aggregates no start time for this, as it reads every run of every unit."""
    if unit == "trace":
        key = unit_key_sql("trace")
        roots = f"SELECT rowid AS rid, {key} AS key FROM runs WHERE rowid IN (SELECT rid FROM {drawn})"
        con.execute(f"UPDATE {drawn} d SET key = k.key FROM ({roots}) k WHERE k.rid = d.rid")
    keys = f"(SELECT key, '{unit}' AS unit, '-infinity'::TIMESTAMPTZ AS lo, 'infinity'::TIMESTAMPTZ AS hi FROM {drawn})"
    runs = keyed_runs_sql(keys, "k.key, r.start_time", undated=False)
    con.execute(
        f"UPDATE {drawn} d SET first_start = w.lo, last_start = w.hi "
        f"FROM (SELECT key, min(start_time) AS lo, max(start_time) AS hi FROM ({runs}) GROUP BY key) w "
        "WHERE d.key = w.key"
    )


__all__ = ["COLUMNS", "add_unit_keys", "count", "create_drawn"]
