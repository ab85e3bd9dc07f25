"""A DuckDB sandbox for queue SQL: in memory, no file system, no network, its configuration locked.

Queue files hold SQL written by leads; `sqlcheck` admits only expressions built from an allow-list,
but queue SQL is still never run on the warehouse connection, which must read files to ingest
(and DuckDB will not turn `enable_external_access` back on once a database runs without it).
It runs in a sandbox instead: a fresh in-memory database whose external access is off and whose
configuration is locked, so even an expression the check missed cannot read a file or a
setting's path, reach the network, install or load an extension, attach a database, or turn any
of that back on. The sandbox starts empty: it holds only what it is given.
"""

from __future__ import annotations

import duckdb

SANDBOX_CONFIG = {
    "enable_external_access": False,  # no files, no network, no ATTACH, COPY, INSTALL or secrets
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def sandbox(memory_limit: str = "1GB") -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB that cannot reach files or the network, its configuration locked."""
    con = duckdb.connect(config=SANDBOX_CONFIG | {"memory_limit": memory_limit})
    con.execute("SET TimeZone = 'UTC'")  # as the warehouse, so timestamps cast and truncate alike
    con.execute("SET enable_progress_bar = false")  # as the warehouse: a long query would draw one into --json output
    con.execute("SET lock_configuration = true")  # last: nothing above can be changed from here on
    return con


def memory_limit_of(con: duckdb.DuckDBPyConnection) -> str:
    """The memory limit of `con` (the warehouse's), for a sandbox doing the warehouse's work: one setting,
    REVIEWDESK_MEMORY_LIMIT, then bounds both, as an out-of-memory error advises."""
    return con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]  # all: no result left open


__all__ = ["memory_limit_of", "sandbox"]
