"""From drawn units to a batch: its recorded design parameters, ids, reviewers plan, A/B sides and shown order.

Everything here is decided by the seed and the units (SHA-256 of both), never by chance at run
time: the batch id is a digest of the design and the sample, item ids are `<batch id>-<position>`,
so the same seed on the same data gives the same batch, ids included.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import duckdb

from reviewdesk.sample.allocation import round_half_up
from reviewdesk.sample.batches import Batch
from reviewdesk.sample.gold import gold_wanted
from reviewdesk.sample.population import HASH_RULE, Unit, digest
from schemas.queue import QueueConfig


def design_params(
    queue: QueueConfig, requested: int, seed_source: str, details: dict, sampled: int, gold: list[Unit]
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
            "gold_items": len(gold),
        }
    params |= {"hash": HASH_RULE, "duckdb": duckdb.__version__}
    return params


def assemble(
    queue: QueueConfig, seed: int, population: int, units: list[Unit], gold: list[Unit], params: dict
) -> Batch:
    """Items with deterministic ids, the reviewers plan, A/B sides and a seeded shown order."""
    units = sorted(units, key=lambda u: u.uid)
    gold = sorted(gold, key=lambda u: u.uid)
    # The batch id is a digest of the design and the sample: the same seed on the same data gives
    # the same id (and item ids), and a different sample can never collide with a recorded batch.
    design = {
        "queue": queue.name, "kind": queue.kind, "strategy": queue.sampling.strategy, "seed": seed,
        "rubric_version": queue.rubric_version, "population": population,
        # where the seed came from, why the size was capped (the size itself is in), units held back: not design
        "params": {k: v for k, v in params.items() if k not in ("seed_source", "backlog", "units_held")},
    }  # fmt: skip
    fingerprint = hashlib.sha256(json.dumps(design, sort_keys=True, default=str).encode())
    for u in units:
        fingerprint.update(f"\x1e{u.uid}\x1f{u.pi!r}".encode())
    for u in gold:
        fingerprint.update(f"\x1egold\x1f{u.uid}".encode())
    batch_id = "b-" + fingerprint.hexdigest()[:12]
    overlap = params["overlap_items"]
    # One seeded digest per item decides its shown position (hex 0-16), whether it is among the
    # items with several reviewers (16-32) and, for a pair, which run is shown left (hex 32).
    entries = [(d, u, False) for u in units for d in [digest(seed, u.uid)]]
    entries += [(d, u, True) for u in gold for d in [digest(seed, "gold", u.uid)]]
    several = {u.uid for d, u, _ in sorted((e for e in entries if not e[2]), key=lambda e: e[0][16:32])[:overlap]}
    entries.sort(key=lambda e: e[0][:16])
    gold_reviewers = max(queue.reviewers_per_item, len(queue.assignees) or 1)
    items = []
    for position, (d, u, is_gold) in enumerate(entries, 1):
        left = None if u.run_a is None else u.run_a if int(d[32], 16) % 2 == 0 else u.run_b
        items.append({
            "item_id": f"{batch_id}-{position}", "position": position,
            "run_id": u.run_id, "run_a": u.run_a, "run_b": u.run_b, "left_run_id": left, "stratum": u.stratum,
            "inclusion_probability": u.pi, "is_gold": is_gold,
            "unit": queue.unit, "unit_id": None if queue.unit == "run" else u.uid, "unit_key": u.key,
            "unit_first_start": u.first_start, "unit_last_start": u.last_start,
            "gold_answer": json.loads(u.gold_answer) if u.gold_answer is not None else None,
            "reviewers_needed": gold_reviewers if is_gold else queue.reviewers_per_item if u.uid in several else 1,
        })  # fmt: skip
    return Batch(
        batch_id, queue.name, queue.kind, queue.sampling.strategy, seed, population, len(units),
        queue.rubric_version, datetime.now(UTC), params, items, item_count=len(items),
    )  # fmt: skip


__all__ = ["assemble", "design_params"]
