"""The DuckDB warehouse: connection handling, recorded idempotent schema migrations, and what its faults
(a full disk, a damaged file, too little memory) mean to a user.

Only flows and the CLI open it; DuckDB lets one process hold the file read-write, so the review
app never touches it (see DESIGN.md, "Two stores").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import duckdb

from reviewdesk.errors import StoreFault, StoreUnavailable, WarehouseLocked

Migration = Callable[[duckdb.DuckDBPyConnection], None]
MIGRATIONS: dict[str, Migration] = {}


def migration(fn: Migration) -> Migration:
    """Register a migration; its function name is its recorded identity, so never rename one."""
    MIGRATIONS[fn.__name__] = fn
    return fn


RUN_COLUMNS = """
    run_id            VARCHAR NOT NULL,
    trace_id          VARCHAR,
    parent_run_id     VARCHAR,
    session_id        VARCHAR,
    project           VARCHAR,
    name              VARCHAR,
    run_type          VARCHAR,
    model             VARCHAR,
    start_time        TIMESTAMPTZ,
    end_time          TIMESTAMPTZ,
    latency_ms        DOUBLE,
    prompt_tokens     BIGINT,
    completion_tokens BIGINT,
    total_tokens      BIGINT,
    cost_usd          DOUBLE,
    status            VARCHAR NOT NULL,
    error             VARCHAR,
    inputs            JSON,
    outputs           JSON,
    tags              VARCHAR[],
    metadata          JSON,
    user_feedback     DOUBLE,
    source_format     VARCHAR NOT NULL,
    ingested_at       TIMESTAMPTZ NOT NULL
