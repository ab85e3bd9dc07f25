"""Trace and session units as SQL: one row per complete unit, its queue SQL evaluated per unit in the sandbox.

A trace is the runs of one `coalesce(trace_id, run_id)`; its roots are its runs whose parent is not
among them (or NULL), and it is complete with exactly one. A session is the runs of one `session_id`;
its turns are its runs without a parent, and it needs at least one. Either is complete once its newest
run (`coalesce(end_time, start_time)`) is older than `now - settle_minutes` (a unit with no time at all
counts as settled); the others are held back and counted (`held`). A unit's id (`items.unit_id`) is the
trace's root run id or the session id; its item's run is the trace's root, or the session's last turn.

Whether a trace run's parent is in its trace is one anti-join on 64-bit hashes of the run ids and trace
keys, about 5x cheaper than on the strings (two ids would have to collide, within one trace, to err).
The unit summary is built once per draw into a temporary table; the queue's SQL (filter, strata,
weights) is evaluated in the sandbox over the unit's runs (only the columns it reads), grouped by unit,
with the root run's columns as the struct `root`, exactly as `sqlcheck` bound it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta

import duckdb

from reviewdesk.errors import ConfigError
from reviewdesk.stores.sandbox import sandbox
from reviewdesk.stores.sqlcheck import ROOT, run_column_types, unit_columns_read
from schemas.queue import QueueConfig

_tables = itertools.count()
ORDER = "(start_time, run_id)"  # a unit's runs in time order, ties by id


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def unit_runs_sql(unit: str) -> str:
    """The runs of trace or session units, with the unit key `__u` (runs outside any unit left out)."""
    key = "coalesce(trace_id, run_id)" if unit == "trace" else "session_id"
    return f"SELECT *, {key} AS __u FROM runs WHERE {key} IS NOT NULL"


def summary_sql(unit: str, root_columns: list[str]) -> str:
    """Per unit, in one pass over its runs: __u, __uid (unit_id), __run (the item's run), __roots, __newest and
    the root's columns as the struct __root (a trace's, when it has exactly one; a session's first turn)."""
    root = ", ".join(["__z := 0", *(f"{_quoted(c)} := any_value({_quoted(c)}) FILTER (__is_root)" for c in root_columns)])
    if unit == "trace":  # a run is a root if its parent is not in its trace: one LEFT JOIN on hashes of the ids
        runs = f"""
            SELECT c.*, c.parent_run_id IS NULL OR p.__h IS NULL AS __is_root FROM ({unit_runs_sql(unit)}) c
            LEFT JOIN (SELECT hash(run_id) AS __h, hash(__u) AS __hu FROM ({unit_runs_sql(unit)})) p
            ON p.__h = hash(c.parent_run_id) AND p.__hu = hash(c.__u)"""
        # only a trace with exactly one root is sampled: no order is needed to pick it
        uid, run, root = "min(run_id) FILTER (__is_root)", "__uid", f"struct_pack({root})"
    else:
        runs = f"SELECT *, parent_run_id IS NULL AS __is_root FROM ({unit_runs_sql(unit)})"
        cols = "".join(f", {_quoted(c)}" for c in root_columns)
        uid, run = "__u", f"arg_max(run_id, {ORDER}) FILTER (__is_root)"
        root = f"arg_min(struct_pack(__z := 0{cols}), {ORDER}) FILTER (__is_root)"
    return f"""
        SELECT __u, {uid} AS __uid, {run} AS __run, count(*) FILTER (__is_root) AS __roots,
               max(coalesce(end_time, start_time)) AS __newest, {root} AS __root
        FROM ({runs}) GROUP BY __u"""


class UnitFrame:
    """A queue's trace or session units on the warehouse connection, for one draw (`close` drops them)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, queue: QueueConfig, now: datetime | None) -> None:
        self.con, self.queue = con, queue
        self.cutoff = (now or datetime.now(UTC)) - timedelta(minutes=queue.settle_minutes)
        self.table = f"__units_{next(_tables)}"
        self.registered: list[str] = []
        self.built = False
        self.hashed = True  # units are keyed by hash(__u) in the sandbox, unless two units' hashes collide

    def _expressions(self, values: dict[str, str]) -> list[str]:
        return [self.queue.sampling.filter, *values.values()]

    def build(self) -> None:
        """The unit summary as a temporary table, with the root columns any of the queue's sampling SQL reads."""
        if self.built:
            return
        s = self.queue.sampling
        sampling_sql = [s.filter, *s.stratify_by, *(w.when for w in s.weights)]
        roots = sorted(set().union(*(unit_columns_read(e)[1] for e in sampling_sql)))
        complete = "__roots = 1" if self.queue.unit == "trace" else "__roots >= 1"
        self.con.execute(
            f"CREATE TEMPORARY TABLE {self.table} AS SELECT *, ({complete} AND coalesce(__newest < $cutoff, TRUE))"
            f" AS __complete FROM ({summary_sql(self.queue.unit, roots)})",
            {"cutoff": self.cutoff},
        )
        self.built = True
        self.hashed = self.con.execute(f"SELECT count(DISTINCT hash(__u)) = count(*) FROM {self.table}").fetchone()[0]

    def _key(self, u: str) -> str:
        """SQL for the key of the unit whose `__u` is the SQL `u`: its 64-bit hash, cheap to ship, join and group."""
        return f"hash({u})" if self.hashed else u

    @property
    def held(self) -> int:
        """Units held back: spans still arriving (newer than the settle time), or not exactly one root."""
        self.build()
        return self.con.execute(f"SELECT count(*) FROM {self.table} WHERE NOT __complete").fetchone()[0]

    def select(self, hash_of: Callable[[str], str], exclude: Callable[[str], str], values: dict[str, str]) -> str:
        """SELECT __uid, __h, __run and `values` by name, for the complete units passing the queue's filter;
        `hash_of(uid)` is the seeded hash of the SQL expression uid, `exclude(uid)` the condition a unit meets."""
        self.build()
        keep = self.queue.sampling.filter
        base = f"SELECT t.__uid, {hash_of('t.__uid')} AS __h, t.__run"
        where = f"WHERE t.__complete AND {exclude('t.__uid')}"
        if keep.strip().upper() == "TRUE" and not values:
            return f"{base} FROM {self.table} t {where}"
        relation = f"__unit_sql_{next(_tables)}"
        self.con.register(relation, self._evaluate(keep, values))
        self.registered.append(relation)
        cols = "".join(f", e.{_quoted(n)} AS {_quoted(n)}" for n in values)
        return f"{base}{cols} FROM {self.table} t JOIN {relation} e ON e.__k = {self._key('t.__u')} {where}"

    def _evaluate(self, keep: str, values: dict[str, str]):
        """In the sandbox: per complete unit passing `keep`, its key and each `values` expression."""
        reads = [unit_columns_read(e) for e in self._expressions(values)]
        run_cols = sorted(set().union(*(r[0] for r in reads)))
        root_cols = sorted(set().union(*(r[1] for r in reads)))
        types = run_column_types()
        self.con.complete()
        per_run = self.con.sql(
            f"SELECT {self._key('__u')} AS __k{''.join(', ' + _quoted(c) for c in run_cols)} "
            f"FROM ({unit_runs_sql(self.queue.unit)})"
        ).to_arrow_table()
        picked = "".join(f", __root.{_quoted(c)} AS {_quoted('__r_' + c)}" for c in root_cols)
        roots = self.con.sql(f"SELECT {self._key('__u')} AS __k{picked} FROM {self.table} WHERE __complete")
        roots = roots.to_arrow_table()
        view = "".join(f", CAST(p.{_quoted(c)} AS {types[c]}) AS {_quoted(c)}" for c in run_cols)
        root = ", ".join(f"{_quoted(c)} := CAST(r.{_quoted('__r_' + c)} AS {types[c]})" for c in root_cols)
        exprs = "".join(f", (\n{sql}\n) AS {_quoted(name)}" for name, sql in values.items())
        try:
            with closing(sandbox()) as box:
                box.register("__per_run", per_run)
                box.register("__roots", roots)
                box.execute(
                    f"CREATE VIEW runs AS SELECT p.__k AS __unit{view}, "
                    f"{f'struct_pack({root})' if root else 'NULL'} AS {ROOT} "
                    "FROM __per_run p JOIN __roots r USING (__k)"
                )
                return box.sql(
                    f"SELECT __unit AS __k{exprs} FROM runs GROUP BY __unit, {ROOT} HAVING (\n{keep}\n)"
                ).to_arrow_table()
        except duckdb.Error as e:
            raise ConfigError(
                f"The queue's SQL failed on the {self.queue.unit} units: {str(e).splitlines()[0]}. Fix the "
                f"expression ({'; '.join(self._expressions(values))}), e.g. TRY_CAST instead of CAST."
            ) from None

    def close(self) -> None:
        """Drop the summary table and unregister the evaluated relations."""
        while self.registered:
            self.con.unregister(self.registered.pop())
        if self.built:
            self.con.execute(f"DROP TABLE IF EXISTS {self.table}")
            self.built = False


__all__ = ["UnitFrame", "summary_sql", "unit_runs_sql"]
