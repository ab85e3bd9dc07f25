"""Batches as the warehouse records them: the design of each draw and its items, written, read back and listed.

This is the one reader of recorded batches: the CLI shows them, and prescore and publish read a
batch through `batch_for_queue`, which also checks that the batch still fits its queue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from reviewdesk.errors import ConfigError, NotFound
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

ITEM_COLUMNS = (
    "item_id", "position", "run_id", "run_a", "run_b", "left_run_id", "stratum", "inclusion_probability", "is_gold",
    "gold_answer", "reviewers_needed", "unit", "unit_id", "unit_key", "unit_first_start", "unit_last_start",
)  # fmt: skip
RECORD_SQL = """
    SELECT batch_id, queue, kind, strategy, seed, population, size, rubric_version, created_at, params,
           (SELECT count(*) FROM items i WHERE i.batch_id = b.batch_id), published_at
    FROM batches b WHERE batch_id = ?"""
# The first reference of the batch's items to a run that is not in the warehouse, if any (`match`: a further
# join condition, for a table of runs tagged with the unit item each was read for).
MISSING_RUN_SQL = """
    WITH refs AS (
        SELECT item_id, coalesce(run_id, run_a) AS ref, CASE WHEN unit <> 'run' THEN item_id END AS unit_item
        FROM items WHERE batch_id = $batch
        UNION ALL
        SELECT item_id, run_b, NULL FROM items WHERE batch_id = $batch AND run_b IS NOT NULL)
    SELECT item_id, coalesce(ref, '(none)') FROM refs ANTI JOIN {runs} r ON r.run_id = refs.ref{match}
    ORDER BY item_id LIMIT 1
"""
UNIT_ITEM_MATCH = " AND r.__item IS NOT DISTINCT FROM refs.unit_item"


@dataclass
class Batch:
    """What was drawn: the design (strategy, seed, parameters, population) and the items, by position."""

    batch_id: str
    queue: str
    kind: str
    strategy: str
    seed: int
    population: int
    size: int
    rubric_version: str
    created_at: datetime
    params: dict = field(default_factory=dict)
    items: list[dict] = field(default_factory=list)
    suggestions: dict[str, dict] = field(default_factory=dict)  # item -> its pre-scores (reviewdesk.prescore.run)
    item_count: int = 0  # items including gold ones; counted even when `items` was not read
    published_at: datetime | None = None  # when it reached the review store (reviewdesk.review.publication)

    @property
    def identical_skipped(self) -> int:
        """Pairwise: the pairs left out of the population because their two answers are identical."""
        return int(self.params.get("identical_pairs_skipped", 0))

    def as_dict(self) -> dict:
        """The CLI's --json shape: the design, then each item with its inclusion probability and suggestions."""
        keys = ("item_id", "position")
        keys += ("run_a", "run_b", "left_run_id") if self.kind == "pairwise" else ("run_id",)
        keys += ("stratum", "inclusion_probability", "is_gold", "reviewers_needed")
        return {
            "batch_id": self.batch_id,
            "queue": self.queue,
            "kind": self.kind,
            "strategy": self.strategy,
            "seed": self.seed,
            "population": self.population,
            "size": self.size,
            "rubric_version": self.rubric_version,
            "created_at": self.created_at.isoformat(),
            "identical_pairs_skipped": self.identical_skipped,
            "params": self.params,
            "items": [
                {**{k: item[k] for k in keys}, **_unit_keys(item), "suggestions": self.suggestions.get(item["item_id"])}
                for item in self.items
            ],
        }


def _unit_keys(item: dict) -> dict:
    """A trace or session item's unit and unit id (nothing for a run item, whose JSON stays as it was)."""
    return {} if item.get("unit", "run") == "run" else {"unit": item["unit"], "unit_id": item["unit_id"]}


def _record(wh: Warehouse, batch_id: str, queue: str = "QUEUE") -> Batch:
    """The batch's row, without its items; NotFound (saying how to draw one for `queue`) if there is none."""
    rows = wh.execute(RECORD_SQL, [batch_id])
    if not rows:
        raise NotFound(
            f"No batch {batch_id!r} in the warehouse. List batches with `reviewdesk batches list`, "
            f"or draw one with `reviewdesk sample {queue}`."
        )
    *design, params, item_count, published_at = rows[0]
    return Batch(*design, json.loads(params), item_count=item_count, published_at=published_at)


