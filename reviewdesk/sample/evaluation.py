"""Queue SQL evaluated in the sandbox, over the distinct values of the runs columns it reads.

Queue SQL never runs on the warehouse connection, which can read files (ingest needs it to). The
warehouse hands the sandbox (reviewdesk.stores.sandbox: in memory, no files, no network, settings
locked) only the distinct combinations of the runs columns the expressions read
(`sqlcheck.columns_read`, which refuses any expression that is not allowed). The sandbox evaluates
the expressions there, and their values come back as a relation registered on the warehouse
connection, which joins it to `runs` on those columns. Allowed expressions are deterministic
functions of the columns they read (no clock, randomness, settings or other tables), so this
equals evaluating them run by run. The cost is one pass over those columns plus a join: small
when they take few values (project, status, model, ...); an expression over run_id or the
inputs ships one row per run to the sandbox and back.
"""

from __future__ import annotations

from contextlib import closing
from typing import TYPE_CHECKING

import duckdb

from reviewdesk.errors import ConfigError
from reviewdesk.stores.sandbox import memory_limit_of, sandbox
from reviewdesk.stores.sqlcheck import columns_read, run_column_types

if TYPE_CHECKING:  # Arrow tables pass through; importing pyarrow costs a CLI run 0.1 s
    import pyarrow as pa


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def in_sandbox(distinct: pa.Table, columns: list[str], keep: str, values: dict[str, str],
               memory_limit: str = "1GB") -> pa.Table:  # fmt: skip
    """In a fresh sandbox (of `memory_limit`), over the rows of `distinct` (the runs `columns`) where `keep` holds:
    each row's columns (as __v0, __v1, ...) and each `values` expression under its name."""
    types = run_column_types()
    view = ", ".join(f"CAST({_quoted(c)} AS {types[c]}) AS {_quoted(c)}" for c in columns) or "__one"
    keys = [f"{_quoted(c)} AS __v{i}" for i, c in enumerate(columns)]
    # Each expression on lines of its own: nothing around it can fall into a comment or string of it.
    exprs = [f"(\n{sql}\n) AS {_quoted(name)}" for name, sql in values.items()]
    with closing(sandbox(memory_limit)) as box:
        box.register("__distinct", distinct)
        box.execute(f"CREATE VIEW runs AS SELECT {view} FROM __distinct")
        select = ", ".join(["TRUE AS __kept", *keys, *exprs])
        return box.sql(f"SELECT {select} FROM runs WHERE (\n{keep}\n)").to_arrow_table()


def evaluate(con: duckdb.DuckDBPyConnection, relation: str, keep: str, values: dict[str, str]) -> str:
    """Register `relation` on `con`: the `values` expressions per combination of the runs columns read,
    kept where the condition `keep` holds; return the condition that joins `runs` to it."""
    columns = sorted(set().union(*(columns_read(sql) for sql in [keep, *values.values()])))
    read = ", ".join(map(_quoted, columns)) or "1 AS __one"
    con.complete()  # a result the caller read with fetchone() is still open, and would refuse con.sql
    distinct = con.sql(f"SELECT DISTINCT {read} FROM runs").to_arrow_table()
    try:
        evaluated = in_sandbox(distinct, columns, keep, values, memory_limit_of(con))
    except duckdb.Error as e:  # a CAST that fails on some run, an lpad past the memory limit, ...
        raise ConfigError(
            f"The queue's SQL failed on the runs: {str(e).splitlines()[0]}. Fix the expression "
            f"({'; '.join([keep, *values.values()])}), e.g. TRY_CAST instead of CAST."
        ) from None
    con.register(relation, evaluated)
    on = [f"runs.{_quoted(c)} IS NOT DISTINCT FROM {relation}.__v{i}" for i, c in enumerate(columns)]
    return " AND ".join(on) or "TRUE"


__all__ = ["evaluate", "in_sandbox"]
