"""Publish a sampled batch from the warehouse to the review store, where reviewers see it.

Publishing is idempotent and crash-safe. The store gets the queue, its rubric version, the batch
and its items in one transaction, with insert-or-ignore; only after that commits is the batch
marked published in the warehouse. If marking fails, publishing again finds everything in the
store, writes nothing and completes the mark.

Each item carries a `payload` with all the app renders (the run's, or both runs' fields), so
the app never reads the warehouse. Metadata keys in `HIDDEN_METADATA` are left out: reviewers
must not see a known answer (review is blind). Items carry the batch's suggestions from the
prescore step, if any, and a review `priority` by the queue's setting (`reviewdesk.prescore.priority`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from reviewdesk.errors import ConfigError
from reviewdesk.prescore.priority import item_priority, least_confidence
from reviewdesk.sample.batches import Batch, batch_for_queue
from reviewdesk.stores.review_schema import batches, items
from reviewdesk.stores.reviewstore import JSONText, ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

CHUNK = 10_000  # items read from DuckDB and written to the store at a time
HIDDEN_METADATA = ("demo_truth",)
# The run fields an item's payload carries for reviewers to see, in this order.
SHOWN_RUN_FIELDS = (
    "run_id", "trace_id", "session_id", "project", "name", "run_type", "model", "start_time", "latency_ms",
    "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd", "status", "error",
    "inputs", "outputs", "tags", "metadata", "user_feedback",
)  # fmt: skip


def _run_json(r: str) -> str:
    """SQL for one run's payload object; `start_time` as ISO 8601 UTC, hidden metadata keys removed."""
    hidden = json.dumps(dict.fromkeys(HIDDEN_METADATA))
    fields = []
    for f in SHOWN_RUN_FIELDS:
        if f == "start_time":
            expr = f"strftime({r}.start_time AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%f+00:00')"
        elif f == "metadata":  # a JSON merge patch with null values deletes those keys
            expr = f"CASE WHEN json_type({r}.metadata) = 'OBJECT' THEN json_merge_patch({r}.metadata, '{hidden}') END"
        else:
            expr = f"{r}.{f}"
        fields.append(f"'{f}', {expr}")
    return f"json_object({', '.join(fields)})"


# One row per item, its payload built as JSON text by DuckDB: parsing and re-serializing ~1.5 KB
# per item in Python would double the time publish holds the review store's write lock.
ITEMS_SQL = f"""
    SELECT i.item_id, i.position, i.run_id, i.run_a, i.run_b, i.left_run_id, i.inclusion_probability,
           i.is_gold, i.gold_answer::VARCHAR, i.reviewers_needed,
           json_object('runs', CASE WHEN i.run_b IS NULL THEN json_object(ra.run_id, {_run_json("ra")})
                                    ELSE json_object(ra.run_id, {_run_json("ra")}, rb.run_id, {_run_json("rb")}) END),
           s.suggestions
    FROM items i
    LEFT JOIN (SELECT item_id, json_group_object(criterion, json_object('value', value, 'confidence', confidence,
                                                 'model_version', model_version))::VARCHAR AS suggestions
               FROM suggestions WHERE batch_id = ? GROUP BY item_id) s ON s.item_id = i.item_id
    JOIN runs ra ON ra.run_id = coalesce(i.run_id, i.run_a)
    LEFT JOIN runs rb ON rb.run_id = i.run_b
    WHERE i.batch_id = ?
    ORDER BY i.position, i.item_id
"""
ITEM_FIELDS = (
    "item_id", "position", "run_id", "run_a", "run_b", "left_run_id",
    "inclusion_probability", "is_gold", "gold_answer", "reviewers_needed", "payload", "suggestions",
)  # fmt: skip


@dataclass
class PublishReport:
    """What one publish did: `published` items were newly written, of `items` in the batch."""

    batch_id: str
    queue: str
    items: int
    published: int
    already_published: bool

    def as_dict(self) -> dict:
        return asdict(self)


def publish(wh: Warehouse, store: ReviewStore, queue: QueueConfig, batch_id: str) -> PublishReport:
    """Publish a batch of `queue` to the review store; publishing it again changes nothing."""
    batch = batch_for_queue(wh, queue, batch_id)
    report = write_to_store(store, queue, batch, read_items(wh, batch))
    published_at = store.batch(batch_id)["published_at"]
    mark_published(wh, batch_id, published_at)
    return report


def read_items(wh: Warehouse, batch: Batch, chunk: int = CHUNK) -> Iterator[list[dict]]:
    """The batch's items as review-store rows (without `published_at`), `chunk` at a time.

    The join to `runs` and the payloads are made inside DuckDB; only the batch's rows reach
    Python, and its JSON columns arrive as `JSONText`, stored without being parsed again.
    """
    result = wh.con.execute(ITEMS_SQL, [batch.batch_id, batch.batch_id])
    common = {"batch_id": batch.batch_id, "queue": batch.queue, "kind": batch.kind,
              "rubric_version": batch.rubric_version}  # fmt: skip
    while rows := result.fetchmany(chunk):
        out = []
        for row in rows:
            item = dict(zip(ITEM_FIELDS, row, strict=True))
            item["payload"] = JSONText(item["payload"])
            for key in ("gold_answer", "suggestions"):
                if item[key] is not None:
                    item[key] = JSONText(item[key])
            item["is_gold"] = bool(item["is_gold"])
            item.update(common)
            out.append(item)
        yield out


def write_to_store(store: ReviewStore, queue: QueueConfig, batch: Batch, chunks: Iterable[list[dict]]) -> PublishReport:
    """Write the queue, its rubric version, the batch and its items in one store transaction.

    Rows already there are kept as they are. `chunks` is not read at all when the store already
    has every item of the batch.
    """
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
        before = store.count_items(batch.queue, batch.batch_id, conn)
        if before < batch.item_count:
            for rows in chunks:
                store.insert_ignore(conn, items, [{**r, "published_at": published_at,
                                                   "priority": _priority(queue, r, published_at)} for r in rows])
        published = store.count_items(batch.queue, batch.batch_id, conn) - before
    return PublishReport(batch.batch_id, batch.queue, batch.item_count, published, existed and published == 0)


def _priority(queue: QueueConfig, row: dict, published_at: datetime) -> float:
    """The item's review priority under the queue's `priority` setting (suggestions parsed only when needed)."""
    suggestions = json.loads(row["suggestions"]) if queue.priority == "uncertainty" and row["suggestions"] else None
    return item_priority(queue.priority, row["item_id"], published_at, least_confidence(suggestions))


def mark_published(wh: Warehouse, batch_id: str, published_at: datetime) -> None:
    """Record in the warehouse when the batch reached the store (once; a rerun keeps the first time)."""
    wh.execute(
        "UPDATE batches SET published_at = ? WHERE batch_id = ? AND published_at IS NULL", [published_at, batch_id]
    )