def load_batch(wh: Warehouse, batch_id: str, items: bool = True) -> Batch:
    """The recorded batch with its items in shown order and their suggestions (only its row if `items` is false);
    NotFound if there is no such batch."""
    batch = _record(wh, batch_id)
    if not items:
        return batch
    rows = wh.execute(f"SELECT {', '.join(ITEM_COLUMNS)} FROM items WHERE batch_id = ? ORDER BY position", [batch_id])
    for row in rows:
        item = dict(zip(ITEM_COLUMNS, row, strict=True))
        item["gold_answer"] = None if item["gold_answer"] is None else json.loads(item["gold_answer"])
        batch.items.append(item)
    batch.suggestions = item_suggestions(wh, batch_id)
    return batch


def batch_for_queue(wh: Warehouse, queue: QueueConfig, batch_id: str, runs: str = "runs") -> Batch:
    """The batch's row (without its items) for work under `queue`: a clear error if it does not exist, is
    another queue's, was drawn as another kind, or names a run the warehouse lacks (looked up in table `runs`,
    or in a table of the batch's runs already read from it, which saves a scan of every run id: each tagged
    `__item` with the unit item it was read for, NULL for a run item's, as `reviewdesk.review.publication` reads
    them, so a unit item's run counts only among its unit's runs)."""
    batch = _record(wh, batch_id, queue.name)
    if batch.queue != queue.name:
        raise ConfigError(
            f"Batch {batch_id} belongs to queue {batch.queue!r}, not {queue.name!r}: "
            f"publish it with queue {batch.queue!r}, or pick a batch of {queue.name!r} (`reviewdesk batches list`)."
        )
    if batch.kind != queue.kind:
        raise ConfigError(
            f"Batch {batch_id} was drawn as a {batch.kind} batch, but queue {queue.name!r} is now {queue.kind}: "
            f"draw a new batch with `reviewdesk sample {queue.name}`."
        )
    match = "" if runs == "runs" else UNIT_ITEM_MATCH
    if missing := wh.execute(MISSING_RUN_SQL.format(runs=runs, match=match), {"batch": batch_id}):
        item_id, run_id = missing[0]
        raise NotFound(
            f"Item {item_id} of batch {batch_id} refers to run {run_id}, which is not in the warehouse, so the "
            f"batch cannot be published. Draw a new batch with `reviewdesk sample {queue.name}`."
        )
    return batch


def item_suggestions(wh: Warehouse, batch_id: str) -> dict[str, dict]:
    """The batch's suggestions (reviewdesk.prescore.run): item -> criterion -> {value, confidence, model_version}
    and the scorer's `reason` where it gave one."""
    out: dict[str, dict] = {}
    for item_id, key, value, confidence, version, reason in wh.execute(
        "SELECT item_id, criterion, value, confidence, model_version, reason FROM suggestions WHERE batch_id = ? "
        "ORDER BY item_id, criterion",
        [batch_id],
    ):
        given = {"value": json.loads(value), "confidence": confidence, "model_version": version}
        out.setdefault(item_id, {})[key] = given | ({"reason": reason} if reason else {})
    return out


def list_batches(wh: Warehouse, queue: str | None = None) -> list[dict]:
    """Recorded batches, newest first, with their item counts and publication time."""
    rows = wh.con.execute(
        """SELECT b.batch_id, b.queue, b.kind, b.strategy, b.seed, b.population, b.size, b.rubric_version,
                  count(i.item_id) AS items, count(i.item_id) FILTER (WHERE i.is_gold) AS gold_items,
                  coalesce(b.params->>'$.identical_pairs_skipped', '0')::BIGINT AS identical_pairs_skipped,
                  b.created_at, b.published_at
           FROM batches b LEFT JOIN items i USING (batch_id)
           WHERE $queue IS NULL OR b.queue = $queue
           GROUP BY ALL ORDER BY b.created_at DESC, b.batch_id""",
        {"queue": queue},
    )
    names = [d[0] for d in rows.description]
    return [dict(zip(names, row, strict=True)) for row in rows.fetchall()]


def write_record(con: duckdb.DuckDBPyConnection, batch: Batch) -> None:
    """Insert the batch's row (its items are written from the drawn units: `assembly.write_items`)."""
    con.execute(
        """INSERT INTO batches (batch_id, queue, kind, strategy, seed, params, rubric_version, population, size,
                                created_at, published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)""",
        [
            batch.batch_id, batch.queue, batch.kind, batch.strategy, batch.seed, json.dumps(batch.params),
            batch.rubric_version, batch.population, batch.size, batch.created_at,
        ],
    )  # fmt: skip
