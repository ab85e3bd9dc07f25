"""The review store's migrations: recorded, in order, each building its part of `review_schema`.

A migration creates the tables it introduces from the schema's `Table` objects (`checkfirst`), so
every migration must also be a no-op on a database that already has the newest shape: a later
migration that adds a column checks that the column is missing first. Never rename a migration:
its function name is its identity.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import JSON, Column, Connection, Table, inspect, select, text
from sqlalchemy.schema import CreateColumn, CreateIndex

from reviewdesk.stores.review_schema import (
    adjudications,
    batches,
    flag_resolutions,
    items,
    ix_items_batch_progress,
    ix_items_gold,
    ix_items_open_order,
    ix_items_queue_progress,
    ix_items_review_order,
    ix_submissions_collect_order,
    metadata,
    quality_reports,
    queue_grants,
    queues,
    reservations,
    reviewer_events,
    reviewer_states,
    rubrics,
    sessions,
    submissions,
    training_answers,
    users,
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


@migration
def m008_submission_txid(conn: Connection) -> None:
    _add_columns(conn, submissions, submissions.c.txid)  # older rows get 0: collect reads them first
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE submissions ALTER COLUMN txid SET DEFAULT pg_current_xact_id()::text::bigint"))
        conn.execute(CreateIndex(ix_submissions_collect_order, if_not_exists=True))


@migration
def m009_items_set_aside(conn: Connection) -> None:
    _add_columns(conn, items, items.c.set_aside_reason, items.c.set_aside_at)


@migration
def m010_submission_correction_json(conn: Connection) -> None:
    # Corrections were free text; now they are JSON values in the run's output shape. An older text
    # correction becomes the JSON string of that text, so nothing is read differently than it was written.
    if conn.dialect.name == "postgresql":
        kind = next(c["type"] for c in inspect(conn).get_columns("submissions") if c["name"] == "correction")
        if not isinstance(kind, JSON):
            conn.execute(text("ALTER TABLE submissions ALTER COLUMN correction TYPE JSON USING to_json(correction)"))
    else:  # SQLite keeps JSON as text: quote the old rows (a new store has none when this runs)
        conn.execute(text("UPDATE submissions SET correction = json_quote(correction) WHERE correction IS NOT NULL"))


@migration
def m011_submission_suggestion_outcomes(conn: Connection) -> None:
    _add_columns(conn, submissions, submissions.c.suggestion_outcomes)


@migration
def m012_grants_pauses_flag_resolutions(conn: Connection) -> None:
    """Grants replace the users' `queues` lists and the queues' `assignees` as the access rule: every
    reviewer keeps exactly the published queues they could review before, as grants."""
    metadata.create_all(conn, tables=[queue_grants, flag_resolutions], checkfirst=True)
    _add_columns(conn, queues, queues.c.paused_at, queues.c.paused_by)
    _add_columns(conn, adjudications, adjudications.c.product_issue)
    if "queues" not in {c["name"] for c in inspect(conn).get_columns(users.name)}:
        return  # a store made after m012
    now = datetime.now(UTC)
    old_users = conn.execute(text("SELECT name, queues FROM users WHERE role = 'reviewer'")).all()
    accounts = {name for (name,) in conn.execute(text("SELECT name FROM users"))}
    grants = []
    for name, config in conn.execute(select(queues.c.name, queues.c.config)).all():
        assignees = (config or {}).get("assignees") or []
        allowed = {a for a in assignees if a not in accounts}  # as the first publish grants them now
        for user, listed in old_users:
            listed = json.loads(listed) if isinstance(listed, str) else listed
            if (listed is None or name in listed) and (not assignees or user in assignees):
                allowed.add(user)
        grants += [{"queue": name, "reviewer": user, "granted_by": "migration", "granted_at": now} for user in allowed]
    if grants:
        conn.execute(queue_grants.insert(), grants)
    conn.execute(text("ALTER TABLE users DROP COLUMN queues"))


@migration
def m013_progress_indexes(conn: Connection) -> None:
    conn.execute(CreateIndex(ix_items_batch_progress, if_not_exists=True))
    conn.execute(CreateIndex(ix_items_queue_progress, if_not_exists=True))


@migration
def m014_reviewer_qualification(conn: Connection) -> None:
    metadata.create_all(conn, tables=[reviewer_states, reviewer_events, training_answers], checkfirst=True)
    conn.execute(CreateIndex(ix_items_gold, if_not_exists=True))


@migration
def m015_adjudication_steps(conn: Connection) -> None:
    _add_columns(conn, adjudications, adjudications.c.steps)  # older cases name their steps only in `why`


__all__ = ["MIGRATIONS", "Migration", "migration"]
