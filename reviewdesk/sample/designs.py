"""Draw review batches from `warehouse.runs` with known inclusion probabilities, inside DuckDB.

Reviewers only see a sample, so every estimate made from their labels (the error rate of a model,
say) is only as good as the sample's design. Each item therefore records the probability `pi`
with which its run (or pair) entered the batch, and `horvitz_thompson` turns labels and those
probabilities into an unbiased population estimate with a confidence interval.

How randomness works. A batch is fixed by its seed: each unit gets the key
`hash(unit_id || ':' || seed)` (DuckDB's 64-bit string hash, the same in every process; the seed
is part of the hashed string, because `hash(id, seed)` only XORs the seed in and would give
strongly dependent samples for different seeds). A simple random sample of n is the n units with
the smallest keys ("bottom-k"), found with `min_by(payload, key, n)`: one pass, a heap of n per
group, no sort of the population (past 100,000 units, a sort per group). The few decisions taken
in Python (ties in allocation, which items get several reviewers, the shown order, the A/B side)
use SHA-256 of the seed and the unit. The batch id is a digest of the design and the sample, and
item ids are `<batch id>-<position>`, so the same seed on the same data gives the same batch,
ids included.

Designs (`queue.sampling.strategy`):
- random: bottom-n over the whole population; pi = n/N exactly.
- stratified: one GROUP BY counts each stratum, the allocation is made in Python, then bottom-n_h
  per stratum; pi = n_h/N_h, so the sum of 1/pi over the batch is N exactly.
- weighted: pi_i = n * w_i / W with iterative capping, realised by systematic PPS over the units
  ordered by (weight class, seeded hash) (see `_weighted`): its inclusion probabilities are exactly pi.

Pairwise queues sample pairs: a unit is a `pairing.key` value whose population runs show at
least two `pairing.compare` values; strata and weights of a pair are those of its run_a.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import duckdb

from reviewdesk.errors import ConfigError, EmptyPopulation
from reviewdesk.sample.batches import Batch, load_batch, write_batch
from reviewdesk.sample.estimates import Estimate, horvitz_thompson
from reviewdesk.stores.sqlcheck import check_expression
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

# Estimates live in reviewdesk.sample.estimates; they are re-exported because sampling and estimation go together.
__all__ = ["Estimate", "allocate", "draw_batch", "horvitz_thompson", "inclusion_probabilities", "systematic_allocation"]

HASH_RULE = "duckdb hash(unit_id || ':' || seed); bottom-k by hash is a simple random sample"
MAX_SEED = 2**63  # the batches.seed column is BIGINT
HEAP_LIMIT = 100_000  # units kept in min_by heaps at once; larger draws sort each group instead


@dataclass
class _Unit:
    """One sampled unit before it becomes an item: a run, or a pair of runs."""

    uid: str
    run_id: str | None
    run_a: str | None
    run_b: str | None
    pi: float | None
    stratum: str | None = None
    gold_answer: str | None = None


# ---------------------------------------------------------------------------------------------
# Public API


def draw_batch(wh: Warehouse, queue: QueueConfig, size: int | None = None, seed: int | None = None) -> Batch:
    """Draw a batch for `queue` and record it (one `batches` row and its `items`) in one transaction.

    The seed is the argument, else the queue's `sampling.seed`, else a fresh random one; it is
    always recorded, and the same seed on the same data gives the same batch. Drawing a batch
    that is already recorded (same queue, design, seed and sample) returns the recorded one and
    writes nothing, so a retried flow cannot duplicate it.
    """
    requested = queue.sampling.size if size is None else size
    if requested < 1:
        raise ConfigError(f"Batch size must be at least 1, not {requested}.")
    if queue.kind == "pairwise" and queue.gold_fraction > 0:
        raise ConfigError(
            f"Queue {queue.name!r} is pairwise and has gold_fraction {queue.gold_fraction}: gold items are "
            "supported for single queues only. Set gold_fraction to 0 (and remove gold_source)."
        )
    seed_source = "argument" if seed is not None else "queue" if queue.sampling.seed is not None else "fresh"
    seed = seed if seed is not None else queue.sampling.seed
    if seed is None:
        seed = secrets.randbelow(2**31)
    if not -MAX_SEED <= seed < MAX_SEED:
        raise ConfigError(f"Seed {seed} does not fit a 64-bit integer; pick a smaller one.")

    with wh.transaction() as con:
        pop = _Population(queue, seed)
        population, units, details = _DRAWS[queue.sampling.strategy](con, pop, requested)
        if population == 0:
            raise EmptyPopulation(pop.empty_message())
        gold = _draw_gold(con, pop, queue, len(units), {u.uid for u in units})
        params = _params(queue, requested, seed_source, details, len(units), gold)
        batch = _assemble(queue, seed, population, units, gold, params)
        if con.execute("SELECT 1 FROM batches WHERE batch_id = ?", [batch.batch_id]).fetchall():
            return load_batch(wh, batch.batch_id)
        write_batch(con, batch)
    return batch


# ---------------------------------------------------------------------------------------------
# The population: one SQL relation of units, whatever the queue's kind


def _lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def _uniform(seed: int, purpose: str) -> float:
    """A seeded uniform number in [0, 1), from 53 bits of SHA-256."""
    return (int(_digest(seed, purpose)[:14], 16) >> 3) / 2.0**53


class _Population:
    """SQL for a queue's population: one row per unit (a run, or a pair), with its seeded hash."""

    def __init__(self, queue: QueueConfig, seed: int) -> None:
        self.queue, self.seed = queue, seed
        s = queue.sampling
        self.where = f"({s.filter})"
        if s.exclude_reviewed:
            self.where += (
                " AND run_id NOT IN (SELECT r FROM (SELECT unnest([run_id, run_a, run_b]) AS r FROM items"
                f" WHERE queue = {_lit(queue.name)}) WHERE r IS NOT NULL)"
            )

    @property
    def pairwise(self) -> bool:
        return self.queue.kind == "pairwise"

    def hash(self, uid: str, purpose: str = "") -> str:
        return f"hash({uid} || {_lit(f':{purpose}{self.seed}')})"

    def units(self, extra: dict[str, str] | None = None) -> str:
        """SELECT __uid, __h (UBIGINT), __run / __a, __b, and `extra` expressions (over runs) by name."""
        cols = "".join(f", ({expr}) AS {name}" for name, expr in (extra or {}).items())
        if not self.pairwise:
            h = self.hash("run_id")
            return f"SELECT run_id AS __uid, {h} AS __h, run_id AS __run{cols} FROM runs WHERE {self.where}"
        p = self.queue.pairing
        assert p is not None
        # Per key: the run with the smallest seeded hash, then the smallest-hash run of another
        # compare value. Runs with a NULL key or compare value cannot be paired.
        return f"""
            WITH __cand AS (
                SELECT run_id AS __r, CAST(({p.key}) AS VARCHAR) AS __k, CAST(({p.compare}) AS VARCHAR) AS __c,
                       {self.hash("run_id")} AS __rh
                FROM runs WHERE {self.where} AND ({p.key}) IS NOT NULL AND ({p.compare}) IS NOT NULL),
            __first AS (
                SELECT __k, arg_min({{'r': __r, 'c': __c}}, __rh) AS __f FROM __cand
                GROUP BY __k HAVING count(DISTINCT __c) >= 2),
            __second AS (
                SELECT f.__k, arg_min(c.__r, c.__rh) AS __r2 FROM __cand c JOIN __first f
                ON c.__k = f.__k AND c.__c <> f.__f.c GROUP BY f.__k),
            __pairs AS (
                SELECT least(f.__f.r, s.__r2) AS __a, greatest(f.__f.r, s.__r2) AS __b
                FROM __first f JOIN __second s USING (__k))
            SELECT __a || ' ' || __b AS __uid, {self.hash("__a || ' ' || __b")} AS __h, __a, __b{cols}
            FROM __pairs JOIN runs ON runs.run_id = __pairs.__a"""

    def payload(self, **extra: str) -> str:
        """What a drawn unit brings back: its id, runs and hash (to sort by, in Python), plus `extra`."""
        fields = {"u": "__uid", "h": "__h"} | ({"a": "__a", "b": "__b"} if self.pairwise else {"r": "__run"}) | extra
        return "{" + ", ".join(f"'{k}': {v}" for k, v in fields.items()) + "}"

    def unit(self, row: dict, pi: float | None, stratum: str | None = None) -> _Unit:
        if self.pairwise:
            return _Unit(row["u"], None, row["a"], row["b"], pi, stratum)
        return _Unit(row["u"], row["r"], None, None, pi, stratum)

    def empty_message(self) -> str:
        s, q = self.queue.sampling, self.queue
        unreviewed = " that are not yet in one of its batches" if s.exclude_reviewed else ""
        what = f"no runs match the filter of queue {q.name!r} ({s.filter}){unreviewed}"
        if self.pairwise and q.pairing is not None:
            what = (
                f"no pairs for queue {q.name!r}: among runs matching its filter ({s.filter}){unreviewed}, "
                f"no {q.pairing.key} value has runs with two different {q.pairing.compare} values"
            )
        return f"Nothing to sample: {what}; ingest runs or loosen sampling.filter."


