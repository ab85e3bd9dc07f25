"""Gold items: runs with a known answer, mixed into a batch to measure reviewers' accuracy.

A queue's `gold_source` is SQL over runs giving each run's known answers (a JSON object per
criterion), or NULL when it has none. Gold runs come from the same population as the sample (so
they pass its filter) but never duplicate a sampled run, and have no inclusion probability: they
are not part of the sample's design and never enter an estimate.
"""

from __future__ import annotations

import duckdb

from reviewdesk.sample.allocation import round_half_up
from reviewdesk.sample.population import Population, Unit, bottom
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
    con: duckdb.DuckDBPyConnection, pop: Population, queue: QueueConfig, sampled: int, taken: set[str]
) -> list[Unit]:
    """Gold items: `gold_wanted` population runs with a known answer, in a seeded order, none of them sampled."""
    if queue.gold_fraction <= 0 or queue.gold_source is None:
        return []
    want = gold_wanted(queue, sampled)
    units_sql = pop.units({"__g": _gold_expression(queue.gold_source)})
    h = pop.hash("__uid", "gold")  # an order of its own, independent of the sample's
    query = f"SELECT {{'u': __uid, 'h': {h}, 'g': __g}} FROM ({units_sql}) WHERE __g IS NOT NULL"
    # The first k in gold order, minus the sampled ones. One pass, but for a sample that took many of
    # them: then a second, long enough to hold `want` free ones even if every sampled unit comes first.
    for k in (2 * want + 16, want + len(taken)):
        rows = [r[0] for r in con.execute(f"{query} ORDER BY {h}, __uid LIMIT {k}").fetchall()]
        free = [r for r in bottom(rows, k) if r["u"] not in taken][:want]
        if len(free) == want or len(rows) < k:
            break
    return [Unit(r["u"], r["u"], None, None, None, None, r["g"]) for r in free]


__all__ = ["draw_gold", "gold_wanted"]
