"""Draw review batches from `warehouse.runs` with known inclusion probabilities, inside DuckDB.

Reviewers only see a sample, so every estimate made from their labels (the error rate of a model,
say) is only as good as the sample's design. Each item therefore records the probability `pi`
with which its run (or pair) entered the batch, and `reviewdesk.sample.estimates.horvitz_thompson`
turns labels and those probabilities into an unbiased population estimate with a confidence interval.

A batch is fixed by its seed. The population and its seeded hash are in `population`: a simple
random sample of n is the n units with the smallest keys ("bottom-k"), found with
`min_by(payload, key, n)`: one pass, a heap of n per group, no sort of the population (past
100,000 units, a sort per group). How a sample is split over strata or weight classes is in
`allocation`; gold items are in `gold`; ids, the reviewers plan and the shown order in `assembly`.

Designs (`queue.sampling.strategy`):
- random: bottom-n over the whole population; pi = n/N exactly.
- stratified: one GROUP BY counts each stratum, the allocation is made in Python, then bottom-n_h
  per stratum; pi = n_h/N_h, so the sum of 1/pi over the batch is N exactly.
- weighted: pi_i = n * w_i / W with iterative capping, realised by systematic PPS over the units
  ordered by (weight class, seeded hash) (see `_weighted`): its inclusion probabilities are exactly pi.

Pairwise populations leave out pairs whose two answers are identical after whitespace normalisation
(`population`), so no reviewer is shown one; the batch records how many keys were left out
(`Batch.identical_skipped`, from its recorded params), and N and every pi are over the pairs that remain.
"""

from __future__ import annotations

import math
import secrets
from datetime import datetime
from typing import Any

import duckdb

from reviewdesk.errors import ConfigError, EmptyPopulation
from reviewdesk.sample.allocation import allocate, inclusion_probabilities, systematic_allocation
from reviewdesk.sample.assembly import assemble, design_params
from reviewdesk.sample.batches import Batch, load_batch, write_to_warehouse
from reviewdesk.sample.gold import draw_gold
from reviewdesk.sample.population import Population, Unit, bottom, digest, trace_keys, uniform, unit_windows
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

MAX_SEED = 2**63  # the batches.seed column is BIGINT
HEAP_LIMIT = 100_000  # units kept in min_by heaps at once; larger draws sort each group instead


def draw_batch(
    wh: Warehouse,
    queue: QueueConfig,
    size: int | None = None,
    seed: int | None = None,
    backlog: dict | None = None,
    now: datetime | None = None,
) -> Batch:
    """Draw a batch for `queue` and record it (one `batches` row and its `items`) in one transaction.

    `backlog`, when the review cycle drew fewer than asked to keep the queue's backlog in bounds
    (`reviewdesk.review.backlog`), is recorded in the batch's parameters as the reason.

    The seed is the argument, else the queue's `sampling.seed`, else a fresh random one; it is
    always recorded, and the same seed on the same data gives the same batch. Drawing a batch
    that is already recorded (same queue, design, seed and sample) returns the recorded one and
    writes nothing, so a retried flow cannot duplicate it.

    A trace or session queue draws complete units (`reviewdesk.sample.units`); `now` (the clock by default)
    is when their settle time is measured from, and the units held back are counted in `units_held`.
    """
    requested = queue.sampling.size if size is None else size
    if requested < 1:
        raise ConfigError(f"Batch size must be at least 1, not {requested}.")
    if queue.kind == "pairwise" and queue.gold_fraction > 0:
        raise ConfigError(
            f"Queue {queue.name!r} is pairwise and has gold_fraction {queue.gold_fraction}: gold items are "
            "supported for single queues only. Set gold_fraction to 0 (and remove gold_source)."
        )
    if queue.unit != "run" and queue.gold_fraction > 0:
        raise ConfigError(
            f"Queue {queue.name!r} reviews {queue.unit} units and has gold_fraction {queue.gold_fraction}: gold items "
            "are supported for run queues only. Set gold_fraction to 0 (and remove gold_source)."
        )
    seed_source = "argument" if seed is not None else "queue" if queue.sampling.seed is not None else "fresh"
    seed = seed if seed is not None else queue.sampling.seed
    if seed is None:
        seed = secrets.randbelow(2**31)
    if not -MAX_SEED <= seed < MAX_SEED:
        raise ConfigError(f"Seed {seed} does not fit a 64-bit integer; pick a smaller one.")

    with wh.transaction() as con, Population(con, queue, seed, now) as pop:
        identical = pop.identical_pairs()
        population, units, details = _DRAWS[queue.sampling.strategy](con, pop, requested)
        if queue.unit == "trace":
            units = trace_keys(con, units)
        if pop.frame is not None:
            units = unit_windows(con, queue.unit, units)
            details |= {"unit": queue.unit, "settle_minutes": queue.settle_minutes, "units_held": pop.units_held}
        if population == 0:
            raise EmptyPopulation(pop.empty_message(identical))
        gold = draw_gold(con, pop, queue, len(units), {u.uid for u in units})
        if pop.pairwise:
            details["identical_pairs_skipped"] = identical
        params = design_params(queue, requested, seed_source, details, len(units), gold)
        if backlog is not None:
            params["backlog"] = backlog
        batch = assemble(queue, seed, population, units, gold, params)
        if con.execute("SELECT 1 FROM batches WHERE batch_id = ?", [batch.batch_id]).fetchall():
            return load_batch(wh, batch.batch_id)
        write_to_warehouse(con, batch)
    return batch


