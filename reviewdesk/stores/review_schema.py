"""The review store's schema: its tables, as SQLAlchemy Core `Table` objects.

Kept apart from the engine (`reviewdesk.stores.reviewstore`) so a reader finds every table and
column in one place, and callers import the tables they query from here. The migrations that
build them are in `reviewdesk.stores.review_migrations`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
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
    func,
    literal_column,
    text,
)
from sqlalchemy.types import TypeDecorator


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


def _table(name: str, *parts: Any, **options: Any) -> Table:
    """A table of the review store's schema."""
    return Table(name, metadata, *parts, **options)


def _at(name: str, required: bool = True) -> Column:
    """A point in time (`Timestamp`), NOT NULL unless not `required`."""
    return Column(name, Timestamp, nullable=not required)


migrations = _table(
    "migrations",
    Column("name", String, primary_key=True),
    _at("applied_at"),
)

queues = _table(
    "queues",
    Column("name", String, primary_key=True),
    Column("kind", String, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("config", JSON, nullable=False),  # the whole QueueConfig, as its YAML says it
    Column("rubric_version", String, nullable=False),  # the current one; items keep their own
    Column("reservation_minutes", Integer, nullable=False),
    Column("suggestions", String, nullable=False),
    _at("updated_at"),
    # m012: a lead or admin paused the queue from the app: it publishes nothing and hands out no items.
    _at("paused_at", required=False),
    Column("paused_by", String),
)

# One row per rubric version (a content hash): editing a rubric adds a row, old ones stay for
# the items and labels tied to them.
rubrics = _table(
    "rubrics",
    Column("queue", String, ForeignKey("queues.name"), primary_key=True),
    Column("version", String, primary_key=True),
    Column("rubric", JSON, nullable=False),
    _at("created_at"),
)

batches = _table(
    "batches",
    Column("batch_id", String, primary_key=True),
    Column("queue", String, ForeignKey("queues.name"), nullable=False),
    Column("rubric_version", String, nullable=False),
    Column("strategy", String, nullable=False),
    Column("seed", BigInteger, nullable=False),
    Column("size", Integer, nullable=False),  # asked for
    Column("item_count", Integer, nullable=False),  # drawn
    _at("published_at"),
    ForeignKeyConstraint(["queue", "rubric_version"], ["rubrics.queue", "rubrics.version"]),
)

# `payload` holds all the app renders, so it never reads the warehouse:
# {"runs": {run_id: {run_id, trace_id, ..., inputs, outputs, tags, metadata, user_feedback}}},
# one run for a single item, two for a pairwise one (`left_run_id` is shown on the left).
items = _table(
    "items",
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
    _at("published_at"),
    # m002: review order (higher first, NULL counts as 0) and distinct reviewers who submitted,
    # kept by `submit` so `next_item` never counts submissions over the whole queue.
    Column("priority", Float),
    Column("reviews_done", Integer, nullable=False, default=0, server_default=text("0")),
    # m003: model pre-scores, {criterion: {value, confidence, model_version}}; shown per the
    # queue's `suggestions` policy only (`next_item` withholds them otherwise).
    Column("suggestions", JSON(none_as_null=True)),
    # m009: an item whose payload cannot be read is set aside, with the reason for leads to see;
    # `next_item` passes over it, so one bad item never blocks a queue.
    Column("set_aside_reason", Text),
    _at("set_aside_at", required=False),
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
# m013: the review screen's progress row (reviews done and needed per batch and per queue) read from
# the index alone: with the rows and their payloads, 100,000 items took 0.4-0.8 s to sum.
ix_items_batch_progress = Index("ix_items_batch_progress", items.c.batch_id, items.c.reviewers_needed,
                                items.c.reviews_done)  # fmt: skip
ix_items_queue_progress = Index("ix_items_queue_progress", items.c.queue, items.c.reviewers_needed,
                                items.c.reviews_done)  # fmt: skip

# Accounts. Which queues a reviewer may review is in `queue_grants` (m012 turned the old `queues` column into grants).
users = _table(
    "users",
    Column("name", String, primary_key=True),
    Column("role", String, nullable=False),  # reviewer | lead | admin
    Column("password_hash", String, nullable=False),  # scrypt$n$r$p$salt$hash, never the password
    Column("disabled", Boolean, nullable=False, default=False),
    Column("failed_logins", Integer, nullable=False, default=0),
    _at("locked_until", required=False),
    _at("created_at"),
)

sessions = _table(
    "sessions",
    Column("token", String, primary_key=True),
    Column("user", String, ForeignKey("users.name"), nullable=False),
    _at("created_at"),
    _at("last_seen"),
    Index("ix_sessions_user", "user"),
)

# An item held for one reviewer until `expires_at`; expired rows are ignored, then cleaned up.
reservations = _table(
    "reservations",
    Column("item_id", String, ForeignKey("items.item_id"), primary_key=True),
    Column("reviewer", String, primary_key=True),
    _at("reserved_at"),
    _at("expires_at"),
    Index("ix_reservations_reviewer", "reviewer", "expires_at"),
    Index("ix_reservations_expires_at", "expires_at"),
)

# What a reviewer sent, exactly as sent. An edit is a new revision; no row is ever updated.
submissions = _table(
    "submissions",
    Column("submission_id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", String, ForeignKey("items.item_id"), nullable=False),
    Column("reviewer", String, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("answers", JSON, nullable=False),
    Column("comment", Text),
    # m010: the reviewer's corrected output, in the run's own output shape (JSON; text before m010).
    Column("correction", JSON(none_as_null=True)),
    Column("flags", JSON, nullable=False),
    Column("suggestion_shown", Boolean, nullable=False),
    Column("rubric_version", String, nullable=False),
    _at("shown_at", required=False),
    _at("submitted_at"),
    # m008: on PostgreSQL the transaction that wrote the row (its `pg_current_xact_id()`, the column's
    # default there), so collect reads in an order no later commit can fall behind; 0 on SQLite and
    # for rows written before m008. See reviewdesk.labels.collection.
    Column("txid", BigInteger, nullable=False, server_default=text("0")),
    # m011: {criterion: accepted | changed | left} for each suggestion the form pre-selected (see
    # schemas.suggestions); NULL when none was.
    Column("suggestion_outcomes", JSON(none_as_null=True)),
    UniqueConstraint("item_id", "reviewer", "revision", name="uq_submissions_item_reviewer_revision"),
    Index("ix_submissions_reviewer", "reviewer"),
    sqlite_autoincrement=True,  # ids never reused: collect reads submissions after a watermark
)
# m008: collect's read order on PostgreSQL (on SQLite it reads in id order, the primary key).
ix_submissions_collect_order = Index(
    "ix_submissions_collect_order", submissions.c.txid, submissions.c.submission_id
).ddl_if(dialect="postgresql")

# A disputed item x criterion waiting for a lead (`decided_at` NULL), or the lead's final answer.
adjudications = _table(
    "adjudications",
    Column("item_id", String, ForeignKey("items.item_id"), primary_key=True),
    Column("criterion", String, primary_key=True),
    Column("queue", String, ForeignKey("queues.name"), nullable=False),
    Column("why", Text, nullable=False),  # the disagreement that opened it
    _at("opened_at"),
    Column("value", JSON(none_as_null=True)),
    Column("reason", Text),
    Column("decided_by", String),
    _at("decided_at", required=False),
    # m012: the lead ticked "route to product owners": the decision goes to the product-issues report.
    Column("product_issue", Boolean, nullable=False, default=False, server_default=text("false")),
    # m015: a per-step criterion's case: the run ids of the steps in dispute (null for a whole-item criterion).
    Column("steps", JSON(none_as_null=True)),
    Index("ix_adjudications_queue", "queue", "decided_at"),
)

# m012: who may review which queue, set by leads and admins in the app or `reviewdesk users grant`; the
# queue file's `assignees` seed it when the queue is first published. No row, no access (leads and
# admins need none). Not tied to `users` or `queues` rows: a grant may wait for its account or first batch.
queue_grants = _table(
    "queue_grants",
    Column("queue", String, primary_key=True),
    Column("reviewer", String, primary_key=True),
    Column("granted_by", String, nullable=False),  # a user's name, "queue file" or "migration"
    _at("granted_at"),
    Index("ix_queue_grants_reviewer", "reviewer"),
)

# m012: a lead's resolution of a reviewer's flag on an item (their latest revision's flags), with a category
# and a note; resolved flags reach the product-issues report with them.
flag_resolutions = _table(
    "flag_resolutions",
    Column("item_id", String, ForeignKey("items.item_id"), primary_key=True),
    Column("reviewer", String, primary_key=True),  # who flagged it
    Column("category", String, nullable=False),
    Column("note", Text, nullable=False),
    Column("resolved_by", String, nullable=False),
    _at("resolved_at"),
)

# m014: where each reviewer stands in a queue with `training` (reviewdesk.review.qualification): training,
# qualified, held (failed; until `retry_at`), retraining or paused. No row: not started yet.
reviewer_states = _table(
    "reviewer_states",
    Column("queue", String, primary_key=True),
    Column("reviewer", String, primary_key=True),
    Column("state", String, nullable=False),
    Column("attempt", Integer, nullable=False),  # training attempts started, this one included
    Column("training_items", Integer, nullable=False),  # the size of the current attempt (0 until its first item)
    _at("retry_at", required=False),  # held: training opens again then
    _at("since"),  # when this state began (qualified: monitoring counts gold answers from here)
    Column("changed_by", String, nullable=False),  # a lead's name, or "training" / "monitoring"
    Column("reason", Text, nullable=False),
)

# m014: every change of a reviewer's state, append-only: who, why, when. `notice` marks those a lead must
# see (a pause by monitoring); `seen_by`/`seen_at` record the lead who read it.
reviewer_events = _table(
    "reviewer_events",
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("queue", String, nullable=False),
    Column("reviewer", String, nullable=False),
    Column("event", String, nullable=False),  # training_started, passed, failed, qualified_by_lead, ...
    Column("state", String, nullable=False),  # the state it led to
    Column("by", String, nullable=False),
    Column("reason", Text, nullable=False),
    _at("at"),
    Column("detail", JSON(none_as_null=True)),  # e.g. {accuracy, correct, graded}
    Column("notice", Boolean, nullable=False, default=False, server_default=text("false")),
    Column("seen_by", String),
    _at("seen_at", required=False),
    Index("ix_reviewer_events_reviewer", "queue", "reviewer", "event_id"),
    sqlite_autoincrement=True,
)

# m014: answers to training items, kept apart from `submissions`: they are graded against the gold answer
# and never become labels, reviews or consensus.
training_answers = _table(
    "training_answers",
    Column("answer_id", Integer, primary_key=True, autoincrement=True),
    Column("queue", String, nullable=False),
    Column("reviewer", String, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("item_id", String, ForeignKey("items.item_id"), nullable=False),
    Column("answers", JSON, nullable=False),
    Column("graded", Integer, nullable=False),  # criteria the gold answer knows
    Column("correct", Integer, nullable=False),  # of them, answered as the gold answer says
    _at("answered_at"),
    UniqueConstraint("queue", "reviewer", "attempt", "item_id", name="uq_training_answers_attempt_item"),
    Index("ix_training_answers_item", "item_id", "reviewer"),
    sqlite_autoincrement=True,
)
# m014: a queue's gold items, read when choosing a training item, without walking its other items.
GOLD = items.c.is_gold.is_(True)
ix_items_gold = Index("ix_items_gold", items.c.queue, items.c.item_id, sqlite_where=GOLD, postgresql_where=GOLD)

# Quality reports computed by the flows from the warehouse, kept here for the app's dashboard.
quality_reports = _table(
    "quality_reports",
    Column("report_id", Integer, primary_key=True, autoincrement=True),
    Column("queue", String, ForeignKey("queues.name"), nullable=False),
    _at("computed_at"),
    Column("report", JSON, nullable=False),
    Index("ix_quality_reports_queue", "queue", "computed_at"),
)

__all__ = [
    "GOLD",
    "ITEM_OPEN",
    "ITEM_ORDER",
    "Timestamp",
    "adjudications",
    "batches",
    "flag_resolutions",
    "items",
    "metadata",
    "migrations",
    "quality_reports",
    "queue_grants",
    "queues",
    "reservations",
    "reviewer_events",
    "reviewer_states",
    "rubrics",
    "sessions",
    "submissions",
    "training_answers",
    "users",
]
