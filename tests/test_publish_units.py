"""Publishing trace and session items: the payload's `unit` holds the steps in pre-order, each blinded by the
queue's reviewer_sees exactly as a run, and the review screen's reader rebuilds the tree from it."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from test_sampling_units import NOW, queue, wh  # noqa: F401 (the hand-made runs fixture)

from reviewdesk.review.publication import publish
from reviewdesk.review.units import step_tree, steps_of
from reviewdesk.sample.designs import draw_batch
from reviewdesk.stores.review_schema import items
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse


def payloads(
    wh: Warehouse,  # noqa: F811
    tmp_path: Path,
    unit: str,
    filter_: str,
) -> dict[str, dict]:
    q = queue(
        unit, {"strategy": "random", "size": 10, "filter": filter_}, reviewer_sees=["inputs", "outputs", "status"]
    )
    batch = draw_batch(wh, q, seed=1, now=NOW)
    with ReviewStore(f"sqlite:///{tmp_path / 'review.sqlite'}") as store:
        publish(wh, store, q, batch.batch_id)
        with store.engine.connect() as conn:
            rows = conn.execute(select(items.c.unit_id if "unit_id" in items.c else items.c.run_id,
                                       items.c.payload)).fetchall()  # fmt: skip
    found = [p if isinstance(p, dict) else json.loads(p) for _, p in rows]
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