"""


@migration
def m001_runs_and_ingests(con: duckdb.DuckDBPyConnection) -> None:
    # run_id uniqueness is kept by ingestion (anti-join under DuckDB's single-writer lock):
    # an ART index on a million UUIDs costs more than the rest of an ingest together.
    con.execute(f"CREATE TABLE runs ({RUN_COLUMNS})")
    con.execute(
        """CREATE TABLE ingests (
            ingest_id VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, source_format VARCHAR NOT NULL,
            started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ,
            read BIGINT, inserted BIGINT, duplicates BIGINT, rejected BIGINT)"""
    )
    con.execute(
        """CREATE TABLE quarantine (
            ingest_id VARCHAR NOT NULL, source VARCHAR NOT NULL, source_format VARCHAR NOT NULL,
            line_no BIGINT, locator VARCHAR NOT NULL, raw BLOB, reason VARCHAR NOT NULL,
            quarantined_at TIMESTAMPTZ NOT NULL)"""
    )


@migration
def m002_batches_and_items(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """CREATE TABLE batches (
            batch_id VARCHAR PRIMARY KEY, queue VARCHAR NOT NULL, kind VARCHAR NOT NULL,
            strategy VARCHAR NOT NULL, seed BIGINT NOT NULL, params JSON NOT NULL,
            rubric_version VARCHAR NOT NULL, population BIGINT NOT NULL, size BIGINT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL, published_at TIMESTAMPTZ)"""
    )
    # One row per item: a run (single) or two runs (pairwise, `left_run_id` is shown left).
    # Gold items are outside the probability sample: their inclusion_probability is NULL.
    con.execute(
        """CREATE TABLE items (
            item_id VARCHAR PRIMARY KEY, batch_id VARCHAR NOT NULL, queue VARCHAR NOT NULL,
            position INTEGER NOT NULL, run_id VARCHAR, run_a VARCHAR, run_b VARCHAR, left_run_id VARCHAR,
            stratum VARCHAR, inclusion_probability DOUBLE, is_gold BOOLEAN NOT NULL DEFAULT false,
            gold_answer JSON, reviewers_needed INTEGER NOT NULL DEFAULT 1)"""
    )


@migration
def m003_collected_submissions_and_labels(con: duckdb.DuckDBPyConnection) -> None:
    # Valid submissions as collected (comments, corrections, flags), one row per revision.
    con.execute(
        """CREATE TABLE submissions (
            submission_id BIGINT PRIMARY KEY, item_id VARCHAR NOT NULL, queue VARCHAR NOT NULL,
            reviewer VARCHAR NOT NULL, revision INTEGER NOT NULL, rubric_version VARCHAR NOT NULL,
            answers JSON NOT NULL, comment VARCHAR, correction VARCHAR, flags JSON NOT NULL,
            suggestion_shown BOOLEAN NOT NULL, shown_at TIMESTAMPTZ, submitted_at TIMESTAMPTZ NOT NULL,
            collected_at TIMESTAMPTZ NOT NULL)"""
    )
    # The current label per item x reviewer x criterion: a later valid revision replaces it.
    # `value` is the answer as text; `value_num` the number for numeric, ordinal-number and boolean answers.
    con.execute(
        """CREATE TABLE labels (
            item_id VARCHAR NOT NULL, queue VARCHAR NOT NULL, reviewer VARCHAR NOT NULL, criterion VARCHAR NOT NULL,
            value VARCHAR, value_num DOUBLE, submission_id BIGINT NOT NULL, revision INTEGER NOT NULL,
            rubric_version VARCHAR NOT NULL, suggestion_shown BOOLEAN NOT NULL, submitted_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (item_id, reviewer, criterion))"""
    )
    con.execute(
        """CREATE TABLE rejected_submissions (
            submission_id BIGINT PRIMARY KEY, item_id VARCHAR NOT NULL, queue VARCHAR NOT NULL,
            reviewer VARCHAR NOT NULL, revision INTEGER NOT NULL, rubric_version VARCHAR NOT NULL,
            answers JSON, reasons VARCHAR[] NOT NULL, submitted_at TIMESTAMPTZ NOT NULL,
            collected_at TIMESTAMPTZ NOT NULL)"""
    )
    # How far collect has read the review store's submissions (ids are never reused).
    con.execute(
        """CREATE TABLE collect_state (
            source VARCHAR PRIMARY KEY, watermark BIGINT NOT NULL, updated_at TIMESTAMPTZ NOT NULL)"""
    )


@migration
def m004_consensus(con: duckdb.DuckDBPyConnection) -> None:
    # The resolved value per item x criterion (see reviewdesk.labels.consensus); rebuilt per queue by resolve.
    con.execute(
        """CREATE TABLE consensus (
            item_id VARCHAR NOT NULL, queue VARCHAR NOT NULL, criterion VARCHAR NOT NULL,
            value VARCHAR, value_num DOUBLE, method VARCHAR NOT NULL, confidence DOUBLE NOT NULL,
            reviewers INTEGER NOT NULL, agreeing INTEGER NOT NULL, resolved_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (item_id, criterion))"""
    )


@migration
def m005_agreement(con: duckdb.DuckDBPyConnection) -> None:
    # The latest agreement figures per queue (batch_id NULL: over all its labels), rebuilt by each report.
    con.execute(
        """CREATE TABLE agreement (
            queue VARCHAR NOT NULL, batch_id VARCHAR, criterion VARCHAR NOT NULL, coefficient VARCHAR NOT NULL,
            value DOUBLE, ci_low DOUBLE, ci_high DOUBLE, n_items BIGINT, n_raters BIGINT,
            computed_at TIMESTAMPTZ NOT NULL)"""
    )


@migration
def m006_dataset_versions(con: duckdb.DuckDBPyConnection) -> None:
    # One row per dataset version written under data/datasets/<name>/v<N>/ (see reviewdesk.datasets.versioning);
    # manifest_sha256 vouches for the manifest, which holds the file hashes and the lineage.
    con.execute(
        """CREATE TABLE dataset_versions (
            name VARCHAR NOT NULL, version INTEGER NOT NULL, kind VARCHAR NOT NULL, content_hash VARCHAR NOT NULL,
            manifest_sha256 VARCHAR NOT NULL, rows BIGINT NOT NULL, train_rows BIGINT NOT NULL,
            test_rows BIGINT NOT NULL, parent_version INTEGER, queues VARCHAR[] NOT NULL, path VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (name, version))"""
    )


@migration
def m010_suggestions(con: duckdb.DuckDBPyConnection) -> None:
    # A scorer's pre-score per item x criterion (see reviewdesk.prescore.run): `value` as JSON, so an ordinal
    # 4 stays a number; replaced when a batch is pre-scored again, except for items already under review.
    con.execute(
        """CREATE TABLE suggestions (
            item_id VARCHAR NOT NULL, batch_id VARCHAR NOT NULL, queue VARCHAR NOT NULL, criterion VARCHAR NOT NULL,
            value JSON NOT NULL, confidence DOUBLE NOT NULL, model_version VARCHAR NOT NULL, scorer VARCHAR NOT NULL,
            scored_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (item_id, criterion))"""
    )


@migration
def m011_models(con: duckdb.DuckDBPyConnection) -> None:
    # The model registry (see reviewdesk.prescore.trained): one row per trained version under data/models/<queue>/
    # <criterion>/v<N>/; `fingerprint` is the training set's, so retraining on the same labels is a no-op.
    con.execute(
        """CREATE TABLE models (
            queue VARCHAR NOT NULL, criterion VARCHAR NOT NULL, version INTEGER NOT NULL,
            model_version VARCHAR NOT NULL, path VARCHAR NOT NULL, sha256 VARCHAR NOT NULL,
            fingerprint VARCHAR NOT NULL, n_train BIGINT NOT NULL,
            label_distribution JSON NOT NULL, metrics JSON NOT NULL, beats_baseline BOOLEAN NOT NULL,
            train_seconds DOUBLE NOT NULL, trained_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (queue, criterion, version))"""
    )


@migration
def m012_collect_state_txid(con: duckdb.DuckDBPyConnection) -> None:
    # Collect's position is (txid, watermark): the review store's PostgreSQL transaction id and submission
    # id of the last submission read (txid 0 on SQLite, where ids alone are in commit order).
    con.execute("ALTER TABLE collect_state ADD COLUMN txid BIGINT NOT NULL DEFAULT 0")


@migration
def m013_submission_correction_json_and_flag_only(con: duckdb.DuckDBPyConnection) -> None:
    # Corrections are JSON values in the run's output shape (older text ones become JSON strings), and a
    # flag-only submission (a flag instead of ratings: no labels) is marked, so it is counted apart.
    con.execute("ALTER TABLE submissions ALTER correction TYPE JSON USING to_json(correction)")
    con.execute("ALTER TABLE submissions ADD COLUMN flag_only BOOLEAN NOT NULL DEFAULT false")


@migration
def m014_inbox(con: duckdb.DuckDBPyConnection) -> None:
    # The inbox ingests each file once: by name and content hash. GenAI instrumentations may send a span's
    # messages as log records; they wait in span_messages until their span's run is there to take them.
    con.execute("ALTER TABLE ingests ADD COLUMN content_sha256 VARCHAR")
    con.execute(
        """CREATE TABLE span_messages (
            span_id VARCHAR NOT NULL, trace_id VARCHAR, inputs JSON, outputs JSON,
            ingest_id VARCHAR NOT NULL, received_at TIMESTAMPTZ NOT NULL)"""
    )


@migration
def m015_pulls(con: duckdb.DuckDBPyConnection) -> None:
    # How far each pull from a tracing server has read (see reviewdesk.ingest.phoenix): the server's own cursor
    # of the last span ingested, advanced in the same transaction as the runs it brought.
    con.execute(
        """CREATE TABLE pulls (
            source VARCHAR PRIMARY KEY, cursor VARCHAR NOT NULL, spans BIGINT NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL)"""
    )


@migration
def m016_feedback_pushes(con: duckdb.DuckDBPyConnection) -> None:
    # One row per verdict pushed to a tracing tool (see reviewdesk.feedback.delivery): `value_hash` is what was
    # last tried, `sent_hash` what the target holds (NULL until a send succeeds), so a rerun sends only changes.
    con.execute(
        """CREATE TABLE feedback_pushes (
            target VARCHAR NOT NULL, feedback_id VARCHAR NOT NULL, queue VARCHAR NOT NULL, item_id VARCHAR NOT NULL,
            criterion VARCHAR NOT NULL, run_id VARCHAR NOT NULL, value_hash VARCHAR NOT NULL, sent_hash VARCHAR,
            status VARCHAR NOT NULL, attempts INTEGER NOT NULL, last_error VARCHAR, first_attempt_at TIMESTAMPTZ,
            updated_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (target, feedback_id))"""
    )


@migration
def m017_suggestion_reasons_and_outcomes(con: duckdb.DuckDBPyConnection) -> None:
    # A scorer's short why, shown beside its suggestion (NULL where it gives none); and what the reviewer did
    # with each suggestion shown pre-selected (reviewdesk.review.suggestions: accepted, changed or left), per
    # submission as {criterion: outcome} and per label; NULL where no suggestion was pre-selected.
    con.execute("ALTER TABLE suggestions ADD COLUMN reason VARCHAR")
    con.execute("ALTER TABLE submissions ADD COLUMN suggestion_outcomes JSON")
    con.execute("ALTER TABLE labels ADD COLUMN suggestion_outcome VARCHAR")



@migration
def m018_item_units(con: duckdb.DuckDBPyConnection) -> None:
    # What an item reviews: 'run' (one run, or a pair), 'trace' (a root run and its descendants) or 'session'
    # (every run of one session_id); `unit_id` is the trace's root run id or the session id (NULL for runs).
    con.execute("ALTER TABLE items ADD COLUMN unit VARCHAR NOT NULL DEFAULT 'run'")
    con.execute("ALTER TABLE items ADD COLUMN unit_id VARCHAR")


def _keyed_by_step(con: duckdb.DuckDBPyConnection, table: str, key: list[str]) -> None:
    """Rebuild `table` with a `step_run_id` column in its primary key ('' for an answer about the whole item):
    DuckDB cannot alter a primary key in place."""
    cols = con.execute(f"SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                       f"WHERE table_name = '{table}' ORDER BY ordinal_position").fetchall()  # fmt: skip
    defs = ", ".join(f"{n} {t}{'' if nullable == 'YES' else ' NOT NULL'}" for n, t, nullable in cols)
    names = ", ".join(n for n, _, _ in cols)
    con.execute(f"CREATE TABLE {table}__new ({defs}, step_run_id VARCHAR NOT NULL DEFAULT '', "
                f"PRIMARY KEY ({', '.join(key)}, step_run_id))")  # fmt: skip
    con.execute(f"INSERT INTO {table}__new ({names}) SELECT {names} FROM {table}")
    con.execute(f"DROP TABLE {table}")
    con.execute(f"ALTER TABLE {table}__new RENAME TO {table}")


@migration
def m019_step_labels(con: duckdb.DuckDBPyConnection) -> None:
    # A per-step criterion (trace and session items) is answered once per step: its labels and consensus
    # keep the step's run id; '' is an answer about the whole item, as every label before this was.
    _keyed_by_step(con, "labels", ["item_id", "reviewer", "criterion"])
    _keyed_by_step(con, "consensus", ["item_id", "criterion"])


@migration
def m020_item_unit_keys(con: duckdb.DuckDBPyConnection) -> None:
    # The key every run of a trace or session item's unit shares (`reviewdesk.sample.units.unit_key_sql`: a trace's
    # coalesce(trace_id, run_id), the session id), as the draw found it, so publish reads the unit's runs by it
    # without looking up the root by run id. NULL for run items and for items drawn before this migration.
    con.execute("ALTER TABLE items ADD COLUMN unit_key VARCHAR")


@migration
def m021_item_unit_windows(con: duckdb.DuckDBPyConnection) -> None:
    # The window (min, max start_time) a unit item's runs started in when drawn (`sample.drawn.add_unit_keys`):
    # publish reads them within it. NULL for run items, units without times and items drawn before: read whole.
    con.execute("ALTER TABLE items ADD COLUMN unit_first_start TIMESTAMPTZ")
    con.execute("ALTER TABLE items ADD COLUMN unit_last_start TIMESTAMPTZ")


# Faults of the disk, the file or the process's memory; other DuckDB errors are bugs (or user SQL, checked earlier).
_FAULTS = (duckdb.OperationalError, duckdb.FatalException)


def _fault(e: duckdb.Error, path: Path | None, opening: bool = False) -> StoreFault:
    """What a DuckDB fault (`_FAULTS`) means to a user, as a domain error that says what to do."""
    reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    lowered = reason.lower()
    if "could not set lock" in lowered:
        return WarehouseLocked(
            f"The warehouse {path} is open in another process. "
            "Stop that process (a running flow or CLI command) and try again."
        )
    if isinstance(e, duckdb.OutOfMemoryException):
        advice = "Give it more memory (REVIEWDESK_MEMORY_LIMIT, e.g. 4GB) or free some, then try again."
    elif "not a valid duckdb" in lowered or "corrupt" in lowered or "checksum" in lowered:
        advice = ("The file is damaged: restore it from a backup, or move it away and rebuild it "
                  "(`reviewdesk init`, then ingest and sample again).")  # fmt: skip
    else:
        advice = "Free some disk space (or check the disk), then run the command again: it is safe to rerun."
    where = path or "(in memory)"
    what = f"Cannot open the warehouse {where}" if opening else f"The warehouse {where} failed"
    return (StoreUnavailable if opening else StoreFault)(f"{what}: {reason}. {advice}")


class Warehouse:
    """A DuckDB warehouse at a path (created on first use) or in memory when path is None.

    Use it in a `with` block: a fault of the disk or the file raised in the block leaves it as a
    `StoreFault` (see `_fault`), so every command and flow reports one the same way.
    """

    def __init__(self, path: Path | str | None = None, memory_limit: str = "1GB") -> None:
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(self.path) if self.path else ":memory:")
        except _FAULTS as e:
            raise _fault(e, self.path, opening=True) from e
        try:
            self.execute(f"SET memory_limit = '{memory_limit}'")
            self.execute("SET TimeZone = 'UTC'")  # naive timestamps in logs (LangSmith's) are UTC
            self.execute("SET enable_progress_bar = false")  # it would write into --json output
            self.migrate()
        except _FAULTS as e:
            self.con.close()
            raise _fault(e, self.path, opening=True) from e

    def execute(self, sql: str, params: Any = None) -> list[tuple]:
        """Run one statement to completion and return its rows."""
        return self.con.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Any = None) -> Any:
        """Run a query that yields one value."""
        rows = self.execute(sql, params)
        return rows[0][0] if rows else None

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Commit the block's writes together, or none of them."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            with suppress(duckdb.Error):  # after a fault the rollback may fail too: report the first error
                self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def applied(self) -> list[str]:
        """Names of migrations already recorded in this warehouse."""
        return [r[0] for r in self.execute("SELECT name FROM _migrations ORDER BY applied_at, name")]

    def pending(self) -> list[str]:
        """Names of registered migrations not yet applied (read-only)."""
        exists = self.scalar("SELECT count(*) FROM duckdb_tables() WHERE table_name = '_migrations' AND NOT temporary")
        done = set(self.applied()) if exists else set()
        return [name for name in MIGRATIONS if name not in done]

    def migrate(self) -> list[str]:
        """Apply pending migrations in order, each in its own transaction; return what was applied."""
        self.execute("CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ)")
        todo = self.pending()
        for name in todo:
            with self.transaction() as con:
                MIGRATIONS[name](con)
                con.execute("INSERT INTO _migrations VALUES (?, now())", [name])
        return todo

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self.close()
        if isinstance(exc, _FAULTS):
            raise _fault(exc, self.path) from exc