def _bottom(rows: list[dict] | None, k: int) -> list[dict]:
    """The k rows with the smallest hash (ties by unit id), in that order."""
    return sorted(rows or [], key=lambda r: (r["h"], r["u"]))[:k]


# ---------------------------------------------------------------------------------------------
# The three designs; each returns (population size, drawn units, details for `params`)

Draw = tuple[int, list[_Unit], dict[str, Any]]


def _random(con: duckdb.DuckDBPyConnection, pop: _Population, requested: int) -> Draw:
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
    return population, [pop.unit(r, n / population) for r in _bottom(rows, n)], {}


def _stratified(con: duckdb.DuckDBPyConnection, pop: _Population, requested: int) -> Draw:
    s = pop.queue.sampling
    names = [f"__s{i}" for i in range(len(s.stratify_by))]
    strata_sql = pop.units({n: f"CAST(({e}) AS VARCHAR)" for n, e in zip(names, s.stratify_by, strict=True)})
    counts = _counts(con, strata_sql, names)
    population = sum(counts.values())
    if population == 0:
        return 0, [], {}
    n = min(requested, population)
    keys = sorted(counts, key=lambda key: _digest(pop.seed, "stratum", _label(key)))  # seeded tie order
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
    pop: _Population,
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
        return {tuple(key): _bottom(rows, alloc[tuple(key)]) for *key, rows in con.execute(sql).fetchall()}
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
    return {key: _bottom(rows, alloc[key]) for key, rows in found.items()}


