"""Publish a sampled batch from the warehouse to the review store, where reviewers see it.

Publishing is idempotent and resumable. The store first gets the queue, its rubric version and the
batch in one small transaction, then the items in chunks, each its own short write transaction
(insert-or-ignore), so a large batch never holds the SQLite write lock long enough to stall
reviewers (`TARGET_HOLD`; the chunk size follows the measured write rate). Only once every item is
in the store is the batch marked published in the warehouse. If publishing stops half way, the
items written so far are already reviewable, and publishing again writes the rest and nothing twice.

Each item carries a `payload` with all the app renders (the run's, or both runs' fields), so
the app never reads the warehouse. It holds only what the queue's `reviewer_sees` allows, less
whatever the gold source reads (`reviewdesk.review.blinding`): the store never holds what reviewers
must not see. Items carry the batch's suggestions from the prescore step, if any, and a review
`priority` by the queue's setting (`reviewdesk.prescore.priority`). DuckDB builds every row,
payload and priority included, exactly as the store's driver takes it: no Python work per item.

A trace or session item's payload also carries `unit`: its steps in pre-order (turns in time order; in a
turn its root, then children depth first, siblings by start time then run id), each blinded by the same
view as a run, then any runs no root reaches, counted (`UNITS_SQL`, a recursive query over the unit's runs).
The warehouse is read in as few scans of `runs` as the batch allows, each filtered inside the scan: run
items' runs by run id, then the units' runs by the trace or session key the draw recorded (`items.unit_key`),
a unit item's own run among them. Without an index, equality on an id reads its column whole: measured on
2 cores, 22 ms per 2M runs by run id, ~30 ms per 10M by trace id. So a unit's runs are read within the window
its runs started in when drawn (`items.unit_first_start` to `unit_last_start`), plus every run of its key
without a start time: DuckDB then skips the row groups whose start_time range misses the window (a 200-step
trace among 10M runs: ~7 ms, not ~60). Runs arrive roughly in time order, so a recent unit reads recent row
groups; a batch reads from its earliest unit's window to its latest's.

A unit is published as it was when drawn: a run of its key logged later is published only if it started
within the drawn window (or has no start time); one that started outside it is not. Items drawn before
windows were recorded (m021), and units none of whose runs had a start time, have no window: their units
are read whole, late runs included, as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from reviewdesk.errors import ConfigError
from reviewdesk.prescore.priority import priority_sql
from reviewdesk.review.blinding import ReviewerView, reviewer_view, run_json_sql
from reviewdesk.sample.batches import Batch, batch_for_queue
from reviewdesk.sample.units import keyed_runs_sql
from reviewdesk.stores.review_schema import batches, items
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

# Seconds a chunk aims to hold the store's write lock, which a reviewer's Submit waits out. During a 100,000-item
# publish (bench/publish_bench.py) reviewers' p95 was 59 ms at 25 ms and 21 ms at 4 ms, for 5% more publish time.
TARGET_HOLD = 0.004
FIRST_CHUNK = 500  # items in the first chunk, before the store's write rate is measured
MAX_CHUNK = 50_000
ITEM_COLUMNS = (
    "item_id", "batch_id", "queue", "position", "kind", "run_id", "run_a", "run_b", "left_run_id", "rubric_version",
    "inclusion_probability", "is_gold", "gold_answer", "reviewers_needed", "payload", "published_at", "priority",
    "suggestions",
)  # fmt: skip


# The batch's runs go into a temporary table (`OWN`), each tagged with the unit item it is read for (`__item`;
# NULL for a run item's runs), which also shows at once whether any run an item names is missing. First the
# runs that run items name (`OWN_SQL`), in one scan filtered on the batch's run ids, which DuckDB pushes into the
# scan (only matching rows are read whole). Then each unit's runs (`UNIT_RUNS_SQL`), by the unit's key as the
# draw recorded it (`items.unit_key`) within its recorded window, as the draw read them for that window
# (`reviewdesk.sample.units.keyed_runs_sql`; no window: -infinity to infinity). A trace item drawn before keys were
# recorded has its root read by run id with the run items' runs, for its key. The unit item's own run (a
# trace's root, a session's last turn) is among its unit's runs, so a batch of unit items never scans run ids.
# Their steps form trees (`tree`): roots are the runs whose parent is not among the unit's runs, numbered as
# turns in time order; `path` orders the steps in pre-order (and ends a walk that comes back to a step, as
# only a run id logged twice can make it). Runs no root reaches (their parents loop) follow as roots of turns
# of their own, in time order (`unreachable`), so a reviewer sees every run of the unit.
OWN = "__batch_runs"  # the temporary table of a batch's runs, on this process's warehouse connection
OWN_SQL = """
CREATE OR REPLACE TEMPORARY TABLE {own} AS SELECT NULL::VARCHAR AS __item, * FROM runs WHERE run_id IN (
    SELECT ref FROM (SELECT unnest(CASE WHEN unit = 'run' THEN [coalesce(run_id, run_a), run_b] ELSE [unit_id] END)
                     FROM items WHERE batch_id = $batch AND (unit = 'run' OR unit = 'trace' AND unit_key IS NULL))
                     t(ref)
    WHERE ref IS NOT NULL)
