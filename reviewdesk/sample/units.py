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
- the orphans, trace runs whose parent is not in their trace: one anti-join on one 64-bit hash of (parent id,
  trace key) against the same hash of (run id, trace key). An orphan goes unseen only if its hash equals that
  of some run: about N / 2^64 per orphan (5e-13 with 10M runs); usually there are none;
- the units' runs, with the unit key as two 64-bit hashes, of the key and of reverse(key) (a 128-bit key: two
  of 10M units share it with probability about 1e-25; cheaper to compute than a hash of '~' || key), the run's
  time, whether it is a root, and only the columns the queue's SQL reads;
- the root runs (parentless, or orphans), with the unit id and key they give and the columns root.<c> reads.
A sandbox takes these as Arrow. One pass there groups each unit's runs, each joined to its root's columns (the
struct `root`, exactly as `sqlcheck` bound it), and gives the unit summary (roots, newest run, complete) and the
queue's SQL (filter, strata, weights) at once; a trace of several roots gives a group per root, each with them
all, so it is never complete. That pass evaluates the SQL on every unit, complete or not: where it fails, the
complete units alone are evaluated, after a summary without it, so an error on a held unit changes nothing.
What it returns (unit id, the item's run and the values) is registered on the warehouse connection, and the
design draws from it there.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import duckdb

from reviewdesk.errors import ConfigError
from reviewdesk.stores.sandbox import memory_limit_of, sandbox
from reviewdesk.stores.sqlcheck import ROOT, run_column_types, unit_columns_read
from schemas.queue import QueueConfig

if TYPE_CHECKING:  # Arrow tables pass through; importing pyarrow costs a CLI run 0.1 s
    import pyarrow as pa

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
        FROM (SELECT rowid, hash(parent_run_id, {key}) AS __h FROM runs WHERE parent_run_id IS NOT NULL) c
        ANTI JOIN (SELECT hash(run_id, {key}) AS __h FROM runs) p USING (__h)"""


def _keyed(unit: str, select: str) -> str:
    """SELECT the unit key's hashes and `select` from the runs in a unit."""
    key = unit_key_sql(unit)
    return f"SELECT hash({key}) AS __k1, hash(reverse({key})) AS __k2, {select} FROM runs WHERE {key} IS NOT NULL"


def unit_runs_sql(unit: str, columns: list[str], orphans: str | None) -> str:
    """Per run in a unit: its unit key's hashes, its time (__t), whether it is a root (__root: no parent, or in
    the relation `orphans`) and `columns`."""
    root = "parent_run_id IS NULL" + (f" OR rowid IN (SELECT __orphan FROM {orphans})" if orphans else "")
    return _keyed(unit, f"coalesce(end_time, start_time) AS __t, {root} AS __root{_columns(columns)}")


def roots_sql(unit: str, columns: list[str], orphans: str | None) -> str:
    """Per root run: its unit key's hashes, the unit id it gives (__uid: the trace's root run id, the session id),
    the unit key itself (__key; for a trace, its root's rowid until `drawn.add_unit_keys`), `columns` and, for
    a session's turns (ordered by time), run_id and start_time."""
    key = unit_key_sql(unit)
    # a trace's key is read later for the drawn ones only (`drawn.add_unit_keys`): here its root's rowid stands for it
    uid, ref, ordered = ("run_id", "rowid", []) if unit == "trace" else (key, key, ["run_id", "start_time"])
    select = _keyed(unit, f"{uid} AS __uid, {ref} AS __key{_columns([*columns, *ordered])}")
    # one scan filtered on the parent, one on the few orphans' rowids: each reads its strings only where it keeps a row
    return f"{select} AND parent_run_id IS NULL" + (
        f" UNION ALL {select} AND rowid IN (SELECT __orphan FROM {orphans})" if orphans else ""
    )


def rooted_sql(unit: str, columns: list[str]) -> str:
    """In the sandbox, from `__roots`: per unit with a root, its key's hashes, __uid, __key, __run (the item's run)
    and its root's `columns`, cast as `sqlcheck` bound them, as the struct __root (the queue SQL's `root`; a trace's
    root, one row per root; a session's first turn)."""
    types = run_column_types()
    struct = "struct_pack(__z := 0" + "".join(f", {_quoted(c)} := CAST({_quoted(c)} AS {types[c]})" for c in columns)
    struct += ")"
    if unit == "trace":  # a complete trace has exactly one root: nothing to aggregate
        return f"SELECT {KEYS}, __uid, __key, __uid AS __run, {struct} AS __root FROM __roots"
    return f"""
        SELECT {KEYS}, any_value(__uid) AS __uid, any_value(__key) AS __key, arg_max(run_id, {ORDER}) AS __run,
               arg_min({struct}, {ORDER}) AS __root
        FROM __roots GROUP BY ALL"""


class UnitFrame:
    """A queue's trace or session units for one draw, in a sandbox (`close` closes it)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, queue: QueueConfig, now: datetime | None) -> None:
        self.con, self.queue = con, queue
        self.cutoff = (now or datetime.now(UTC)) - timedelta(minutes=queue.settle_minutes)
        self.registered: list[str] = []
        self.box: duckdb.DuckDBPyConnection | None = None
        self.summarised = False  # whether __units holds the unit summary

    def _arrow(self, sql: str) -> pa.Table:
        self.con.complete()  # a result the caller read with fetchone() is still open, and would refuse con.sql
        return self.con.sql(sql).to_arrow_table()

    def _register(self, table: pa.Table) -> str:
        name = f"__units_{next(_relations)}"
        self.con.register(name, table)
        self.registered.append(name)
        return name

    def build(self) -> None:
        """The units' runs and roots in a sandbox (with the columns the sampling SQL reads), and `__rooted`."""
        if self.box is not None:
            return
        s, unit = self.queue.sampling, self.queue.unit
        reads = [unit_columns_read(e) for e in [s.filter, *s.stratify_by, *(w.when for w in s.weights)]]
        run_cols, root_cols = (sorted(set().union(*(r[i] for r in reads))) for i in (0, 1))
        found = self._arrow(orphans_sql()) if unit == "trace" else None
        orphans = self._register(found) if found is not None and found.num_rows else None  # usually none: no join
        runs = self._arrow(unit_runs_sql(unit, run_cols, orphans))
        roots = self._arrow(roots_sql(unit, root_cols, orphans))
        self.box = sandbox(memory_limit_of(self.con))
        self.box.register("__runs", runs)
        self.box.register("__roots", roots)
        # read twice: a session's aggregation of its turns is kept as a table; a trace's is its roots as they are
        self.box.execute(f"CREATE {'VIEW' if unit == 'trace' else 'TABLE'} __rooted AS {rooted_sql(unit, root_cols)}")

    def _summarise(self, keep: str | None = None, values: dict[str, str] | None = None) -> None:
        """The table __units: per unit (per root, for a trace of several) whether it is complete and, given the
        queue's filter `keep`, whether it passes (__keep) and each `values` expression; without, the runs alone."""
        complete = "= 1" if self.queue.unit == "trace" else ">= 1"
        select = f"{KEYS}, count(*) FILTER (__root) {complete} AND coalesce(max(__t) < $cutoff, TRUE) AS __complete"
        if keep is None:
            query = f"SELECT {select} FROM __runs GROUP BY {KEYS}"
        else:
            values = {"__keep": keep, **(values or {})}
            self._runs_view(values)
            exprs = "".join(f", (\n{sql}\n) AS {_quoted(name)}" for name, sql in values.items())
            query = f"SELECT {select}{exprs} FROM runs GROUP BY {KEYS}, {ROOT}"
        self.box.execute(f"CREATE OR REPLACE TABLE __units AS {query}", {"cutoff": self.cutoff})
        self.summarised = True

    @property
    def held(self) -> int:
        """Units held back: spans still arriving (newer than the settle time), or not exactly one root."""
        self.build()
        if not self.summarised:
            self._summarise()
        sql = f"SELECT count(*) FROM (SELECT DISTINCT {KEYS} FROM __units WHERE NOT __complete)"
        return self.box.execute(sql).fetchone()[0]

    def select(self, hash_of: Callable[[str], str], exclude: Callable[[str], str], values: dict[str, str]) -> str:
        """SELECT __uid, __h, __key, __run and `values` by name, for the complete units passing the queue's filter;
        `hash_of(uid)` is the seeded hash of the SQL expression uid, `exclude(uid)` the condition a unit meets."""
        self.build()
        keep = self.queue.sampling.filter
        units = self._evaluate(None if keep.strip().upper() == "TRUE" and not values else keep, values)
        cols = "".join(f", {_quoted(n)}" for n in values)
        relation = self._register(units)
        return f"SELECT __uid, {hash_of('__uid')} AS __h, __key, __run{cols} FROM {relation} WHERE {exclude('__uid')}"

    def _evaluate(self, keep: str | None, values: dict[str, str]) -> pa.Table:
        """In the sandbox: per complete unit passing `keep` (None: no filter, no values), its id, key, run and each
        `values` expression."""
        if keep is None:
            self._summarise()
        else:
            try:
                self._summarise(keep, values)
            except duckdb.Error:  # on some unit, perhaps a held one: evaluate the complete units alone
                return self._evaluate_complete(keep, values)
        cols = "".join(f", u.{_quoted(n)}" for n in values)
        return self.box.sql(
            f"SELECT r.__uid, r.__key, r.__run{cols} FROM __units u JOIN __rooted r USING ({KEYS}) "
            f"WHERE u.__complete{'' if keep is None else ' AND u.__keep'}"
        ).to_arrow_table()

    def _evaluate_complete(self, keep: str, values: dict[str, str]) -> pa.Table:
        """As `_evaluate`, with the queue's SQL evaluated on the complete units only."""
        self._summarise()
        self.box.execute(
            f"CREATE OR REPLACE TABLE __complete AS SELECT * FROM __rooted "
            f"SEMI JOIN (SELECT {KEYS} FROM __units WHERE __complete) USING ({KEYS})"
        )
        exprs = "".join(f", (\n{sql}\n) AS {_quoted(name)}" for name, sql in values.items())
        try:
            self._runs_view({"__keep": keep, **values}, complete=True)
            return self.box.sql(
                f"SELECT u.__uid, u.__key, u.__run{''.join(f', e.{_quoted(n)}' for n in values)} "
                f"FROM __complete u JOIN "
                f"(SELECT {KEYS}{exprs} FROM runs GROUP BY {KEYS}, {ROOT} HAVING (\n{keep}\n)) e USING ({KEYS})"
            ).to_arrow_table()
        except duckdb.Error as e:
            raise ConfigError(
                f"The queue's SQL failed on the {self.queue.unit} units: {str(e).splitlines()[0]}. Fix the "
                f"expression ({'; '.join([keep, *values.values()])}), e.g. TRY_CAST instead of CAST."
            ) from None

    def _runs_view(self, values: dict[str, str], complete: bool = False) -> None:
        """The view `runs` the queue's SQL (`values`) reads: the runs (of the `complete` units only, or all) with
        their unit's root as `root` (joined only where the SQL reads root.<column>, or to keep the complete units),
        and the columns the SQL reads cast as `sqlcheck` bound them."""
        reads = [unit_columns_read(e) for e in values.values()]
        run_cols, root_cols = (sorted(set().union(*(r[i] for r in reads))) for i in (0, 1))
        types = run_column_types()
        view = "".join(f", CAST(p.{_quoted(c)} AS {types[c]}) AS {_quoted(c)}" for c in run_cols)
        join = "JOIN __complete" if complete else "LEFT JOIN __rooted" if root_cols else ""
        join = join and f"{join} u USING ({KEYS})"
        self.box.execute(
            f"CREATE OR REPLACE VIEW runs AS SELECT {KEYS}, p.__t, p.__root{view}, "
            f"{'u.__root' if root_cols else 'NULL'} AS {ROOT} FROM __runs p {join}"
        )

    def close(self) -> None:
        """Unregister the relations on the warehouse connection and close the sandbox."""
        while self.registered:
            self.con.unregister(self.registered.pop())
        if self.box is not None:
            self.box.close()
            self.box, self.summarised = None, False


__all__ = ["UnitFrame", "keyed_runs_sql", "orphans_sql", "rooted_sql", "roots_sql", "unit_key_sql", "unit_runs_sql"]