def _label(key: tuple) -> str:
    """The stratum as shown and stored: its values joined by ' | ' (NULL for a missing value)."""
    return " | ".join("NULL" if v is None else str(v) for v in key)


def allocate(counts: Sequence[int], size: int, method: str) -> list[int]:
    """Split `size` over strata of `counts` units ('proportional' or 'equal'), each capped at its count.

    Proportional: largest-remainder rounding of size * N_h / N (exact fractions; ties go to the
    stratum listed first, so pass strata in a seeded order). When size allows, every stratum gets
    at least one unit, taken from the most over-allocated stratum: a stratum without a sampled
    unit would have no 1/pi weight and bias every estimate. Equal: size / H each; what a small
    stratum cannot take is shared again among the others, and a remainder smaller than the
    number of strata goes one unit each to the strata listed first.
    """
    h, total = len(counts), sum(counts)
    if not 0 <= size <= total:
        raise ValueError(f"cannot allocate {size} over strata holding {total} units")
    if method == "proportional":
        quota = [Fraction(size * c, total) for c in counts]
        alloc = [math.floor(q) for q in quota]
        order = sorted(range(h), key=lambda i: -(quota[i] - alloc[i]))  # stable: list order breaks ties
        for i in order[: size - sum(alloc)]:
            alloc[i] += 1
        if size >= h:
            for i in sorted((i for i in range(h) if alloc[i] == 0), key=lambda i: -quota[i]):
                donor = max((j for j in range(h) if alloc[j] > 1), key=lambda j: (alloc[j] - quota[j], -j))
                alloc[donor] -= 1
                alloc[i] += 1
        return alloc
    if method == "equal":
        alloc, left = [0] * h, size
        while left:
            open_ = [i for i in range(h) if alloc[i] < counts[i]]
            share = left // len(open_)
            if share == 0:
                for i in open_[:left]:
                    alloc[i] += 1
                break
            for i in open_:
                take = min(share, counts[i] - alloc[i])
                alloc[i] += take
                left -= take
        return alloc
    raise ValueError(f"unknown allocation {method!r}: use proportional or equal")


