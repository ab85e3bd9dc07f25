"""From drawn units to a batch: its recorded design parameters, ids, reviewers plan, A/B sides and shown order.

Everything here is decided by the seed and the units (SHA-256 of both), never by chance at run
time: the batch id is a digest of the design and the sample, item ids are `<batch id>-<position>`,
so the same seed on the same data gives the same batch, ids included. Both are computed in DuckDB
from the table of drawn units (`drawn`), with its `sha256`: one seeded digest per item,
`sha256(seed \x1f [gold \x1f] unit id)` in hex, decides its shown position (hex 0-16), whether it
is among the items with several reviewers (16-32) and, for a pair, which run is shown left (hex 32).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import duckdb

from reviewdesk.sample.allocation import round_half_up
from reviewdesk.sample.batches import Batch
from reviewdesk.sample.gold import gold_wanted
from reviewdesk.sample.population import HASH_RULE
from schemas.queue import QueueConfig


def design_params(
    queue: QueueConfig, requested: int, seed_source: str, details: dict, sampled: int, gold: int
) -> dict:
    """The batch's recorded parameters: the sampling rule, the design's `details`, the reviewers plan and gold."""
    s = queue.sampling
    params: dict[str, Any] = {
        "filter": s.filter,
        "exclude_reviewed": s.exclude_reviewed,
        "requested_size": requested,
        "seed_source": seed_source,
    }
    if s.strategy == "stratified":
        params |= {"stratify_by": s.stratify_by, "allocation": s.allocation}
    if s.strategy == "weighted":
        params["weights"] = [w.model_dump() for w in s.weights]
    if queue.kind == "pairwise" and queue.pairing is not None:
        params["pairing"] = queue.pairing.model_dump() | {"unit_attributes_from": "run_a"}
    params |= details
    params |= {
        "reviewers_per_item": queue.reviewers_per_item,
        "overlap_fraction": queue.overlap_fraction,
        "overlap_items": round_half_up(sampled * queue.overlap_fraction) if queue.reviewers_per_item > 1 else 0,
    }
    if queue.gold_fraction > 0:
        params |= {
            "gold_fraction": queue.gold_fraction,
            "gold_source": queue.gold_source,
            "gold_requested": gold_wanted(queue, sampled),
            "gold_items": gold,
        }
    params |= {"hash": HASH_RULE, "duckdb": duckdb.__version__}
    return params


# The batch's fingerprint: the design, then each unit as \x1e id \x1f pi (pi as Python's repr, which DuckDB's
# VARCHAR of a DOUBLE equals) and each gold item as \x1e gold \x1f id, by id.
FINGERPRINT_SQL = """
    SELECT sha256($design || coalesce(string_agg(chr(30) || CASE WHEN is_gold THEN 'gold' || chr(31) || uid
                                                 ELSE uid || chr(31) || CAST(pi AS VARCHAR) END,
                                                 '' ORDER BY is_gold, uid), ''))
    FROM {drawn}"""
ITEMS_SQL = """
    INSERT INTO items (batch_id, queue, item_id, position, run_id, run_a, run_b, left_run_id, stratum,
                       inclusion_probability, is_gold, gold_answer, reviewers_needed, unit, unit_id, unit_key,
                       unit_first_start, unit_last_start)
    WITH digested AS (
        SELECT *, sha256($seed || chr(31) || CASE WHEN is_gold THEN 'gold' || chr(31) ELSE '' END || uid) AS d
        FROM {drawn}),
    planned AS (
        SELECT *, row_number() OVER (ORDER BY substr(d, 1, 16), is_gold, uid) AS position,
               NOT is_gold AND row_number() OVER (PARTITION BY is_gold ORDER BY substr(d, 17, 16), uid) <= $overlap
                   AS several
        FROM digested)
    SELECT $batch, $queue, $batch || '-' || position, position, run_id, run_a, run_b,
           CASE WHEN run_a IS NOT NULL THEN CASE WHEN substr(d, 33, 1) IN ('0', '2', '4', '6', '8', 'a', 'c', 'e')
                                                 THEN run_a ELSE run_b END END,
           stratum, pi, is_gold, CAST(gold_answer AS JSON),
           CASE WHEN is_gold THEN $gold_reviewers WHEN several THEN $reviewers ELSE 1 END,
           $unit, CASE WHEN $unit <> 'run' THEN uid END, key, first_start, last_start
    FROM planned"""


def assemble(
    con: duckdb.DuckDBPyConnection, drawn: str, queue: QueueConfig, seed: int, population: int, params: dict,
    sampled: int, gold: int,
) -> Batch:
    """The batch's record (its `sampled` units and `gold` items are in `drawn`), with an id that is a digest of
    the design and the sample: the same seed on the same data gives the same id (and item ids), and a different
    sample can never collide with a recorded batch."""
    design = {
        "queue": queue.name, "kind": queue.kind, "strategy": queue.sampling.strategy, "seed": seed,
        "rubric_version": queue.rubric_version, "population": population,
        # where the seed came from, why the size was capped (the size itself is in), units held back: not design
        "params": {k: v for k, v in params.items() if k not in ("seed_source", "backlog", "units_held")},
    }  # fmt: skip
    prefix = json.dumps(design, sort_keys=True, default=str)
    fingerprint = con.execute(FINGERPRINT_SQL.format(drawn=drawn), {"design": prefix}).fetchone()[0]
    return Batch(
        "b-" + fingerprint[:12], queue.name, queue.kind, queue.sampling.strategy, seed, population, sampled,
        queue.rubric_version, datetime.now(UTC), params, item_count=sampled + gold,
    )  # fmt: skip


def write_items(con: duckdb.DuckDBPyConnection, drawn: str, queue: QueueConfig, batch: Batch) -> None:
    """Insert the batch's items, from the drawn units, in one statement: ids, the reviewers plan, A/B sides and
    the shown order (see the module docstring)."""
    con.execute(ITEMS_SQL.format(drawn=drawn), {
        "batch": batch.batch_id, "queue": queue.name, "seed": str(batch.seed), "unit": queue.unit,
        "overlap": batch.params["overlap_items"], "reviewers": queue.reviewers_per_item,
        "gold_reviewers": max(queue.reviewers_per_item, len(queue.assignees) or 1),
    })  # fmt: skip


__all__ = ["assemble", "design_params", "write_items"]
