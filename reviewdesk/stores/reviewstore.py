"""The review store: the only store the review app touches (see DESIGN.md, "Two stores").

SQLite in WAL mode by default, reached through SQLAlchemy Core; a PostgreSQL URL works as well,
so the code stays dialect-neutral: Core `Table` objects, `JSON` columns, and the one dialect
difference that matters here, insert-or-ignore, chosen by dialect name.

The schema is built by recorded migrations, as in the warehouse. A migration creates the tables it
introduces from the `Table` objects below (`checkfirst`), so every migration must also be a no-op
on a database that already has the newest shape: a later migration that adds a column checks
that the column is missing first. Never rename a migration: its function name is its identity.

SQLite writers take the write lock when their transaction begins (`BEGIN IMMEDIATE`, see
`ReviewStore.write`), so a writer waits for another one (up to the busy timeout) instead of
failing with "database is locked" when it would upgrade a read lock mid-transaction. Before
that, writers of one SQLite file queue on an `flock` of `<file>-writelock` (`_write_gate`), which
wakes the next one as soon as the lock is free: SQLite's own busy handler polls with growing
sleeps and can starve one of many busy writers past the busy timeout.

A SQLite commit is made durable after the write lock is released, not under it: connections run
with `synchronous = NORMAL` (in WAL mode SQLite then does not fsync the WAL at each commit), and
`ReviewStore.write` fsyncs the WAL itself once the gate is open again, before it returns. A caller
is told a write is done only once it is on disk, as with `synchronous = FULL`, but the fsync (the
largest part of a commit on a busy disk) no longer holds up every other writer, and writers that
finish together share one flush. Other connections may see a commit a moment before it is
durable; after a power cut, recovery keeps a prefix of the commits, never a later one without an
earlier one (the WAL's frames are chained by checksums), so the store stays consistent.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    inspect,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.schema import CreateColumn, CreateIndex
from sqlalchemy.types import TypeDecorator

from reviewdesk.errors import ConfigError

try:
    import fcntl
except ImportError:  # not POSIX: writers rely on SQLite's busy timeout alone
    fcntl = None  # type: ignore[assignment]
from schemas.queue import QueueConfig

BUSY_TIMEOUT_MS = 5000
DIALECTS = ("sqlite", "postgresql")
_WRITE = "reviewdesk_write"  # execution option: begin SQLite transactions IMMEDIATE


class JSONText(str):
    """A JSON document already serialized (e.g. built by DuckDB): JSON columns store it as it is."""


def _json_dumps(value: Any) -> str:
    return str(value) if isinstance(value, JSONText) else json.dumps(value, ensure_ascii=False)


class Timestamp(TypeDecorator):
    """A point in time, stored as UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware one, e.g. datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

migrations = Table(
    "migrations",
    metadata,
    Column("name", String, primary_key=True),
    Column("applied_at", Timestamp, nullable=False),
)