def _weighted(con: duckdb.DuckDBPyConnection, pop: _Population, requested: int) -> Draw:
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
    start = _uniform(pop.seed, f"systematic-start:{population}")
    alloc = dict(zip(classes, systematic_allocation([pi[m] * counts[m] for m in classes], start), strict=True))
    drawn = _bottom_by_group(con, pop, units_sql, {"__m": "INTEGER"}, {(m,): k for m, k in alloc.items()})
    units = [pop.unit(row, float(pi[key[0]])) for key, rows in drawn.items() for row in rows]
    info = [
        {"matches": [w.when for j, w in enumerate(weights) if m >> j & 1], "weight": weight[m],
         "population": counts[m], "inclusion_probability": float(pi[m]), "size": alloc[m]}
        for m in classes
    ]  # fmt: skip
    return population, units, {"weight_classes": info, "systematic_start": start}


def inclusion_probabilities(classes: dict[Any, tuple[float, int]], n: int) -> dict[Any, Fraction]:
    """pi per class {key: (weight, units)}: n*w/W, with units whose pi reaches 1 taken with certainty.

    Capping repeats until no class reaches 1: after each round the certain units leave, and the
    remaining sample size is shared over the remaining weight. Exact fractions make the test
    `pi >= 1` exact, so sum(pi * units) == n holds exactly.
    """
    total = sum(c for _, c in classes.values())
    if n >= total:
        return dict.fromkeys(classes, Fraction(1))
    certain: set = set()
    while True:
        left = n - sum(classes[k][1] for k in certain)
        mass = sum(Fraction(w) * c for k, (w, c) in classes.items() if k not in certain)
        new = {k for k, (w, _) in classes.items() if k not in certain and left * Fraction(w) >= mass}
        if not new:
            break
        certain |= new
    return {k: Fraction(1) if k in certain else left * Fraction(w) / mass for k, (w, _) in classes.items()}


def systematic_allocation(lengths: Sequence[Fraction], start: float | Fraction) -> list[int]:
    """How many of the points start + k (k = 0, 1, ...) fall on each of the intervals laid end to end.

    An interval [a, b) holds ceil(b - start) - ceil(a - start) points: floor or ceil of its
    length, and exactly its length on average over start ~ U[0, 1). Exact fractions: the counts
    add up to the total length when it is an integer (the sample size), whatever the rounding.
    """
    u, a, counts = Fraction(start), Fraction(0), []
    for length in lengths:
        b = a + length
        counts.append(math.ceil(b - u) - math.ceil(a - u))
        a = b
    return counts


_DRAWS = {"random": _random, "stratified": _stratified, "weighted": _weighted}


