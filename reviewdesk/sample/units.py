"""Trace and session units: one row per complete unit, its queue SQL evaluated per unit in the sandbox.

A trace is the runs of one `coalesce(trace_id, run_id)`; its roots are its runs whose parent is not
among them (or NULL), and it is complete with exactly one. A session is the runs of one `session_id`;
its turns are its runs without a parent, and it needs at least one. Either is complete once its newest
run (`coalesce(end_time, start_time)`) is older than `now - settle_minutes` (a unit with no time at all
counts as settled); the others are held back and counted (`held`). A unit's id (`items.unit_id`) is the
trace's root run id or the session id; its item's run is the trace's root, or the session's last turn; its key
(`items.unit_key`, `unit_key_sql`) is what publish reads its runs by, within the window they started in when
drawn (`items.unit_first_start` to `unit_last_start`, read for the drawn units only: `keyed_runs_sql`).

Three queries on the warehouse, none aggregating strings (that was most of the cost, bench/sample_bench.py):
- the orphans, trace runs whose parent is not in their trace: one anti-join on 64-bit hashes of the run
  ids and trace keys (two ids would have to collide, within one trace, to err); usually none;
- the units' runs, with the unit key as two independent 64-bit hashes (a 128-bit key: two of 10M units
  share it with probability about 1e-25), the run's time, whether it is a root, and only the columns
  the queue's SQL reads;
- the root runs (parentless, or orphans), with the unit id and key they give and the columns root.<c> reads.
A sandbox takes these as Arrow: it builds the unit summary (newest run, roots, complete), then evaluates
the queue's SQL (filter, strata, weights) over each complete unit's runs grouped by unit, with the root
run's columns as the struct `root`, exactly as `sqlcheck` bound it. What it returns (unit id, the item's
run and the values) is registered on the warehouse connection, and the design draws from it there.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa

from reviewdesk.errors import ConfigError
from reviewdesk.stores.sandbox import memory_limit_of, sandbox
from reviewdesk.stores.sqlcheck import ROOT, run_column_types, unit_columns_read
from schemas.queue import QueueConfig

_relations = itertools.count()
ORDER = "(start_time, run_id)"  # a unit's runs in time order, ties by id
KEYS = "__k1, __k2"  # the unit key's two hashes, in every relation of the sandbox


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(names: list[str]) -> str:
    return "".join(f", {_quoted(c)}" for c in dict.fromkeys(names))


def unit_key_sql(unit: str) -> str:
    """SQL for the unit key of a run (NULL: the run is in no unit)."""
    return "coalesce(trace_id, run_id)" if unit == "trace" else "session_id"


# A unit's runs, by its key: a trace's share its coalesce(trace_id, run_id), found as two joins pushed into scans
# (on trace_id, and on run_id among the runs without one) rather than as that coalesce over every row, which would
# read every run id; a session's share its session_id.
KEY_JOINS = {"trace": ["r.trace_id = k.key", "r.run_id = k.key AND r.trace_id IS NULL"],
             "session": ["r.session_id = k.key"]}  # fmt: skip


def keyed_runs_sql(keys: str, select: str, undated: bool = True) -> str:
    """SELECT `select` (over `k`, a row of the relation `keys`, and `r`, a run) for each run of each unit in `keys`
    (columns unit, key, lo, hi) that started within [lo, hi] and, if `undated`, each one without a start time.

    The window is a plain comparison in each join so DuckDB prunes the row groups whose start_time zone map
    misses it (from the least lo to the greatest hi in `keys`): equality on a random key alone reads its whole
    column (~30 ms per 10M runs), the window as little as the unit's own row groups. Runs without a start time
    are their own join (`OR start_time IS NULL` would stop the pruning; alone it skips row groups that have
    none); -infinity to infinity reads every dated run of the unit."""
    times = ["r.start_time >= k.lo AND r.start_time <= k.hi", *(["r.start_time IS NULL"] if undated else [])]
    return "\nUNION ALL\n".join(
        f"SELECT {select} FROM {keys} k JOIN runs r ON {on} AND {t} WHERE k.unit = '{unit}'"
        for unit, ons in KEY_JOINS.items() for on in ons for t in times
    )  # fmt: skip


def orphans_sql() -> str:
    """The rowids (__orphan) of trace runs whose parent is not in their trace."""
    key = unit_key_sql("trace")
    return f"""
        SELECT c.rowid AS __orphan
        FROM (SELECT rowid, hash(parent_run_id) AS __hp, hash({key}) AS __hu FROM runs
              WHERE parent_run_id IS NOT NULL) c
        ANTI JOIN (SELECT hash(run_id) AS __h, hash({key}) AS __hu FROM runs) p ON p.__h = c.__hp AND p.__hu = c.__hu"""


def _keyed(unit: str, select: str) -> str:
    """SELECT the unit key's hashes and `select` from the runs in a unit."""
    key = unit_key_sql(unit)
    return f"SELECT hash({key}) AS __k1, hash('~' || {key}) AS __k2, {select} FROM runs WHERE {key} IS NOT NULL"


