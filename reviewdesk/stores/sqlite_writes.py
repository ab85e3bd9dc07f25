"""How writers of one SQLite review store take turns, and how their commits are made durable.

SQLite writers take the write lock when their transaction begins (`BEGIN IMMEDIATE` on a
connection with the `WRITE` option, see `ReviewStore.write`), so a writer waits for another one
(up to the busy timeout) instead of failing with "database is locked" when it would upgrade a read
lock mid-transaction. Before that, writers of one SQLite file queue on an `flock` of `<file>-writelock` (`write_gate`),
which wakes the next one as soon as the lock is free: SQLite's own busy handler polls with growing
sleeps and can starve one of many busy writers past the busy timeout.

A SQLite commit is made durable after the write lock is released, not under it: connections run
with `synchronous = NORMAL` (in WAL mode SQLite then does not fsync the WAL at each commit), and
`ReviewStore.write` fsyncs the WAL itself (`sync_wal`) once the gate is open again, before it
returns. A caller is told a write is done only once it is on disk, as with `synchronous = FULL`,
but the fsync (the largest part of a commit on a busy disk) no longer holds up every other writer,
and writers that finish together share one flush. Other connections may see a commit a moment
before it is durable; after a power cut, recovery keeps a prefix of the commits, never a later one
without an earlier one (the WAL's frames are chained by checksums), so the store stays consistent.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event

try:
    import fcntl
except ImportError:  # not POSIX: writers rely on SQLite's busy timeout alone
    fcntl = None  # type: ignore[assignment]

BUSY_TIMEOUT_MS = 5000
WRITE = "reviewdesk_write"  # execution option: begin SQLite transactions IMMEDIATE


class _Gate:
    """One process's handle on a store's write gate: a thread lock plus an flock on a side file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pid = os.getpid()
        self.lock = threading.RLock()
        self.depth = 0
        self.fd: int | None = None


_GATES: dict[str, _Gate] = {}
_GATES_LOCK = threading.Lock()


@contextmanager
def write_gate(path: str | None) -> Iterator[None]:
    """Serialise a SQLite file's writers in kernel order before they BEGIN IMMEDIATE.

    SQLite's busy handler polls with growing sleeps, so under many busy writers (8 reviewer
    processes in a loop) a sleeping one can lose every race for seconds and fail with "database
    is locked". A blocking `flock` on `<database>-writelock` instead wakes a waiter as soon as the
    lock is free. Threads of one process share one gate (an RLock: re-entering in one thread
    passes, and SQLite's busy timeout applies as before). Where flock is missing it is a no-op.
    """
    if path is None or fcntl is None:
        yield
        return
    with _GATES_LOCK:
        gate = _GATES.get(path)
        if gate is None or gate.pid != os.getpid():  # a forked child must not share the parent's lock
            gate = _GATES[path] = _Gate(path)
    with gate.lock:
        if gate.depth == 0:
            if gate.fd is None:
                gate.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            fcntl.flock(gate.fd, fcntl.LOCK_EX)
        gate.depth += 1
        try:
            yield
        finally:
            gate.depth -= 1
            if gate.depth == 0:
                fcntl.flock(gate.fd, fcntl.LOCK_UN)


def sync_wal(path: str) -> None:
    """Flush a SQLite file's WAL to disk, with every commit written to it so far (see the module doc)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:  # no WAL (not in WAL mode, or every commit checkpointed and synced)
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def configure(engine: Engine) -> None:
    """Set up a SQLite engine: WAL, busy timeout and foreign keys per connection; writes BEGIN IMMEDIATE."""
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)


def _on_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _on_begin)
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    mode = cur.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode == "wal":  # commits are synced by ReviewStore.write, outside the write lock
        cur.execute("PRAGMA synchronous = NORMAL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


def _on_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")


__all__ = ["BUSY_TIMEOUT_MS", "WRITE", "configure", "sync_wal", "write_gate"]