# ---------------------------------------------------------------------------------------------
# Gold items, the assignment plan, ids and the write


def _gold_expression(source: str) -> str:
    """gold_source as JSON text, NULL (SQL or JSON null) when the run has no known answer."""
    kind = check_expression(source)
    as_json = {"JSON": f"({source})", "VARCHAR": f"CAST(({source}) AS JSON)"}.get(kind, f"to_json(({source}))")
    return f"NULLIF(CAST({as_json} AS VARCHAR), 'null')"


def _draw_gold(
    con: duckdb.DuckDBPyConnection, pop: _Population, queue: QueueConfig, sampled: int, taken: set[str]
) -> list[_Unit]:
    """Gold items: round(size * gold_fraction) (at least 1) population runs with a known answer, not sampled."""
    if queue.gold_fraction <= 0 or queue.gold_source is None:
        return []
    want = max(1, _round(sampled * queue.gold_fraction))
    units_sql = pop.units({"__g": _gold_expression(queue.gold_source)})
    h = pop.hash("__uid", "gold")  # an order of its own, independent of the sample's
    k = 2 * want + 16
    while True:  # the first k in gold order, minus the sampled ones; rarely more than one pass
        query = f"SELECT {{'u': __uid, 'h': {h}, 'g': __g}} FROM ({units_sql}) WHERE __g IS NOT NULL"
        rows = [r[0] for r in con.execute(f"{query} ORDER BY {h}, __uid LIMIT {k}").fetchall()]
        free = [r for r in _bottom(rows, k) if r["u"] not in taken][:want]
        if len(free) == want or len(rows) < k:
            return [_Unit(r["u"], r["u"], None, None, None, None, r["g"]) for r in free]
        k *= 4


def _round(x: float) -> int:
    """Round half up: 2.5 -> 3 (Python's round would give 2)."""
    return math.floor(x + 0.5)


def _params(
    queue: QueueConfig, requested: int, seed_source: str, details: dict, sampled: int, gold: list[_Unit]
) -> dict:
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
        "overlap_items": _round(sampled * queue.overlap_fraction) if queue.reviewers_per_item > 1 else 0,
    }
    if queue.gold_fraction > 0:
        params |= {
            "gold_fraction": queue.gold_fraction,
            "gold_source": queue.gold_source,
            "gold_requested": max(1, _round(sampled * queue.gold_fraction)),
            "gold_items": len(gold),
        }
    params |= {"hash": HASH_RULE, "duckdb": duckdb.__version__}
    return params


def _assemble(
    queue: QueueConfig, seed: int, population: int, units: list[_Unit], gold: list[_Unit], params: dict
) -> Batch:
    """Items with deterministic ids, the reviewers plan, A/B sides and a seeded shown order."""
    units = sorted(units, key=lambda u: u.uid)
    gold = sorted(gold, key=lambda u: u.uid)
    # The batch id is a digest of the design and the sample: the same seed on the same data gives
    # the same id (and item ids), and a different sample can never collide with a recorded batch.
    design = {
        "queue": queue.name, "kind": queue.kind, "strategy": queue.sampling.strategy, "seed": seed,
        "rubric_version": queue.rubric_version, "population": population,
        "params": {k: v for k, v in params.items() if k != "seed_source"},  # where the seed came from: not design
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
    entries = [(d, u, False) for u in units for d in [_digest(seed, u.uid)]]
    entries += [(d, u, True) for u in gold for d in [_digest(seed, "gold", u.uid)]]
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
            "gold_answer": json.loads(u.gold_answer) if u.gold_answer is not None else None,
            "reviewers_needed": gold_reviewers if is_gold else queue.reviewers_per_item if u.uid in several else 1,
        })  # fmt: skip
    return Batch(
        batch_id, queue.name, queue.kind, queue.sampling.strategy, seed, population, len(units),
        queue.rubric_version, datetime.now(UTC), params, items,
    )  # fmt: skip