def unit_runs_sql(unit: str, columns: list[str], orphans: str | None) -> str:
    """Per run in a unit: its unit key's hashes, its time (__t), whether it is a root (__root: no parent, or in
    the relation `orphans`) and `columns`."""
    root = "parent_run_id IS NULL" + (f" OR rowid IN (SELECT __orphan FROM {orphans})" if orphans else "")
    return _keyed(unit, f"coalesce(end_time, start_time) AS __t, {root} AS __root{_columns(columns)}")


def roots_sql(unit: str, columns: list[str], orphans: str | None) -> str:
    """Per root run: its unit key's hashes, the unit id it gives (__uid: the trace's root run id, the session id),
    the unit key itself (__key; for a trace, its root's rowid until `population.trace_keys`), `columns` and, for
    a session's turns (ordered by time), run_id and start_time."""
    key = unit_key_sql(unit)
    # a trace's key is read later for the drawn ones only (`trace_keys`): here its root's rowid stands for it
    uid, ref, ordered = ("run_id", "rowid", []) if unit == "trace" else (key, key, ["run_id", "start_time"])
    select = _keyed(unit, f"{uid} AS __uid, {ref} AS __key{_columns([*columns, *ordered])}")
    # one scan filtered on the parent, one on the few orphans' rowids: each reads its strings only where it keeps a row
    return f"{select} AND parent_run_id IS NULL" + (
        f" UNION ALL {select} AND rowid IN (SELECT __orphan FROM {orphans})" if orphans else ""
    )


def complete_sql(unit: str, columns: list[str]) -> str:
    """In the sandbox, from `__roots` and the complete units' keys `__keys`: per complete unit, its key's hashes,
    __uid, __key, __run (the item's run) and its root's `columns` as the struct __root (a trace's root, a session's
    first turn)."""
    struct = f"struct_pack(__z := 0{_columns(columns)})"
    if unit == "trace":  # exactly one root: nothing to aggregate
        return (f"SELECT {KEYS}, __uid, __key, __uid AS __run, {struct} AS __root FROM __roots "
                f"SEMI JOIN __keys USING ({KEYS})")  # fmt: skip
    return f"""
        SELECT {KEYS}, any_value(__uid) AS __uid, any_value(__key) AS __key, arg_max(run_id, {ORDER}) AS __run,
               arg_min({struct}, {ORDER}) AS __root
        FROM __roots SEMI JOIN __keys USING ({KEYS}) GROUP BY ALL"""


