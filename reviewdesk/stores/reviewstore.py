"""The review store: the only store the review app touches (see DESIGN.md, "Two stores").

SQLite in WAL mode by default, reached through SQLAlchemy Core; a PostgreSQL URL works as well,
so the code stays dialect-neutral: Core `Table` objects, `JSON` columns, and the one dialect
difference that matters here, insert-or-ignore, chosen by dialect name.

This module is the engine: opening and migrating a store, its read and write transactions (where a
fault of the disk, the file or the connection becomes a `StoreFault` that says what to do), the
dialect-neutral write statements and the common reads. The tables and migrations are in
`reviewdesk.stores.review_schema`; how SQLite writers take turns and make their commits durable
is in `reviewdesk.stores.sqlite_writes`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, create_engine, func, inspect, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, InterfaceError, OperationalError, SQLAlchemyError

from reviewdesk.errors import ConfigError, StoreFault, StoreUnavailable
from reviewdesk.stores.review_migrations import MIGRATIONS
from reviewdesk.stores.review_schema import batches, items, migrations, queue_grants, queues, rubrics
from reviewdesk.stores.sqlite_writes import WRITE, configure, sync_wal, write_gate
from schemas.queue import QueueConfig

DIALECTS = ("sqlite", "postgresql")


class JSONText(str):
    """A JSON document already serialized (e.g. built by DuckDB): JSON columns store it as it is."""


def _json_dumps(value: Any) -> str:
    return str(value) if isinstance(value, JSONText) else json.dumps(value, ensure_ascii=False)


def canonical(value: Any) -> Any:
    """Comparable form of a column value: JSON documents compare by content, not key order."""
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


# What to do about a store fault, by words in the driver's message; the first match wins.
_ADVICE = (
    (("full", "too large", "no space"), "Free some disk space, then try again."),
    (("disk i/o",), "Check the disk: it may be full or failing. Free some space, then try again."),
    (("not a database", "malformed", "corrupt"), "The file is damaged: restore it from a backup, or move it "
                                                 "away to start an empty store, then try again."),
    (("readonly", "read-only"), "Make the store's file and folder writable, then try again."),
)  # fmt: skip
_OPEN_ADVICE = ("Check the URL (REVIEWDESK_REVIEW_STORE_URL or --data-dir), that its folder is writable, "
                "or that the database server is up, then try again.")  # fmt: skip
_ADVICE_ELSE = "Check that the database server is up and reachable, then try again."


def _reason(e: BaseException) -> str:
    """The driver's own first line (without SQLAlchemy's SQL and links), else the error's type."""
    text = str(getattr(e, "orig", None) or e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _advice(reason: str, otherwise: str) -> str:
    lowered = reason.lower()
    return next((advice for words, advice in _ADVICE if any(w in lowered for w in words)), otherwise)


def _is_fault(e: SQLAlchemyError) -> bool:
    """A fault of the disk, the file or the connection; constraint and SQL errors are bugs or conflicts instead."""
    return isinstance(e, OperationalError | InterfaceError) or type(e) is DatabaseError


class ReviewStore:
    """The review store at a SQLAlchemy URL; opening it creates (SQLite) and migrates it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._statements: dict[tuple, Any] = {}  # built once: see replace_stmt
        self._rubrics: dict[tuple[str, str], dict] = {}  # read once: see rubric
        try:
            parsed = make_url(url)
            if parsed.get_backend_name() not in DIALECTS:
                raise ConfigError(
                    f"The review store URL {_safe_url(url)} is {parsed.get_backend_name()}; "
                    "use a sqlite:/// or postgresql:// URL (REVIEWDESK_REVIEW_STORE_URL)."
                )
            if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(parsed, json_serializer=_json_dumps)
            self._lock_path: str | None = None
            self._wal_path: str | None = None
            if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
                self._lock_path = str(Path(parsed.database).resolve()) + "-writelock"
                self._wal_path = str(Path(parsed.database).resolve()) + "-wal"
            if self.engine.dialect.name == "sqlite":
                configure(self.engine)
                self._reader = self.engine
            else:
                self._reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
            self.migrate()
        except ConfigError:
            raise
        except (SQLAlchemyError, StoreFault, OSError, ImportError, ValueError) as e:
            if hasattr(self, "engine"):
                self.engine.dispose()
            cause = e.__cause__ if isinstance(e, StoreFault) else e
            reason = _reason(cause)
            raise StoreUnavailable(
                f"Cannot open the review store {_safe_url(url)}: {reason}. {_advice(reason, _OPEN_ADVICE)}"
            ) from cause

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # -- transactions -----------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed at the end of the block, rolled back on an error.

        On SQLite it takes the write lock up front (BEGIN IMMEDIATE), waiting for other writers.
        A file database is first gated by `write_gate`, so busy writers take turns fairly; its
        commit is flushed to disk after the gate is released and before this returns (`sync_wal`).
        """
        with self._faults(), write_gate(self._lock_path), self.engine.connect() as conn:
            conn.execution_options(**{WRITE: True})
            with conn.begin():
                yield conn
        if self._wal_path is not None:
            sync_wal(self._wal_path)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction: on SQLite one consistent snapshot for the block.

        On PostgreSQL each statement reads what was committed when it started, as in the READ COMMITTED
        transaction this was before, but without one: no BEGIN and COMMIT round trips around a lookup.
        """
        with self._faults(), self._reader.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _faults(self) -> Iterator[None]:
        """Raise a fault of the block's store work (disk full, damaged file, lost connection) as a `StoreFault`
        that names this store and says what to do; every transaction runs in it. Other errors pass unchanged."""
        try:
            yield
        except (DatabaseError, InterfaceError) as e:
            if not _is_fault(e):
                raise
            reason = _reason(e)
            raise StoreFault(
                f"The review store {_safe_url(self.url)} failed: {reason}. {_advice(reason, _ADVICE_ELSE)}"
            ) from e

    # -- schema -----------------------------------------------------------------------------

    def applied(self) -> list[str]:
        """Names of migrations recorded in this store."""
        with self.read() as conn:
            return list(conn.scalars(select(migrations.c.name).order_by(migrations.c.applied_at, migrations.c.name)))

    def pending(self) -> list[str]:
        """Names of registered migrations not yet applied (read-only)."""
        with self.read() as conn:
            if not inspect(conn).has_table(migrations.name):
                return list(MIGRATIONS)
            done = set(conn.scalars(select(migrations.c.name)))
        return [name for name in MIGRATIONS if name not in done]

    def migrate(self) -> list[str]:
        """Apply pending migrations in order, all in one transaction; return what was applied.

        An up-to-date store is only read, so opening one never waits for the write lock.
        """
        if not self.pending():
            return []
        with self.write() as conn:  # check again under the lock: another process may have migrated
            if self.dialect == "postgresql":  # serialise concurrent first opens
                conn.execute(text("SELECT pg_advisory_xact_lock(74657601)"))
            migrations.create(conn, checkfirst=True)
            done = set(conn.scalars(select(migrations.c.name)))
            todo = [name for name in MIGRATIONS if name not in done]
            for name in todo:
                MIGRATIONS[name](conn)
                conn.execute(migrations.insert().values(name=name, applied_at=datetime.now(UTC)))
        return todo

    # -- writes -----------------------------------------------------------------------------

    def insert_ignore(self, conn: Connection, table: Table, rows: list[Mapping[str, Any]]) -> None:
        """Insert rows in one executemany; rows whose key already exists are left as they are."""
        if not rows:
            return
        conn.execute(self.insert_ignore_stmt(table), rows)

    def refresh_statistics(self, table: Table) -> None:
        """Tell PostgreSQL's planner about rows just written in bulk (a publish). Until autovacuum gets to
        them it may plan the reviewers' item walk as a scan of the whole table: measured, 110 ms a Submit
        on 5,000 fresh items against 1 ms once analysed. SQLite plans without statistics: nothing to do."""
        if self.dialect == "postgresql":
            with self.write() as conn:
                conn.exec_driver_sql(f"ANALYZE {table.name}")

    def insert_rows(self, conn: Connection, table: Table, columns: tuple[str, ...], rows: Sequence[tuple]) -> int:
        """Insert-or-ignore rows of `columns` in one executemany of the driver itself; return how many were new.

        SQLAlchemy does no work per row here, so values must be as the driver takes them: JSON as
        text, times as `driver_value` gives them.
        """
        if not rows:
            return 0
        key = ("rows", table.name, columns)
        if (sql := self._statements.get(key)) is None:
            if self.dialect == "postgresql":  # psycopg sends text: cast each value to its column's type
                types = [table.c[c].type.compile(self.engine.dialect) for c in columns]
                marks = ", ".join(f"CAST(%s AS {t})" for t in types)
            else:
                marks = ", ".join("?" for _ in columns)
            sql = self._statements[key] = (
                f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT DO NOTHING"
            )
        return conn.exec_driver_sql(sql, list(rows)).rowcount

    def driver_value(self, table: Table, column: str, value: Any) -> Any:
        """`value` as the driver takes it for `table.column` (what SQLAlchemy would bind), for `insert_rows`."""
        dialect = self.engine.dialect
        process = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
        return process(value) if process else value

    def upsert_stmt(self, table: Table, row: Mapping[str, Any]) -> Any:
        """An INSERT of `row` that, when its primary key exists, overwrites that row's other columns."""
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        stmt = dialect.insert(table).values(**row)
        keys = [c.name for c in table.primary_key.columns]
        return stmt.on_conflict_do_update(index_elements=keys, set_={k: stmt.excluded[k] for k in row if k not in keys})

    def replace_stmt(self, table: Table, columns: tuple[str, ...]) -> Any:
        """An INSERT taking its row as execute parameters that, when the row's primary key exists,
        overwrites `columns` of that row instead. Built once per table and columns (hot paths run it
        under the write lock, where building a statement anew costs more than running it)."""
        key = ("replace", table.name, columns)
        if (stmt := self._statements.get(key)) is None:
            insert = (postgresql if self.dialect == "postgresql" else sqlite).insert(table)
            keys = list(table.primary_key.columns)
            stmt = insert.on_conflict_do_update(index_elements=keys, set_={c: insert.excluded[c] for c in columns})
            self._statements[key] = stmt
        return stmt

    def insert_ignore_stmt(self, table: Table) -> Any:
        """An INSERT into `table` that skips a row conflicting with any unique key (rowcount 0)."""
        key = ("insert_ignore", table.name)
        if (stmt := self._statements.get(key)) is None:
            dialect = postgresql if self.dialect == "postgresql" else sqlite
            stmt = self._statements[key] = dialect.insert(table).on_conflict_do_nothing()
        return stmt

    def save_queue(self, conn: Connection, queue: QueueConfig, now: datetime | None = None) -> bool:
        """Upsert the queue's row and record its rubric version; return whether anything changed.

        An unchanged queue is left untouched (its `updated_at` too), so saving is idempotent. The first
        save of a queue grants it to the `assignees` its file names; after that only leads and admins
        (`reviewdesk.review.access`) change who may review it.
        """
        now = now or datetime.now(UTC)
        row = {
            "name": queue.name,
            "kind": queue.kind,
            "description": queue.description,
            "config": queue.model_dump(mode="json"),
            "rubric_version": queue.rubric_version,
            "reservation_minutes": queue.reservation_minutes,
            "suggestions": queue.suggestions,
        }
        existing = conn.execute(select(queues).where(queues.c.name == queue.name)).mappings().first()
        changed = False
        if existing is None:
            self.insert_ignore(conn, queues, [{**row, "updated_at": now}])
            self.insert_ignore(conn, queue_grants, [{"queue": queue.name, "reviewer": name, "granted_by": "queue file",
                                                     "granted_at": now} for name in queue.assignees])  # fmt: skip
            changed = True
        elif any(canonical(existing[k]) != canonical(v) for k, v in row.items()):
            conn.execute(queues.update().where(queues.c.name == queue.name).values(**row, updated_at=now))
            changed = True
        if self.rubric(queue.name, queue.rubric_version, conn) is None:
            rubric = queue.rubric.model_dump(mode="json")
            self.insert_ignore(conn, rubrics, [{"queue": queue.name, "version": queue.rubric_version,
                                                "rubric": rubric, "created_at": now}])  # fmt: skip
            changed = True
        return changed

    # -- reads: each opens its own read transaction, or runs in `conn` when given one ------------

    @contextmanager
    def _reading(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self.read() as own:
                yield own

    def queue(self, name: str, conn: Connection | None = None) -> dict | None:
        """The queue's row (its `config` as a dict), or None if it was never published."""
        with self._reading(conn) as c:
            row = c.execute(select(queues).where(queues.c.name == name)).mappings().first()
        return dict(row) if row else None

    def rubric(self, queue: str, version: str, conn: Connection | None = None) -> dict | None:
        """One rubric version of a queue (instructions and criteria), or None.

        A version, once committed, never changes (`save_queue` only adds new ones), so one read outside a
        caller's transaction is kept: the review app asks for it on every Submit. Callers get their own copy."""
        if (known := self._rubrics.get((queue, version))) is None:
            with self._reading(conn) as c:
                known = c.scalar(select(rubrics.c.rubric).where(rubrics.c.queue == queue, rubrics.c.version == version))
            if known is None:
                return None
            if conn is None:
                self._rubrics[queue, version] = known
        return copy.deepcopy(known)

    def batch(self, batch_id: str, conn: Connection | None = None) -> dict | None:
        """A published batch's row, or None."""
        with self._reading(conn) as c:
            row = c.execute(select(batches).where(batches.c.batch_id == batch_id)).mappings().first()
        return dict(row) if row else None

    def items(self, queue: str, batch_id: str | None = None, conn: Connection | None = None) -> list[dict]:
        """The queue's items (or one batch's), oldest batch first, in sample order."""
        query = select(items).where(items.c.queue == queue)
        if batch_id is not None:
            query = query.where(items.c.batch_id == batch_id)
        query = query.order_by(items.c.published_at, items.c.batch_id, items.c.position, items.c.item_id)
        with self._reading(conn) as c:
            return [dict(r) for r in c.execute(query).mappings()]

    def count_items(self, queue: str, batch_id: str | None = None, conn: Connection | None = None) -> int:
        """How many items the queue (or one of its batches) has."""
        query = select(func.count()).select_from(items).where(items.c.queue == queue)
        if batch_id is not None:
            query = query.where(items.c.batch_id == batch_id)
        with self._reading(conn) as c:
            return c.scalar(query) or 0

    def published_counts(self, conn: Connection | None = None) -> dict[str, int]:
        """Items published per queue, for every queue the store knows."""
        query = (
            select(queues.c.name, func.count(items.c.item_id))
            .select_from(queues.outerjoin(items, items.c.queue == queues.c.name))
            .group_by(queues.c.name)
            .order_by(queues.c.name)
        )
        with self._reading(conn) as c:
            return {name: n for name, n in c.execute(query)}

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> ReviewStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()



__all__ = ["JSONText", "ReviewStore", "canonical"]
