"""Publishing trace and session items: the payload's `unit` holds the steps in pre-order, each blinded by the
queue's reviewer_sees exactly as a run, and the review screen's reader rebuilds the tree from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from test_sampling_units import NOW, add, queue, wh  # noqa: F401 (the hand-made runs fixture)

from reviewdesk.errors import NotFound
from reviewdesk.review.publication import publish
from reviewdesk.review.units import step_tree, steps_of
from reviewdesk.sample.designs import draw_batch
from reviewdesk.stores.review_schema import items
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

# Traces keyed otherwise than by their root's trace id: n0 logged no trace id and its steps carry n0 as theirs;
# run P logged none either, so it belongs to trace P.
UNKEYED = [("n0", None, None, None, "support", "success", 1, 6), ("n1", "n0", "n0", None, "support", "success", 1, 7),
           ("n2", "n0", "n1", None, "support", "success", 1, 8), ("p0", "P", None, None, "support", "success", 1, 6),
           ("p1", "P", "p0", None, "support", "success", 1, 7),
           ("P", None, "p1", None, "support", "success", 1, 8)]  # fmt: skip
SEES = ["inputs", "outputs", "status"]


def payloads(
    wh: Warehouse,  # noqa: F811
    tmp_path: Path,
    unit: str,
    filter_: str,
) -> dict[str, dict]:
    q = queue(unit, {"strategy": "random", "size": 10, "filter": filter_}, reviewer_sees=SEES)
    return published(wh, tmp_path / "review.sqlite", q, draw_batch(wh, q, seed=1, now=NOW).batch_id)


def published(wh: Warehouse, path: Path, q: QueueConfig, batch_id: str) -> dict[str, dict]:  # noqa: F811
    """Publish the batch to a review store at `path`: each item's payload by its unit id."""
    with ReviewStore(f"sqlite:///{path}") as store:
        publish(wh, store, q, batch_id)
        with store.engine.connect() as conn:
            rows = conn.execute(select(items.c.payload)).fetchall()
    found = [p if isinstance(p, dict) else json.loads(p) for (p,) in rows]
    return {p["unit"]["id"]: p for p in found}


def test_trace_payload_steps_in_pre_order_and_blinded(wh: Warehouse, tmp_path: Path) -> None:  # noqa: F811
    (payload,) = payloads(wh, tmp_path, "trace", "count(*) = 3").values()
    unit = payload["unit"]
    assert (unit["kind"], unit["id"]) == ("trace", "t2")
    assert [(s["run_id"], s["parent_run_id"], s["depth"], s["turn"]) for s in unit["steps"]] == [
        ("t2", None, 0, 1), ("t2a", "t2", 1, 1), ("t2b", "t2a", 2, 1)]  # fmt: skip
    assert all("project" not in s and "model" not in s and s["status"] == "success" for s in unit["steps"])
    assert list(payload["runs"]) == ["t2"]
    (top,) = step_tree(steps_of(unit))
    assert top.step.run_id == "t2" and top.children[0].children[0].step.run_id == "t2b"


def test_session_payload_turns_in_time_order(wh: Warehouse, tmp_path: Path) -> None:  # noqa: F811
    found = payloads(wh, tmp_path, "session", "count(*) = 3")
    unit = found["S1"]["unit"]
    assert [(s["run_id"], s["depth"], s["turn"]) for s in unit["steps"]] == [
        ("s1a", 0, 1),
        ("s1b", 0, 2),
        ("s1c", 1, 2),
    ]
    assert list(found["S1"]["runs"]) == ["s1b"]  # the last turn's root
    assert [n.step.run_id for n in step_tree(steps_of(unit))] == ["s1a", "s1b"]


