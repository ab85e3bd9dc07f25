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
The drawn units go from the draw's aggregation into a table (`drawn`) and from there into the
warehouse's items, all in DuckDB: only counts and allocations come to Python.

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
from reviewdesk.sample.assembly import assemble, design_params, write_items
from reviewdesk.sample.batches import Batch, load_batch, write_record
from reviewdesk.sample.drawn import add_unit_keys, count
from reviewdesk.sample.gold import draw_gold
from reviewdesk.sample.population import Population, digest, uniform
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
    items: bool = True,
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

    The batch is returned as `load_batch` reads it; without its items if `items` is false (at 100,000
    items, reading them back costs a third of a second).
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
        population, details = _DRAWS[queue.sampling.strategy](con, pop, requested)
        if population == 0:
            raise EmptyPopulation(pop.empty_message(identical))
        if pop.frame is not None:
            add_unit_keys(con, pop.drawn, queue.unit)
            details |= {"unit": queue.unit, "settle_minutes": queue.settle_minutes, "units_held": pop.units_held}
        sampled = count(con, pop.drawn)
        gold = draw_gold(con, pop, queue, sampled, population)
        if pop.pairwise:
            details["identical_pairs_skipped"] = identical
        params = design_params(queue, requested, seed_source, details, sampled, gold)
        if backlog is not None:
            params["backlog"] = backlog
        batch = assemble(con, pop.drawn, queue, seed, population, params, sampled, gold)
        if not con.execute("SELECT 1 FROM batches WHERE batch_id = ?", [batch.batch_id]).fetchall():
            write_record(con, batch)
            write_items(con, pop.drawn, queue, batch)
    return load_batch(wh, batch.batch_id, items=items)


# ---------------------------------------------------------------------------------------------
# The three designs; each draws its units into `pop.drawn` and returns (population size, details for `params`)

Draw = tuple[int, dict[str, Any]]


def _random(con: duckdb.DuckDBPyConnection, pop: Population, requested: int) -> Draw:
    units_sql = pop.units()
    heap = f"{pop.drawn}_heap"
    if requested <= HEAP_LIMIT:  # one pass: the count and a heap of the `requested` smallest hashes
        con.execute(f"CREATE TEMP TABLE {heap} AS "
                    f"SELECT count(*) AS n, min_by({pop.payload()}, __h, {requested}) AS units FROM ({units_sql})")
        population = con.execute(f"SELECT n FROM {heap}").fetchone()[0]
        source = f"(SELECT unnest(units) AS r FROM {heap})"
    else:
        population = con.execute(f"SELECT count(*) FROM ({units_sql})").fetchone()[0]
        source = f"(SELECT {pop.payload()} AS r FROM ({units_sql}))"
    if population:
        n = min(requested, population)
        con.execute(f"INSERT INTO {pop.drawn} BY NAME SELECT {pop.fields('r')}, $pi AS pi FROM {source} "
                    f"ORDER BY r.h, r.u LIMIT {n}", {"pi": n / population})  # fmt: skip
    con.execute(f"DROP TABLE IF EXISTS {heap}")
    return population, {}


def _stratified(con: duckdb.DuckDBPyConnection, pop: Population, requested: int) -> Draw:
    s = pop.queue.sampling
    names = [f"__s{i}" for i in range(len(s.stratify_by))]
    strata_sql = pop.units({n: f"CAST(({e}) AS VARCHAR)" for n, e in zip(names, s.stratify_by, strict=True)})
    counts = _counts(con, strata_sql, names)
    population = sum(counts.values())
    if population == 0:
        return 0, {}
    n = min(requested, population)
    keys = sorted(counts, key=lambda key: digest(pop.seed, "stratum", _label(key)))  # seeded tie order
    alloc = dict(zip(keys, allocate([counts[k] for k in keys], n, s.allocation), strict=True))
    pi = {k: alloc[k] / counts[k] for k in keys}
    _take(con, pop, strata_sql, dict.fromkeys(names, "VARCHAR"), alloc, pi, {k: _label(k) for k in keys})
    strata = [
        {"stratum": _label(k), "values": list(k), "population": counts[k], "size": alloc[k]}
        for k in sorted(counts, key=_label)
    ]
    return population, {"strata": strata}


