"""Sampling trace and session units: Horvitz-Thompson per unit, filters on aggregates, held units, seeds.

Hand-made runs: traces t1..t4 (t4 still arriving), a trace without a root, and two sessions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reviewdesk.errors import ConfigError
from reviewdesk.sample.designs import draw_batch
from reviewdesk.sample.units import UnitFrame
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

RUBRIC = {"instructions": "Was the trace right?", "criteria": [{"key": "ok", "type": "boolean"}]}
T0 = datetime(2026, 11, 1, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)


def queue(unit: str, sampling: dict, **top: object) -> QueueConfig:
    return QueueConfig.model_validate(
        {"name": "u", "unit": unit, "rubric": RUBRIC, "sampling": {"exclude_reviewed": False, **sampling}, **top}
    )


def add(wh: Warehouse, rows: list[tuple]) -> None:
    """(run_id, trace_id, parent_run_id, session_id, project, status, total_tokens, minutes after T0 or None: no
    start time)."""
    wh.con.executemany(
        "INSERT INTO runs (run_id, trace_id, parent_run_id, session_id, project, run_type, status, total_tokens,"
        " start_time, source_format, ingested_at) VALUES (?, ?, ?, ?, ?, 'llm', ?, ?, ?, 'test', now())",
        [[*r[:7], None if r[7] is None else T0 + timedelta(minutes=r[7])] for r in rows],
    )


@pytest.fixture
def wh(warehouse: Warehouse) -> Warehouse:
    add(warehouse, [
        ("t1", "T1", None, None, "support", "success", 10, 0), ("t1a", "T1", "t1", None, "support", "error", 5, 1),
        ("t2", "T2", None, None, "support", "success", 100, 2), ("t2a", "T2", "t2", None, "support", "success", 50, 3),
        ("t2b", "T2", "t2a", None, "support", "success", 50, 4),
        ("t3", "T3", None, None, "billing", "success", 1, 5),
        ("t4", "T4", None, None, "support", "success", 1, 10), ("t4a", "T4", "t4", None, "support", "error", 1, 45),
        ("x1", "TX", "gone", None, "support", "success", 1, 0), ("x2", "TX", "gone2", None, "support", "success", 1, 0),
        ("s1a", None, None, "S1", "support", "success", 1, 1), ("s1b", None, None, "S1", "support", "success", 1, 3),
        ("s1c", None, "s1b", "S1", "support", "error", 1, 4),
        ("s2a", None, None, "S2", "billing", "success", 1, 2),
    ])  # fmt: skip
    return warehouse


def test_trace_units_random_sum_of_inverse_pi_is_units(wh: Warehouse) -> None:
    # complete traces: T1, T2, T3, and s1a, s1b, s1c, s2a (no trace_id: each run is a trace of its own);
    # T4 is younger than 30 minutes at NOW, TX has two roots: both held.
    batch = draw_batch(wh, queue("trace", {"strategy": "random", "size": 3}), seed=1, now=NOW)
    assert batch.population == 7
    assert batch.params["units_held"] == 2
    assert sum(1 / i["inclusion_probability"] for i in batch.items) == pytest.approx(7)
    assert all(i["unit"] == "trace" and i["unit_id"] == i["run_id"] for i in batch.items)


def test_filter_on_aggregates_and_root(wh: Warehouse) -> None:
    q = queue("trace", {"strategy": "random", "size": 10,
                        "filter": "bool_or(status = 'error') OR sum(total_tokens) >= 200"})  # fmt: skip
    assert sorted(i["unit_id"] for i in draw_batch(wh, q, seed=1, now=NOW).items) == ["s1c", "t1", "t2"]
    q = queue("trace", {"strategy": "random", "size": 10, "filter": "count(*) = 3 AND root.project = 'support'"})
    assert [i["unit_id"] for i in draw_batch(wh, q, seed=1, now=NOW).items] == ["t2"]


def test_a_trace_younger_than_settle_time_is_held_then_sampled(wh: Warehouse) -> None:
    q = queue("trace", {"strategy": "random", "size": 10, "filter": "root.project = 'support'"})
    early = draw_batch(wh, q, seed=1, now=NOW)
    assert "t4" not in {i["unit_id"] for i in early.items}
    later = draw_batch(wh, q, seed=1, now=T0 + timedelta(minutes=76))
    assert "t4" in {i["unit_id"] for i in later.items}
    assert later.params["units_held"] == 1  # TX: no single root, ever


def test_a_root_is_a_run_whose_parent_is_missing_or_in_another_trace(wh: Warehouse) -> None:
    add(wh, [
        ("o1", "TO", "missing", None, "orphan", "success", 1, 0), ("o1a", "TO", "o1", None, "orphan", "success", 1, 1),
        ("z1", "TZ", "t1", None, "orphan", "success", 1, 2),  # t1 is in T1: TZ's one run is its root
        ("w1", "TW", None, None, "orphan", "success", 1, 3), ("w1a", "TW", "gone", None, "orphan", "success", 1, 4),
    ])  # fmt: skip
    q = queue("trace", {"strategy": "random", "size": 10, "filter": "root.project = 'orphan'"})
    batch = draw_batch(wh, q, seed=1, now=NOW)
    assert sorted((i["unit_id"], i["run_id"]) for i in batch.items) == [("o1", "o1"), ("z1", "z1")]
    assert batch.params["units_held"] == 3  # T4 (settling), TX and TW (two roots each)


def test_queue_sql_failing_on_a_unit_says_what_to_fix(wh: Warehouse) -> None:
    q = queue("trace", {"strategy": "random", "size": 2, "filter": "sum(CAST(project AS INTEGER)) > 0"})
    with pytest.raises(ConfigError, match=r"The queue's SQL failed on the trace units: .*TRY_CAST instead of CAST"):
        draw_batch(wh, q, seed=1, now=NOW)


def test_queue_sql_failing_only_on_a_held_unit_draws_the_complete_ones(wh: Warehouse) -> None:
    # the CAST fails on x1 alone, in TX (two roots, held): the complete units are drawn as if it did not exist
    bad = "sum(CAST(CASE WHEN run_id = 'x1' THEN 'bad' ELSE '1' END AS INTEGER)) >= 2"
    batch = draw_batch(wh, queue("trace", {"strategy": "random", "size": 10, "filter": bad}), seed=1, now=NOW)
    assert sorted(i["unit_id"] for i in batch.items) == ["t1", "t2"]  # T1 has 2 runs, T2 3; the others 1
    assert batch.params["units_held"] == 2


def test_session_units_stratified_and_weighted(wh: Warehouse) -> None:
    strat = draw_batch(wh, queue("session", {"strategy": "stratified", "stratify_by": ["root.project"],
                                             "size": 2}), seed=3, now=NOW)  # fmt: skip
    assert strat.population == 2
    assert sum(1 / i["inclusion_probability"] for i in strat.items) == pytest.approx(2)
    by_id = {i["unit_id"]: i for i in strat.items}
    assert by_id["S1"]["run_id"] == "s1b"  # the last turn's root
    weighted = draw_batch(wh, queue("session", {"strategy": "weighted", "size": 1, "weights": [
        {"when": "count(*) FILTER (WHERE parent_run_id IS NULL) >= 2", "weight": 3}]}), seed=3, now=NOW)  # fmt: skip
    (item,) = weighted.items
    pi = {"S1": 0.75, "S2": 0.25}[item["unit_id"]]
    assert item["inclusion_probability"] == pytest.approx(pi)


def test_same_seed_same_batch_and_exclude_reviewed(wh: Warehouse) -> None:
    a = draw_batch(wh, queue("trace", {"strategy": "random", "size": 2}), seed=7, now=NOW)
    b = draw_batch(wh, queue("trace", {"strategy": "random", "size": 2}), seed=7, now=NOW)
    assert a.batch_id == b.batch_id and a.items == b.items
    c = draw_batch(wh, queue("trace", {"strategy": "random", "size": 2, "exclude_reviewed": True}), seed=8, now=NOW)
    assert not {i["unit_id"] for i in a.items} & {i["unit_id"] for i in c.items}


def test_gold_is_refused_for_unit_queues(wh: Warehouse) -> None:
    q = queue("trace", {"strategy": "random", "size": 2}, gold_fraction=0.1, gold_source="metadata->'$.gold'")
    with pytest.raises(ConfigError, match="gold items are supported for run queues only"):
        draw_batch(wh, q, seed=1, now=NOW)


def test_units_are_summed_in_a_sandbox_of_the_warehouses_memory_limit(tmp_path) -> None:
    """An out-of-memory error there advises REVIEWDESK_MEMORY_LIMIT, the warehouse's setting: it must bound both."""
    gib = "SELECT current_setting('memory_limit')"
    with Warehouse(tmp_path / "w.duckdb", memory_limit="3GB") as wh:
        frame = UnitFrame(wh.con, queue("trace", {"strategy": "random", "size": 1}), NOW)
        frame.build()
        try:
            limits = [float(c.execute(gib).fetchall()[0][0].removesuffix(" GiB")) for c in (wh.con, frame.box)]
        finally:
            frame.close()
    assert limits[0] == pytest.approx(3 / 1.024**3, abs=0.1) and limits[1] == pytest.approx(limits[0], abs=0.15)