class UnitFrame:
    """A queue's trace or session units for one draw, in a sandbox (`close` closes it)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, queue: QueueConfig, now: datetime | None) -> None:
        self.con, self.queue = con, queue
        self.cutoff = (now or datetime.now(UTC)) - timedelta(minutes=queue.settle_minutes)
        self.registered: list[str] = []
        self.box: duckdb.DuckDBPyConnection | None = None

    def _expressions(self, values: dict[str, str]) -> list[str]:
        return [self.queue.sampling.filter, *values.values()]

    def _arrow(self, sql: str) -> pa.Table:
        self.con.complete()  # a result the caller read with fetchone() is still open, and would refuse con.sql
        return self.con.sql(sql).to_arrow_table()

    def _register(self, table: pa.Table) -> str:
        name = f"__units_{next(_relations)}"
        self.con.register(name, table)
        self.registered.append(name)
        return name

    def build(self) -> None:
        """The unit summary in a sandbox, from the units' runs and roots (with the columns the sampling SQL reads)."""
        if self.box is not None:
            return
        s, unit = self.queue.sampling, self.queue.unit
        reads = [unit_columns_read(e) for e in [s.filter, *s.stratify_by, *(w.when for w in s.weights)]]
        run_cols, root_cols = (sorted(set().union(*(r[i] for r in reads))) for i in (0, 1))
        orphans = self._register(self._arrow(orphans_sql())) if unit == "trace" else None
        runs = self._arrow(unit_runs_sql(unit, run_cols, orphans))
        roots = self._arrow(roots_sql(unit, root_cols, orphans))
        complete = "__roots = 1" if unit == "trace" else "__roots >= 1"
        self.box = sandbox(memory_limit_of(self.con))
        self.box.register("__runs", runs)
        self.box.register("__roots", roots)
        self.box.execute(
            f"CREATE TABLE __units AS SELECT {KEYS}, ({complete} AND coalesce(__newest < $cutoff, TRUE)) AS __complete "
            f"FROM (SELECT {KEYS}, count(*) FILTER (__root) AS __roots, max(__t) AS __newest FROM __runs GROUP BY ALL)",
            {"cutoff": self.cutoff},
        )
        self.box.execute(f"CREATE VIEW __keys AS SELECT {KEYS} FROM __units WHERE __complete")
        self.box.execute(f"CREATE TABLE __complete AS {complete_sql(unit, root_cols)}")

    @property
    def held(self) -> int:
        """Units held back: spans still arriving (newer than the settle time), or not exactly one root."""
        self.build()
        return self.box.execute("SELECT count(*) FROM __units WHERE NOT __complete").fetchone()[0]

    def select(self, hash_of: Callable[[str], str], exclude: Callable[[str], str], values: dict[str, str]) -> str:
        """SELECT __uid, __h, __key, __run and `values` by name, for the complete units passing the queue's filter;
        `hash_of(uid)` is the seeded hash of the SQL expression uid, `exclude(uid)` the condition a unit meets."""
        self.build()
        keep = self.queue.sampling.filter
        if keep.strip().upper() == "TRUE" and not values:
            units = self.box.sql("SELECT __uid, __key, __run FROM __complete").to_arrow_table()
        else:
            units = self._evaluate(keep, values)
        cols = "".join(f", {_quoted(n)}" for n in values)
        relation = self._register(units)
        return f"SELECT __uid, {hash_of('__uid')} AS __h, __key, __run{cols} FROM {relation} WHERE {exclude('__uid')}"

    def _evaluate(self, keep: str, values: dict[str, str]) -> pa.Table:
        """In the sandbox: per complete unit passing `keep`, its id, key, run and each `values` expression."""
        reads = [unit_columns_read(e) for e in self._expressions(values)]
        run_cols, root_cols = (sorted(set().union(*(r[i] for r in reads))) for i in (0, 1))
        types = run_column_types()
        view = "".join(f", CAST(p.{_quoted(c)} AS {types[c]}) AS {_quoted(c)}" for c in run_cols)
        root = ", ".join(f"{_quoted(c)} := CAST(u.__root.{_quoted(c)} AS {types[c]})" for c in root_cols)
        exprs = "".join(f", (\n{sql}\n) AS {_quoted(name)}" for name, sql in values.items())
        try:
            self.box.execute(
                f"CREATE OR REPLACE VIEW runs AS SELECT {KEYS}{view}, {f'struct_pack({root})' if root else 'NULL'} "
                f"AS {ROOT} FROM __runs p JOIN __complete u USING ({KEYS})"
            )
            return self.box.sql(
                f"SELECT u.__uid, u.__key, u.__run{''.join(f', e.{_quoted(n)}' for n in values)} "
                f"FROM __complete u JOIN "
                f"(SELECT {KEYS}{exprs} FROM runs GROUP BY {KEYS}, {ROOT} HAVING (\n{keep}\n)) e USING ({KEYS})"
            ).to_arrow_table()
        except duckdb.Error as e:
            raise ConfigError(
                f"The queue's SQL failed on the {self.queue.unit} units: {str(e).splitlines()[0]}. Fix the "
                f"expression ({'; '.join(self._expressions(values))}), e.g. TRY_CAST instead of CAST."
            ) from None

    def close(self) -> None:
        """Unregister the relations on the warehouse connection and close the sandbox."""
        while self.registered:
            self.con.unregister(self.registered.pop())
        if self.box is not None:
            self.box.close()
            self.box = None


__all__ = ["UnitFrame", "complete_sql", "keyed_runs_sql", "orphans_sql", "roots_sql", "unit_key_sql", "unit_runs_sql"]
