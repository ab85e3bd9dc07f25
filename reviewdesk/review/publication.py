"""Publish a sampled batch from the warehouse to the review store, where reviewers see it.

Publishing is idempotent and crash-safe. The store gets the queue, its rubric version, the batch
and its items in one transaction, with insert-or-ignore; only after that commits is the batch
marked published in the warehouse. If marking fails, publishing again finds everything in the
store, writes nothing and completes the mark.

Each item carries a `payload` with all the app renders (the run's, or both runs' fields), so
the app never reads the warehouse. It holds only what the queue's `reviewer_sees` allows, less
whatever the gold source reads (`reviewdesk.review.blinding`): the store never holds what reviewers
must not see. Items carry the batch's suggestions from the prescore step, if any, and a review
`priority` by the queue's setting (`reviewdesk.prescore.priority`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from reviewdesk.errors import ConfigError
from reviewdesk.prescore.priority import item_priority, least_confidence
from reviewdesk.review.blinding import ReviewerView, reviewer_view, run_json_sql
from reviewdesk.sample.batches import Batch, batch_for_queue
from reviewdesk.stores.review_schema import batches, items
from reviewdesk.stores.reviewstore import JSONText, ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

CHUNK = 10_000  # items read from DuckDB and written to the store at a time
ITEM_FIELDS = (
    "item_id", "position", "run_id", "run_a", "run_b", "left_run_id",
    "inclusion_probability", "is_gold", "gold_answer", "reviewers_needed", "payload", "suggestions",
)  # fmt: skip


def items_sql(view: ReviewerView) -> str:
    """One row per item of a batch, its payload built as JSON text by DuckDB with only what `view` shows.

    Parsing and re-serializing ~1.5 KB per item in Python would double the time publish holds the
    review store's write lock.
    """
    run_a, run_b = run_json_sql(view, "ra"), run_json_sql(view, "rb")
    return f"""
    SELECT i.item_id, i.position, i.run_id, i.run_a, i.run_b, i.left_run_id, i.inclusion_probability,
           i.is_gold, i.gold_answer::VARCHAR, i.reviewers_needed,
           json_object('runs', CASE WHEN i.run_b IS NULL THEN json_object(ra.run_id, {run_a})
                                    ELSE json_object(ra.run_id, {run_a}, rb.run_id, {run_b}) END),
           s.suggestions
    FROM items i
    LEFT JOIN (SELECT item_id, json_group_object(criterion, json_merge_patch(
                   json_object('value', value, 'confidence', confidence, 'model_version', model_version),
                   json_object('reason', reason)))::VARCHAR AS suggestions
               FROM suggestions WHERE batch_id = ? GROUP BY item_id) s ON s.item_id = i.item_id
    JOIN runs ra ON ra.run_id = coalesce(i.run_id, i.run_a)
    LEFT JOIN runs rb ON rb.run_id = i.run_b
    WHERE i.batch_id = ?
    ORDER BY i.position, i.item_id
"""


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
    # the gold source the batch was drawn with, and the queue's now: neither's answers may reach a reviewer
    view = reviewer_view(queue.reviewer_sees, [batch.params.get("gold_source"), queue.gold_source])
    report = write_to_store(store, queue, batch, read_items(wh, batch, view))
    store.refresh_statistics(items)
    published_at = store.batch(batch_id)["published_at"]
    mark_published(wh, batch_id, published_at)
    return report


def read_items(wh: Warehouse, batch: Batch, view: ReviewerView, chunk: int = CHUNK) -> Iterator[list[dict]]:
    """The batch's items as review-store rows (without `published_at`), `chunk` at a time, their payloads
    holding only what `view` shows reviewers.

    The join to `runs` and the payloads are made inside DuckDB; only the batch's rows reach
    Python, and its JSON columns arrive as `JSONText`, stored without being parsed again.
    """
    result = wh.con.execute(items_sql(view), [batch.batch_id, batch.batch_id])
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
