"""The warehouse overview `reviewdesk ingest` and the demo print: runs, errors and cost per model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reviewdesk.ingest import ingest_file
from reviewdesk.ingest.overview import overview
from reviewdesk.stores.warehouse import Warehouse


def native(run_id: str, run_type: str, cost: float, model: str | None = None, parent: str | None = None) -> dict:
    return {"run_id": run_id, "trace_id": "t1" if run_id.startswith("t1") else None, "parent_run_id": parent,
            "run_type": run_type, "model": model, "cost_usd": cost, "status": "success",
            "start_time": "2026-10-20T10:00:00+00:00", "inputs": {"q": run_id}, "outputs": {"a": "x"}}  # fmt: skip


def test_a_traces_summed_cost_is_not_counted_twice(tmp_path: Path):
    """A trace root carries the cost of the two model calls under it (0.01 + 0.02), as LangSmith reports it: the
    total is the calls' 0.03 plus a single run's 0.5, not 0.06 + 0.5."""
    runs = [native("t1-root", "chain", 0.03), native("t1-llm1", "llm", 0.01, "gpt-4o-mini", "t1-root"),
            native("t1-tool", "tool", 0.0, parent="t1-root"), native("t1-llm2", "llm", 0.02, None, "t1-root"),
            native("single", "llm", 0.5, "gpt-4.1")]  # fmt: skip
    path = tmp_path / "runs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in runs))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        ingest_file(wh, path)
        by_model = {m["model"]: (m["runs"], round(m["cost_usd"], 8)) for m in overview(wh)["models"]}
    assert by_model == {"gpt-4.1": (1, 0.5), "gpt-4o-mini": (1, 0.01), None: (3, 0.02)}  # the llm call with no model
    assert sum(cost for _, cost in by_model.values()) == pytest.approx(0.53)
