"""Gold items: runs with a known answer, mixed into a batch to measure reviewers' accuracy.

A queue's `gold_source` is SQL over runs giving each run's known answers (a JSON object per
criterion), or NULL when it has none. Gold runs come from the same population as the sample (so
they pass its filter) but never duplicate a sampled run, and have no inclusion probability: they
are not part of the sample's design and never enter an estimate.
"""

from __future__ import annotations

import duckdb

from reviewdesk.sample.allocation import round_half_up
from reviewdesk.sample.population import Population
from reviewdesk.stores.sqlcheck import check_expression
from schemas.queue import QueueConfig


def gold_wanted(queue: QueueConfig, sampled: int) -> int:
    """How many gold items a batch of `sampled` units gets: round(sampled * gold_fraction), at least 1."""
    return max(1, round_half_up(sampled * queue.gold_fraction))


def _gold_expression(source: str) -> str:
    """gold_source as JSON text, NULL (SQL or JSON null) when the run has no known answer."""
    kind = check_expression(source)
    as_json = {"JSON": f"({source})", "VARCHAR": f"CAST(({source}) AS JSON)"}.get(kind, f"to_json(({source}))")
    return f"NULLIF(CAST({as_json} AS VARCHAR), 'null')"


def draw_gold(
    con: duckdb.DuckDBPyConnection, pop: Population, queue: QueueConfig, sampled: int, population: int
) -> int:
    """Add gold items to the drawn units (`pop.drawn`, holding the `sampled` units of a `population`):
    `gold_wanted` population runs with a known answer, in a seeded order, none of them sampled; how many.

    One pass: the runs with a known answer, less the sampled ones, the first in gold order kept (a top-k,
    no sort). A sample of the whole population leaves no run to be gold, and needs none."""
    if queue.gold_fraction <= 0 or queue.gold_source is None or sampled >= population:
        return 0
    units_sql = pop.units({"__g": _gold_expression(queue.gold_source)})
    h = pop.hash("__uid", "gold")  # an order of its own, independent of the sample's
    return con.execute(f"""
        INSERT INTO {pop.drawn} BY NAME
        SELECT __uid AS uid, __uid AS run_id, TRUE AS is_gold, __g AS gold_answer
        FROM ({units_sql}) g ANTI JOIN {pop.drawn} d ON d.uid = g.__uid
        WHERE __g IS NOT NULL ORDER BY {h}, __uid LIMIT {gold_wanted(queue, sampled)}
    """).fetchone()[0]


__all__ = ["draw_gold", "gold_wanted"]