"""
UNIT_RUNS_SQL = """
INSERT INTO {own}
WITH keys AS (
    SELECT i.item_id, i.unit, coalesce(i.unit_key, CASE i.unit WHEN 'session' THEN i.unit_id
                                                               ELSE coalesce(o.trace_id, o.run_id) END) AS key,
           coalesce(i.unit_first_start, '-infinity') AS lo, coalesce(i.unit_last_start, 'infinity') AS hi
    FROM items i LEFT JOIN {own} o ON o.run_id = i.unit_id AND i.unit = 'trace' AND i.unit_key IS NULL
    WHERE i.batch_id = $batch AND i.unit <> 'run')
{runs}
"""
UNITS_SQL = """
k AS MATERIALIZED (
    SELECT *, coalesce(strftime(start_time AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%f'), '') || chr(31) || run_id AS key
    FROM (SELECT __item AS item_id, * EXCLUDE (__item) FROM {own} WHERE __item IS NOT NULL)),
tree AS (
    SELECT c.item_id, c.run_id, c.key, 0 AS depth, row_number() OVER (PARTITION BY c.item_id ORDER BY c.key) AS turn,
           [c.key] AS path
    FROM k c ANTI JOIN k p ON p.item_id = c.item_id AND p.run_id = c.parent_run_id
    UNION ALL
    SELECT c.item_id, c.run_id, c.key, t.depth + 1, t.turn, list_append(t.path, c.key)
    FROM tree t JOIN k c ON c.item_id = t.item_id AND c.parent_run_id = t.run_id
    WHERE NOT list_contains(t.path, c.key)),
placed AS (
    SELECT item_id, key, depth, turn, false AS unreachable, path FROM tree
    UNION ALL
    SELECT c.item_id, c.key, 0, coalesce(n.turns, 0) + row_number() OVER (PARTITION BY c.item_id ORDER BY c.key),
           true, [c.key]
    FROM k c ANTI JOIN tree t ON t.item_id = c.item_id AND t.run_id = c.run_id
    LEFT JOIN (SELECT item_id, max(turn) AS turns FROM tree GROUP BY item_id) n ON n.item_id = c.item_id),
unit_steps AS (
    SELECT t.item_id, to_json(list({step} ORDER BY t.unreachable, t.path)) AS steps,
           count(*) FILTER (t.unreachable) AS unreachable
    FROM placed t JOIN k s ON s.item_id = t.item_id AND s.key = t.key GROUP BY t.item_id)"""


def units_sql(view: ReviewerView, own: str) -> str:
    """The CTEs of each unit item's steps (`unit_steps`: a JSON array, each step blinded by `view` as a run is,
    and how many of them no root reaches), given the table `own` of the batch's runs (`batch_runs`)."""
    step = run_json_sql(view, "s", {"run_id": "s.run_id", "parent_run_id": "s.parent_run_id", "depth": "t.depth",
                                    "turn": "t.turn", "run_type": "s.run_type"})  # fmt: skip
    return UNITS_SQL.format(step=step, own=own)


class ItemRows(Protocol):
    """Rows of `ITEM_COLUMNS`, as the store's driver takes them, read `size` at a time (a DuckDB result)."""

    def fetchmany(self, size: int) -> list[tuple]: ...


def items_sql(view: ReviewerView, priority: str, own: str) -> str:
    """One store row per item of a batch (`ITEM_COLUMNS`) from its runs in table `own` (`batch_runs`), its payload
    built as JSON text by DuckDB with only
    what `view` shows, its priority by the queue's `priority` setting (`$published_at`: the batch's, as the
    driver takes it; `$at`: the same as a TIMESTAMPTZ)."""
    run_a, run_b = run_json_sql(view, "ra"), run_json_sql(view, "rb")
    return f"""
    WITH RECURSIVE {units_sql(view, own)}
    SELECT i.item_id, $batch_id, $queue, i.position, $kind, i.run_id, i.run_a, i.run_b, i.left_run_id,
           $rubric_version, i.inclusion_probability, i.is_gold, i.gold_answer::VARCHAR, i.reviewers_needed,
           CASE WHEN i.unit = 'run'
                THEN json_object('runs', CASE WHEN i.run_b IS NULL THEN json_object(ra.run_id, {run_a})
                                              ELSE json_object(ra.run_id, {run_a}, rb.run_id, {run_b}) END)
                ELSE json_object('runs', json_object(ra.run_id, {run_a}),
                                 'unit', json_object('kind', i.unit, 'id', i.unit_id, 'steps', u.steps,
                                                     'unreachable', coalesce(u.unreachable, 0))) END,
           $published_at, {priority}, s.suggestions
    FROM items i
    LEFT JOIN (SELECT item_id, json_group_object(criterion, json_merge_patch(
                   json_object('value', value, 'confidence', confidence, 'model_version', model_version),
                   json_object('reason', reason)))::VARCHAR AS suggestions, min(confidence) AS least
               FROM suggestions WHERE batch_id = $batch_id GROUP BY item_id) s ON s.item_id = i.item_id
    LEFT JOIN unit_steps u ON u.item_id = i.item_id
    JOIN {own} ra ON ra.run_id = coalesce(i.run_id, i.run_a)
                 AND ra.__item IS NOT DISTINCT FROM CASE WHEN i.unit <> 'run' THEN i.item_id END
    LEFT JOIN {own} rb ON rb.run_id = i.run_b AND rb.__item IS NULL
    WHERE i.batch_id = $batch_id
    ORDER BY i.position, i.item_id
"""


@dataclass
class PublishReport:
    """What one publish did: `published` items were newly written, of `items` in the batch.

    `chunks` write transactions wrote them, the longest holding the write lock `longest_hold` seconds.
    """

    batch_id: str
    queue: str
    items: int
    published: int
    already_published: bool
    chunks: int = field(default=0, compare=False)
    longest_hold: float = field(default=0.0, compare=False)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("batch_id", "queue", "items", "published", "already_published")}