# ---------------------------------------------------------------------------------------------
# The three designs; each returns (population size, drawn units, details for `params`)

Draw = tuple[int, list[Unit], dict[str, Any]]


def _random(con: duckdb.DuckDBPyConnection, pop: Population, requested: int) -> Draw:
    units_sql = pop.units()
    if requested <= HEAP_LIMIT:  # one pass: the count and a heap of the `requested` smallest hashes
        population, rows = con.execute(
            f"SELECT count(*), min_by({pop.payload()}, __h, {requested}) FROM ({units_sql})"
        ).fetchone()
    else:
        population = con.execute(f"SELECT count(*) FROM ({units_sql})").fetchone()[0]
        query = f"SELECT {pop.payload()} FROM ({units_sql}) ORDER BY __h, __uid LIMIT {requested}"
        rows = [r[0] for r in con.execute(query).fetchall()]
    n = min(requested, population)
    return population, [pop.unit(r, n / population) for r in bottom(rows, n)], {}


def _stratified(con: duckdb.DuckDBPyConnection, pop: Population, requested: int) -> Draw:
    s = pop.queue.sampling
    names = [f"__s{i}" for i in range(len(s.stratify_by))]
    strata_sql = pop.units({n: f"CAST(({e}) AS VARCHAR)" for n, e in zip(names, s.stratify_by, strict=True)})
    counts = _counts(con, strata_sql, names)
    population = sum(counts.values())
    if population == 0:
        return 0, [], {}
    n = min(requested, population)
    keys = sorted(counts, key=lambda key: digest(pop.seed, "stratum", _label(key)))  # seeded tie order
    alloc = dict(zip(keys, allocate([counts[k] for k in keys], n, s.allocation), strict=True))
    units = [
        pop.unit(row, alloc[key] / counts[key], _label(key))
        for key, rows in _bottom_by_group(con, pop, strata_sql, dict.fromkeys(names, "VARCHAR"), alloc).items()
        for row in rows
    ]
    strata = [
        {"stratum": _label(k), "values": list(k), "population": counts[k], "size": alloc[k]}
        for k in sorted(counts, key=_label)
    ]
    return population, units, {"strata": strata}


def _counts(con: duckdb.DuckDBPyConnection, units_sql: str, cols: list[str]) -> dict[tuple, int]:
    """Units per group of `cols`: one aggregation pass, no sort."""
    sql = f"SELECT {', '.join(cols)}, count(*) FROM ({units_sql}) GROUP BY ALL"
    return {tuple(r[:-1]): r[-1] for r in con.execute(sql).fetchall()}