queues = Table(
    "queues",
    metadata,
    Column("name", String, primary_key=True),
    Column("kind", String, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("config", JSON, nullable=False),  # the whole QueueConfig, as its YAML says it
    Column("rubric_version", String, nullable=False),  # the current one; items keep their own
    Column("reservation_minutes", Integer, nullable=False),
    Column("suggestions", String, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

# One row per rubric version (a content hash): editing a rubric adds a row, old ones stay for
# the items and labels tied to them.
rubrics = Table(
    "rubrics",
    metadata,
    Column("queue", String, ForeignKey("queues.name"), primary_key=True),
    Column("version", String, primary_key=True),
    Column("rubric", JSON, nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

batches = Table(
    "batches",
    metadata,
    Column("batch_id", String, primary_key=True),
    Column("queue", String, ForeignKey("queues.name"), nullable=False),
    Column("rubric_version", String, nullable=False),
    Column("strategy", String, nullable=False),
    Column("seed", BigInteger, nullable=False),
    Column("size", Integer, nullable=False),  # asked for
    Column("item_count", Integer, nullable=False),  # drawn
    Column("published_at", Timestamp, nullable=False),
    ForeignKeyConstraint(["queue", "rubric_version"], ["rubrics.queue", "rubrics.version"]),
)

# `payload` holds all the app renders, so it never reads the warehouse:
# {"runs": {run_id: {run_id, trace_id, ..., inputs, outputs, tags, metadata, user_feedback}}},
# one run for a single item, two for a pairwise one (`left_run_id` is shown on the left).
items = Table(
    "items",
    metadata,
    Column("item_id", String, primary_key=True),
    Column("batch_id", String, ForeignKey("batches.batch_id"), nullable=False),
    Column("queue", String, ForeignKey("queues.name"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("kind", String, nullable=False),
    Column("run_id", String),
    Column("run_a", String),
    Column("run_b", String),
    Column("left_run_id", String),
    Column("rubric_version", String, nullable=False),
    Column("inclusion_probability", Float),  # NULL for gold items, which are outside the sample
    Column("is_gold", Boolean, nullable=False, default=False),
    Column("gold_answer", JSON(none_as_null=True)),  # never shown to reviewers
    Column("reviewers_needed", Integer, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("published_at", Timestamp, nullable=False),
    # m002: review order (higher first, NULL counts as 0) and distinct reviewers who submitted,
    # kept by `reviews.submit` so `next_item` never counts submissions over the whole queue.
    Column("priority", Float),
    Column("reviews_done", Integer, nullable=False, default=0, server_default=text("0")),
    # m003: model pre-scores, {criterion: {value, confidence, model_version}}; shown per the
    # queue's `suggestions` policy only (`reviews.next_item` withholds them otherwise).
    Column("suggestions", JSON(none_as_null=True)),
    Index("ix_items_queue_position", "queue", "position"),
    Index("ix_items_batch_id", "batch_id"),
)
# The order `next_item` walks a queue in; an expression index, so the walk needs no sort.
ITEM_ORDER = (func.coalesce(items.c.priority, literal_column("0")).desc(), items.c.position, items.c.item_id)
ix_items_review_order = Index("ix_items_review_order", items.c.queue, *ITEM_ORDER)  # m002; m007 drops it
# m007: the same walk over the items that still need reviews only (a partial index). An item leaves
# it once it has all its reviews, so `next_item` never steps over the finished part of a queue, and
# its cost stays flat as the queue fills up (with the full index it grew with every finished item).
ITEM_OPEN = items.c.reviews_done < items.c.reviewers_needed
ix_items_open_order = Index(
    "ix_items_open_order", items.c.queue, *ITEM_ORDER, sqlite_where=ITEM_OPEN, postgresql_where=ITEM_OPEN
)

# Accounts. `queues` NULL: the reviewer may review any queue whose `assignees` allow it.
users = Table(
    "users",
    metadata,
    Column("name", String, primary_key=True),
    Column("role", String, nullable=False),  # reviewer | lead | admin
    Column("queues", JSON(none_as_null=True)),
    Column("password_hash", String, nullable=False),  # scrypt$n$r$p$salt$hash, never the password
    Column("disabled", Boolean, nullable=False, default=False),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", Timestamp),
    Column("created_at", Timestamp, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token", String, primary_key=True),
    Column("user", String, ForeignKey("users.name"), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("last_seen", Timestamp, nullable=False),
    Index("ix_sessions_user", "user"),
)

# An item held for one reviewer until `expires_at`; expired rows are ignored, then cleaned up.
reservations = Table(
    "reservations",
    metadata,
    Column("item_id", String, ForeignKey("items.item_id"), primary_key=True),
    Column("reviewer", String, primary_key=True),
    Column("reserved_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Index("ix_reservations_reviewer", "reviewer", "expires_at"),
    Index("ix_reservations_expires_at", "expires_at"),
)

# What a reviewer sent, exactly as sent. An edit is a new revision; no row is ever updated.
submissions = Table(
    "submissions",
    metadata,
    Column("submission_id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", String, ForeignKey("items.item_id"), nullable=False),
    Column("reviewer", String, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("answers", JSON, nullable=False),
    Column("comment", Text),
    Column("correction", Text),
    Column("flags", JSON, nullable=False),
    Column("suggestion_shown", Boolean, nullable=False),
    Column("rubric_version", String, nullable=False),
    Column("shown_at", Timestamp),
    Column("submitted_at", Timestamp, nullable=False),
    UniqueConstraint("item_id", "reviewer", "revision", name="uq_submissions_item_reviewer_revision"),
    Index("ix_submissions_reviewer", "reviewer"),
    sqlite_autoincrement=True,  # ids never reused: collect reads submissions after a watermark
)

# A disputed item x criterion waiting for a lead (`decided_at` NULL), or the lead's final answer.
adjudications = Table(
    "adjudications",
    metadata,
    Column("item_id", String, ForeignKey("items.item_id"), primary_key=True),
    Column("criterion", String, primary_key=True),
    Column("queue", String, ForeignKey("queues.name"), nullable=False),
    Column("why", Text, nullable=False),  # the disagreement that opened it
    Column("opened_at", Timestamp, nullable=False),
    Column("value", JSON(none_as_null=True)),
    Column("reason", Text),
    Column("decided_by", String),
    Column("decided_at", Timestamp),
    Index("ix_adjudications_queue", "queue", "decided_at"),
)

# Quality reports computed by the flows from the warehouse, kept here for the app's dashboard.
quality_reports = Table(
    "quality_reports",
    metadata,
    Column("report_id", Integer, primary_key=True, autoincrement=True),
    Column("queue", String, ForeignKey("queues.name"), nullable=False),
    Column("computed_at", Timestamp, nullable=False),
    Column("report", JSON, nullable=False),
    Index("ix_quality_reports_queue", "queue", "computed_at"),
)

Migration = Callable[[Connection], None]
MIGRATIONS: dict[str, Migration] = {}


def migration(fn: Migration) -> Migration:
    """Register a migration; its function name is its recorded identity, so never rename one."""
    MIGRATIONS[fn.__name__] = fn
    return fn


@migration
def m001_queues_rubrics_batches_items(conn: Connection) -> None:
    metadata.create_all(conn, tables=[queues, rubrics, batches, items], checkfirst=True)


def _add_columns(conn: Connection, table: Table, *columns: Column) -> None:
    """Add the columns a store made by an older version lacks (a new store has them from m001)."""
    present = {c["name"] for c in inspect(conn).get_columns(table.name)}
    for column in columns:
        if column.name not in present:
            ddl = CreateColumn(column).compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {ddl}"))


@migration
def m002_users_reservations_submissions(conn: Connection) -> None:
    _add_columns(conn, items, items.c.priority, items.c.reviews_done)
    conn.execute(CreateIndex(ix_items_review_order, if_not_exists=True))  # expressions are not reflected
    metadata.create_all(conn, tables=[users, sessions, reservations, submissions], checkfirst=True)


@migration
def m003_item_suggestions(conn: Connection) -> None:
    _add_columns(conn, items, items.c.suggestions)


@migration
def m005_adjudications(conn: Connection) -> None:
    metadata.create_all(conn, tables=[adjudications], checkfirst=True)


@migration
def m006_quality_reports(conn: Connection) -> None:
    metadata.create_all(conn, tables=[quality_reports], checkfirst=True)


@migration
def m007_open_items_index(conn: Connection) -> None:  # first named m006_open_items_index: idempotent, reruns
    conn.execute(CreateIndex(ix_items_open_order, if_not_exists=True))
    conn.execute(text(f"DROP INDEX IF EXISTS {ix_items_review_order.name}"))  # only the walk used it


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


class ReviewStore:
    """The review store at a SQLAlchemy URL; opening it creates (SQLite) and migrates it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._statements: dict[tuple, Any] = {}  # built once: see replace_stmt
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
                event.listen(self.engine, "connect", _sqlite_connect)
                event.listen(self.engine, "begin", _sqlite_begin)
            self.migrate()
        except ConfigError:
            raise
        except (SQLAlchemyError, OSError, ImportError, ValueError) as e:
            if hasattr(self, "engine"):
                self.engine.dispose()
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ConfigError(
                f"Cannot open the review store {_safe_url(url)}: {reason}. Check the URL "
                "(REVIEWDESK_REVIEW_STORE_URL or --data-dir), that its folder is writable, "
                "or that the database server is up, then try again."
            ) from e

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # -- transactions -----------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed at the end of the block, rolled back on an error.

        On SQLite it takes the write lock up front (BEGIN IMMEDIATE), waiting for other writers.
        A file database is first gated by `_write_gate`, so busy writers take turns fairly; its
        commit is flushed to disk after the gate is released and before this returns (`_sync_wal`).
        """
        with _write_gate(self._lock_path), self.engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn
        if self._wal_path is not None:
            _sync_wal(self._wal_path)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction: one consistent snapshot for the block."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

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

        An unchanged queue is left untouched (its `updated_at` too), so saving is idempotent.
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
            changed = True
        elif any(_canonical(existing[k]) != _canonical(v) for k, v in row.items()):
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
        """One rubric version of a queue (instructions and criteria), or None."""
        with self._reading(conn) as c:
            return c.scalar(select(rubrics.c.rubric).where(rubrics.c.queue == queue, rubrics.c.version == version))

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


def _canonical(value: Any) -> Any:
    """Comparable form of a column value: JSON documents compare by content, not key order."""
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


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
def _write_gate(path: str | None) -> Iterator[None]:
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


def _sync_wal(path: str) -> None:
    """Flush a SQLite file's WAL to disk, with every commit written to it so far (see the module doc)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:  # no WAL (not in WAL mode, or every commit checkpointed and synced)
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _sqlite_begin)
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    mode = cur.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode == "wal":  # commits are synced by ReviewStore.write, outside the write lock
        cur.execute("PRAGMA synchronous = NORMAL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


__all__ = [
    "MIGRATIONS",
    "JSONText",
    "ReviewStore",
    "batches",
    "items",
    "metadata",
    "migration",
    "queues",
    "reservations",
    "rubrics",
    "sessions",
    "submissions",
    "users",
]
