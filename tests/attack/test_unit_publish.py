"""Warehouse rows that ingest never writes, published as a trace: a run id logged twice whose two copies make
the trace loop back on itself. Publishing ends (the walk down the tree stops at a step it has passed) and
lists each row once, under the parent it names."""

from __future__ import annotations

from pathlib import Path

from test_publish_units import payloads
from test_sampling_units import add, wh  # noqa: F401 (the hand-made runs fixture)

from reviewdesk.stores.warehouse import Warehouse


def test_a_run_id_logged_twice_that_loops_its_trace_is_published_once_per_row(
    wh: Warehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    add(wh, [("r", "TD", None, None, "support", "success", 1, 20), ("x", "TD", "r", None, "support", "success", 1, 21),
             ("y", "TD", "x", None, "support", "success", 1, 22),
             ("x", "TD", "y", None, "support", "error", 1, 23)])  # fmt: skip
    unit = payloads(wh, tmp_path, "trace", "count(*) = 4")["r"]["unit"]
    assert [(s["run_id"], s["parent_run_id"], s["depth"], s["status"]) for s in unit["steps"]] == [
        ("r", None, 0, "success"), ("x", "r", 1, "success"), ("y", "x", 2, "success"),
        ("x", "y", 3, "error")]  # fmt: skip
    assert unit["unreachable"] == 0