def _bottom_by_group(
    con: duckdb.DuckDBPyConnection,
    pop: Population,
    units_sql: str,
    groups: dict[str, str],
    alloc: dict[tuple, int],
) -> dict[tuple, list[dict]]:
    """A simple random sample of alloc[g] units from each group g: its alloc[g] smallest hashes.

    `groups` names the grouping columns of `units_sql` and their SQL types. Small allocations
    take one pass in which min_by keeps a heap of the largest allocation per group (and thread),
    never sorting the population. Past HEAP_LIMIT heap entries that would outgrow memory, so
    each group is sorted by hash instead (row_number over a partition, joined to its allocation).
    """
    k_max = max(alloc.values())
    if k_max == 0:
        return {}
    cols = ", ".join(groups)
    if k_max * len(alloc) <= HEAP_LIMIT:
        sql = f"SELECT {cols}, min_by({pop.payload()}, __h, {k_max}) FROM ({units_sql}) GROUP BY ALL"
        return {tuple(key): bottom(rows, alloc[tuple(key)]) for *key, rows in con.execute(sql).fetchall()}
    keys = [key for key, k in alloc.items() if k > 0]
    params = {f"g{j}": [key[j] for key in keys] for j in range(len(groups))} | {"n": [alloc[k] for k in keys]}
    wanted = ", ".join(f"unnest(CAST($g{j} AS {t}[])) AS __g{j}" for j, t in enumerate(groups.values()))
    match = " AND ".join(f"u.{c} IS NOT DISTINCT FROM a.__g{j}" for j, c in enumerate(groups))
    sql = f"""
        SELECT {", ".join(f"u.{c}" for c in groups)}, {pop.payload()}
        FROM ({units_sql}) u JOIN (SELECT {wanted}, unnest(CAST($n AS BIGINT[])) AS __n) a ON {match}
        QUALIFY row_number() OVER (PARTITION BY {", ".join(f"u.{c}" for c in groups)} ORDER BY __h, __uid) <= __n"""
    found: dict[tuple, list[dict]] = {}
    for *key, row in con.execute(sql, params).fetchall():
        found.setdefault(tuple(key), []).append(row)
    return {key: bottom(rows, alloc[key]) for key, rows in found.items()}


def _label(key: tuple) -> str:
    """The stratum as shown and stored: its values joined by ' | ' (NULL for a missing value)."""
    return " | ".join("NULL" if v is None else str(v) for v in key)


def _weighted(con: duckdb.DuckDBPyConnection, pop: Population, requested: int) -> Draw:
    """Probability proportional to weight: systematic PPS over the units ordered by (weight class, hash).

    Units of one weight class share pi_c (see `inclusion_probabilities`). Lay the classes end to
    end, class c covering an interval of length pi_c * N_c (total n), and let the points start + k,
    k = 0..n-1, start ~ U[0, 1), fall on them: class c receives n_c points, floor or ceil of its
    length, with E[n_c] = pi_c * N_c exactly (`systematic_allocation`). Within the class the n_c
    units are a simple random sample (the n_c smallest seeded hashes). So every unit is drawn with
    probability E[n_c] / N_c = pi_c exactly, and the batch has exactly n units. This is
    systematic PPS over the order (class, random): there, too, a class's segment holds n_c
    points and, the order inside it being random, which n_c of its units are hit is an SRS. It
    needs two aggregation passes and no sort of the population; a window of running sums over a
    random order would cost a full sort (6x slower on 10M runs).
    """
    weights = pop.queue.sampling.weights
    # A unit's weight class is the bitmask of the `when` conditions it meets (NULL counts as not).
    mask = " + ".join(f"(CASE WHEN ({w.when}) THEN {1 << j} ELSE 0 END)" for j, w in enumerate(weights))
    units_sql = pop.units({"__m": f"CAST({mask} AS INTEGER)"})
    counts = {key[0]: c for key, c in _counts(con, units_sql, ["__m"]).items()}
    population = sum(counts.values())
    if population == 0:
        return 0, [], {}
    n = min(requested, population)
    classes = sorted(counts)
    weight = {m: math.prod((w.weight for j, w in enumerate(weights) if m >> j & 1), start=1.0) for m in classes}
    pi = inclusion_probabilities({m: (weight[m], counts[m]) for m in classes}, n)
    # The start depends on the population too, so batches drawn one after another with a fixed queue seed
    # (and exclude_reviewed) round independently of each other.
    start = uniform(pop.seed, f"systematic-start:{population}")
    alloc = dict(zip(classes, systematic_allocation([pi[m] * counts[m] for m in classes], start), strict=True))
    drawn = _bottom_by_group(con, pop, units_sql, {"__m": "INTEGER"}, {(m,): k for m, k in alloc.items()})
    units = [pop.unit(row, float(pi[key[0]])) for key, rows in drawn.items() for row in rows]
    info = [
        {"matches": [w.when for j, w in enumerate(weights) if m >> j & 1], "weight": weight[m],
         "population": counts[m], "inclusion_probability": float(pi[m]), "size": alloc[m]}
        for m in classes
    ]  # fmt: skip
    return population, units, {"weight_classes": info, "systematic_start": start}


_DRAWS = {"random": _random, "stratified": _stratified, "weighted": _weighted}


__all__ = ["draw_batch"]