def publish(wh: Warehouse, store: ReviewStore, queue: QueueConfig, batch_id: str) -> PublishReport:
    """Publish a batch of `queue` to the review store; publishing it again changes nothing."""
    own = batch_runs(wh, batch_id)
    try:
        batch = batch_for_queue(wh, queue, batch_id, runs=own)
        # the gold source the batch was drawn with, and the queue's now: neither's answers may reach a reviewer
        view = reviewer_view(queue.reviewer_sees, [batch.params.get("gold_source"), queue.gold_source])
        report = write_to_store(store, queue, batch,
                                lambda at: read_items(wh, store, batch, view, queue.priority, at, own))  # fmt: skip
    finally:
        wh.execute(f"DROP TABLE IF EXISTS {own}")
    store.refresh_statistics(items)
    published_at = store.batch(batch_id)["published_at"]
    mark_published(wh, batch_id, published_at)
    return report


def batch_runs(wh: Warehouse, batch_id: str) -> str:
    """Read the batch's runs into a temporary table (`OWN_SQL`, `UNIT_RUNS_SQL`); returns its name."""
    for sql in (OWN_SQL, UNIT_RUNS_SQL):
        wh.execute(sql.format(own=OWN, runs=keyed_runs_sql("keys", "k.item_id, r.*")), {"batch": batch_id})
    return OWN