def test_a_trace_is_the_runs_of_its_roots_trace_key_as_sampling_draws_it(
    wh: Warehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    add(wh, UNKEYED)  # a trace is the runs of one coalesce(trace_id, run_id)
    found = payloads(wh, tmp_path, "trace", "count(*) = 3")
    assert sorted(found) == ["n0", "p0", "t2"]
    assert [(s["run_id"], s["parent_run_id"], s["depth"], s["turn"]) for s in found["n0"]["unit"]["steps"]] == [
        ("n0", None, 0, 1), ("n1", "n0", 1, 1), ("n2", "n1", 2, 1)]  # fmt: skip
    assert [(s["run_id"], s["depth"]) for s in found["p0"]["unit"]["steps"]] == [("p0", 0), ("p1", 1), ("P", 2)]
    assert found["n0"]["unit"]["unreachable"] == found["p0"]["unit"]["unreachable"] == 0


def test_runs_no_root_reaches_follow_the_tree_as_turns_of_their_own_and_are_counted(
    wh: Warehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    # one root (c0); c2 and c3 are each other's parent and c4 its own: sampled whole, so all five are shown
    add(wh, [("c0", "TC", None, None, "support", "success", 1, 20), ("c1", "TC", "c0", None, "support", "error", 1, 21),
             ("c2", "TC", "c3", None, "support", "success", 1, 22),
             ("c3", "TC", "c2", None, "support", "success", 1, 23),
             ("c4", "TC", "c4", None, "support", "success", 1, 24)])  # fmt: skip
    unit = payloads(wh, tmp_path, "trace", "count(*) = 5")["c0"]["unit"]
    assert [(s["run_id"], s["parent_run_id"], s["depth"], s["turn"]) for s in unit["steps"]] == [
        ("c0", None, 0, 1), ("c1", "c0", 1, 1), ("c2", "c3", 0, 2), ("c3", "c2", 0, 3), ("c4", "c4", 0, 4)]  # fmt: skip
    assert unit["unreachable"] == 3
    assert unit["steps"][3]["status"] == "success" and "project" not in unit["steps"][3]  # blinded as any step
    tops = step_tree(steps_of(unit))
    assert [(n.step.run_id, [c.step.run_id for c in n.children]) for n in tops] == [
        ("c0", ["c1"]), ("c2", ["c3"]), ("c4", [])]  # fmt: skip


def test_an_item_drawn_before_unit_keys_publishes_the_payload_of_one_with_its_key(
    wh: Warehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    add(wh, UNKEYED)  # n0's trace is keyed by its run id (no trace id), p0's by trace P, t2's by trace T2
    q = queue("trace", {"strategy": "random", "size": 10, "filter": "count(*) = 3"}, reviewer_sees=SEES)
    batch = draw_batch(wh, q, seed=1, now=NOW)
    assert {i["unit_id"]: i["unit_key"] for i in batch.items} == {"n0": "n0", "p0": "P", "t2": "T2"}
    keyed = published(wh, tmp_path / "keyed.sqlite", q, batch.batch_id)
    wh.execute("UPDATE items SET unit_key = NULL WHERE batch_id = ?", [batch.batch_id])  # as drawn before m020
    assert published(wh, tmp_path / "unkeyed.sqlite", q, batch.batch_id) == keyed
    assert [s["run_id"] for s in keyed["p0"]["unit"]["steps"]] == ["p0", "p1", "P"]
    assert list(keyed["p0"]["runs"]) == ["p0"]


def test_a_session_item_records_its_session_id_as_its_unit_key(wh: Warehouse) -> None:  # noqa: F811
    q = queue("session", {"strategy": "random", "size": 10})
    assert {i["unit_id"]: i["unit_key"] for i in draw_batch(wh, q, seed=1, now=NOW).items} == {"S1": "S1", "S2": "S2"}


@pytest.mark.parametrize("keyed", [True, False])
def test_a_trace_whose_root_was_deleted_after_drawing_is_refused_before_writing(
    wh: Warehouse,  # noqa: F811
    tmp_path: Path,
    keyed: bool,
) -> None:
    q = queue("trace", {"strategy": "random", "size": 10, "filter": "count(*) = 3"}, reviewer_sees=SEES)
    batch = draw_batch(wh, q, seed=1, now=NOW)
    (item,) = batch.items
    if not keyed:
        wh.execute("UPDATE items SET unit_key = NULL WHERE batch_id = ?", [batch.batch_id])
    wh.execute("DELETE FROM runs WHERE run_id = 't2'")  # t2a and t2b remain in trace T2
    with ReviewStore(f"sqlite:///{tmp_path / 'review.sqlite'}") as store:
        with pytest.raises(NotFound, match=f"Item {item['item_id']} of batch {batch.batch_id} refers to run t2, "
                                           "which is not in the warehouse"):  # fmt: skip
            publish(wh, store, q, batch.batch_id)
        assert store.count_items(q.name, batch.batch_id) == 0