def _counts(con: duckdb.DuckDBPyConnection, units_sql: str, cols: list[str]) -> dict[tuple, int]:
    """Units per group of `cols`: one aggregation pass, no sort."""
    sql = f"SELECT {', '.join(cols)}, count(*) FROM ({units_sql}) GROUP BY ALL"
    return {tuple(r[:-1]): r[-1] for r in con.execute(sql).fetchall()}


def _take(
    con: duckdb.DuckDBPyConnection,
    pop: Population,
    units_sql: str,
    groups: dict[str, str],
    alloc: dict[tuple, int],
    pi: dict[tuple, float],
    labels: dict[tuple, str] | None = None,
) -> None:
    """Draw a simple random sample of alloc[g] units from each group g (its alloc[g] smallest hashes) into
    `pop.drawn`, each with inclusion probability pi[g] and stratum labels[g] (NULL without `labels`).

    `groups` names the grouping columns of `units_sql` and their SQL types. Small allocations
    take one pass in which min_by keeps a heap of the largest allocation per group (and thread),
    never sorting the population. Past HEAP_LIMIT heap entries that would outgrow memory, so
    each group is sorted by hash instead (row_number over a partition, joined to its allocation).
    """
    keys = [key for key, k in alloc.items() if k > 0]
    if not keys:
        return
    k_max, cols = max(alloc.values()), ", ".join(groups)
    if k_max * len(alloc) <= HEAP_LIMIT:
        heaps = f"SELECT {cols}, min_by({pop.payload()}, __h, {k_max}) AS __rows FROM ({units_sql}) GROUP BY ALL"
        source = f"(SELECT {cols}, unnest(__rows) AS r FROM ({heaps}))"
    else:
        source = f"(SELECT {cols}, {pop.payload()} AS r FROM ({units_sql}))"
    params = {f"g{j}": [key[j] for key in keys] for j in range(len(groups))} | {
        "n": [alloc[k] for k in keys], "pi": [pi[k] for k in keys], "s": [labels and labels[k] for k in keys]}
    wanted = "".join(f"unnest(CAST($g{j} AS {t}[])) AS __g{j}, " for j, t in enumerate(groups.values()))
    wanted += "unnest(CAST($n AS BIGINT[])) AS __n, unnest(CAST($pi AS DOUBLE[])) AS __pi, "
    wanted += "unnest(CAST($s AS VARCHAR[])) AS __s"
    match = " AND ".join(f"u.{c} IS NOT DISTINCT FROM a.__g{j}" for j, c in enumerate(groups))
    con.execute(f"""
        INSERT INTO {pop.drawn} BY NAME
        SELECT {pop.fields("u.r")}, a.__pi AS pi, a.__s AS stratum
        FROM {source} u JOIN (SELECT {wanted}) a ON {match}
        QUALIFY row_number() OVER (PARTITION BY {", ".join(f"u.{c}" for c in groups)} ORDER BY u.r.h, u.r.u) <= a.__n
    """, params)  # fmt: skip


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
        return 0, {}
    n = min(requested, population)
    classes = sorted(counts)
    weight = {m: math.prod((w.weight for j, w in enumerate(weights) if m >> j & 1), start=1.0) for m in classes}
    pi = inclusion_probabilities({m: (weight[m], counts[m]) for m in classes}, n)
    # The start depends on the population too, so batches drawn one after another with a fixed queue seed
    # (and exclude_reviewed) round independently of each other.
    start = uniform(pop.seed, f"systematic-start:{population}")
    alloc = dict(zip(classes, systematic_allocation([pi[m] * counts[m] for m in classes], start), strict=True))
    by_class = {(m,): float(pi[m]) for m in classes}
    _take(con, pop, units_sql, {"__m": "INTEGER"}, {(m,): k for m, k in alloc.items()}, by_class)
    info = [
        {"matches": [w.when for j, w in enumerate(weights) if m >> j & 1], "weight": weight[m],
         "population": counts[m], "inclusion_probability": float(pi[m]), "size": alloc[m]}
        for m in classes
    ]  # fmt: skip
    return population, {"weight_classes": info, "systematic_start": start}


_DRAWS = {"random": _random, "stratified": _stratified, "weighted": _weighted}


__all__ = ["draw_batch"]