def read_items(wh: Warehouse, store: ReviewStore, batch: Batch, view: ReviewerView, priority: str,
               published_at: datetime, own: str) -> ItemRows:  # fmt: skip
    """The batch's items as rows for `store` (`ITEM_COLUMNS`), published at `published_at`, their payloads
    holding only what `view` shows reviewers, from the batch's runs in table `own` (`batch_runs`). The joins,
    the payloads and priorities are made inside DuckDB; its JSON arrives as text, stored as it is."""
    sql = items_sql(view, priority_sql(priority, "i.item_id", "s.least", published_at), own)
    params = {"batch_id": batch.batch_id, "queue": batch.queue, "kind": batch.kind,
              "rubric_version": batch.rubric_version,
              "published_at": store.driver_value(items, "published_at", published_at)}  # fmt: skip
    return wh.con.execute(sql, params)


def write_to_store(
    store: ReviewStore, queue: QueueConfig, batch: Batch, read: Callable[[datetime], ItemRows]
) -> PublishReport:
    """Write the queue, its rubric version and the batch in one store transaction, then the items that
    `read(published_at)` gives in chunks (`write_items`). Rows already there are kept as they are;
    `read` is not called at all when the store already has every item of the batch."""
    now = datetime.now(UTC)
    with store.write() as conn:
        store.save_queue(conn, queue, now)
        if store.rubric(queue.name, batch.rubric_version, conn) is None:
            raise ConfigError(
                f"Batch {batch.batch_id} was drawn with rubric version {batch.rubric_version}, but queue "
                f"{queue.name!r} now has rubric version {queue.rubric_version} and the store has never seen the old "
                f"one. Draw a new batch with `reviewdesk sample {queue.name}`, or restore the rubric it was drawn with."
            )
        existed = store.batch(batch.batch_id, conn) is not None
        store.insert_ignore(conn, batches, [{
            "batch_id": batch.batch_id, "queue": batch.queue, "rubric_version": batch.rubric_version,
            "strategy": batch.strategy, "seed": batch.seed, "size": batch.size,
            "item_count": batch.item_count, "published_at": now,
        }])  # fmt: skip
        published_at = store.batch(batch.batch_id, conn)["published_at"]
        complete = store.count_items(batch.queue, batch.batch_id, conn) >= batch.item_count
    report = PublishReport(batch.batch_id, batch.queue, batch.item_count, 0, existed)
    if not complete:
        write_items(store, read(published_at), report)
    report.already_published = existed and report.published == 0
    return report


def write_items(store: ReviewStore, rows: ItemRows, report: PublishReport) -> None:
    """Insert-or-ignore `rows` into the store's items in chunks of one write transaction each, sized from
    the rate the last one was written at so that each holds the write lock about `TARGET_HOLD`."""
    size = FIRST_CHUNK
    while chunk := rows.fetchmany(size):
        with store.write() as conn:
            started = time.perf_counter()  # the lock is taken; timed to after the commit and its sync (an upper bound)
            report.published += store.insert_rows(conn, items, ITEM_COLUMNS, chunk)
        held = time.perf_counter() - started
        report.chunks += 1
        report.longest_hold = max(report.longest_hold, held)
        size = max(1, min(MAX_CHUNK, int(len(chunk) * TARGET_HOLD / max(held, 1e-6))))


def mark_published(wh: Warehouse, batch_id: str, published_at: datetime) -> None:
    """Record in the warehouse when the batch reached the store (once; a rerun keeps the first time)."""
    wh.execute(
        "UPDATE batches SET published_at = ? WHERE batch_id = ? AND published_at IS NULL", [published_at, batch_id]
    )
