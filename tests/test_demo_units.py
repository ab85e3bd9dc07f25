"""The demo's traces and sessions: well formed, with known truth at the stated rates, answered by the simulated
reviewers in the contract's shape and pre-scored without tripping on per-step criteria (issue 18, part 5)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from reviewdesk.demo.exports import RUN_KEYS
from reviewdesk.demo.logs import generate_runs
from reviewdesk.demo.units import (
    ABANDON_RATE,
    SESSION_PROJECT,
    TRACE_FAILURES,
    TRACE_PROJECT,
    generate_unit_runs,
)
from schemas.queue import QueueConfig

ROOT = Path(__file__).resolve().parents[1]
TRACES, SESSIONS = 600, 300


@pytest.fixture(scope="module")
def unit_runs() -> list[dict]:
    return list(generate_unit_runs(TRACES, SESSIONS, seed=7))


def _by(runs: list[dict], key: str) -> dict[str, list[dict]]:
    groups = defaultdict(list)
    for r in runs:
        if r[key] is not None:
            groups[r[key]].append(r)
    return groups


def test_deterministic_per_seed_and_the_run_level_demo_unchanged() -> None:
    assert list(generate_unit_runs(20, 10, seed=1)) == list(generate_unit_runs(20, 10, seed=1))
    assert list(generate_unit_runs(20, 10, seed=1)) != list(generate_unit_runs(20, 10, seed=2))
    runs = list(generate_runs(50, seed=1))  # the unit generator draws from a stream of its own
    list(generate_unit_runs(5, 5, seed=1))
    assert list(generate_runs(50, seed=1)) == runs
    assert not {r["project"] for r in runs} & {TRACE_PROJECT, SESSION_PROJECT}


def test_runs_are_canonical(unit_runs: list[dict]) -> None:
    assert len({r["run_id"] for r in unit_runs}) == len(unit_runs)
    for r in unit_runs:
        assert tuple(r) == RUN_KEYS
        assert r["total_tokens"] == r["prompt_tokens"] + r["completion_tokens"]
        start, end = datetime.fromisoformat(r["start_time"]), datetime.fromisoformat(r["end_time"])
        assert (end - start).total_seconds() * 1000 == pytest.approx(r["latency_ms"], abs=1e-3)
        assert (r["error"] is None) == (r["status"] == "success")
        assert (r["model"] is not None) == (r["run_type"] == "llm")
        assert (r["total_tokens"] > 0) == (r["run_type"] in ("llm", "chain"))  # a chain sums its model calls


def test_traces_have_one_root_and_their_parents(unit_runs: list[dict]) -> None:
    traces = _by([r for r in unit_runs if r["project"] == TRACE_PROJECT], "trace_id")
    assert len(traces) == TRACES
    for runs in traces.values():
        ids = {r["run_id"]: r for r in runs}
        (root,) = [r for r in runs if r["parent_run_id"] is None]
        assert root is runs[0] and root["run_type"] == "chain"  # parents come before their children
        assert all(r["parent_run_id"] in ids for r in runs[1:])
        assert [r["run_type"] for r in runs] == ["chain", "retriever", "llm", "tool", "llm"]
        tool = runs[3]
        assert ids[tool["parent_run_id"]]["run_type"] == "llm"  # the tool is the planning call's child
        for r in runs[1:]:  # children run inside the root's span
            assert root["start_time"] <= r["start_time"] <= r["end_time"] <= root["end_time"]
        assert root["total_tokens"] == runs[2]["total_tokens"] + runs[4]["total_tokens"]
        assert root["outputs"]["output"] == runs[4]["outputs"]["messages"][-1]["content"]


def test_trace_truth_and_failures_at_the_stated_rates(unit_runs: list[dict]) -> None:
    traces = _by([r for r in unit_runs if r["project"] == TRACE_PROJECT], "trace_id")
    modes = Counter()
    for root, retrieved, _plan, tool, _answer in traces.values():
        truth = root["metadata"]["demo_truth"]
        mode = truth["failure_mode"]
        modes[mode] += 1
        assert retrieved["metadata"]["demo_truth"] == {
            "retrieval": "irrelevant" if mode == "irrelevant_retrieval" else "relevant"
        }
        assert tool["metadata"]["demo_truth"] == {
            "tool_call": "wrong" if mode in ("wrong_tool", "wrong_arguments") else "right"
        }
        assert (tool["status"] == "error") == (mode == "tool_error")
        assert (truth["correctness"] == "correct") == (mode is None) == ("reference" not in truth)
        if mode == "wrong_arguments":  # the tool looked up another order
            assert tool["inputs"]["order_id"] not in root["inputs"]["messages"][0]["content"]
        if mode == "wrong_tool":
            assert tool["name"] != "lookup_order"
    for mode, rate in TRACE_FAILURES.items():
        assert modes[mode] / TRACES == pytest.approx(rate, abs=0.035), mode
    assert modes[None] / TRACES == pytest.approx(1 - sum(TRACE_FAILURES.values()), abs=0.05)


def test_sessions_in_time_order_resolved_or_abandoned(unit_runs: list[dict]) -> None:
    sessions = _by(unit_runs, "session_id")
    assert len(sessions) == SESSIONS
    outcomes = Counter()
    for runs in sessions.values():
        turns = [r for r in runs if r["parent_run_id"] is None]
        assert 3 <= len(turns) <= 8 and all(r["project"] == SESSION_PROJECT for r in runs)
        assert [t["start_time"] for t in turns] == sorted(t["start_time"] for t in turns)
        assert all(a["end_time"] < b["start_time"] for a, b in pairwise(turns))
        for earlier, later in pairwise(turns):  # each turn sees the conversation so far
            said = earlier["inputs"]["messages"] + earlier["outputs"]["messages"]
            assert later["inputs"]["messages"][: len(said)] == said
        truths = [r["metadata"].get("demo_truth") for r in turns]
        assert truths[:-1] == [None] * (len(turns) - 1)  # the session's truth sits on its last turn
        assert truths[-1]["turns"] == len(turns)
        outcomes[truths[-1]["outcome"]] += 1
        assert truths[-1]["resolved"] == ("yes" if truths[-1]["outcome"] == "resolved" else "no")
        ids = {r["run_id"] for r in runs}
        assert all(r["parent_run_id"] in ids for r in runs if r["parent_run_id"])
    assert outcomes["abandoned"] / SESSIONS == pytest.approx(ABANDON_RATE, abs=0.07)


def test_every_unit_is_settled_at_the_demo_start() -> None:
    end = datetime(2026, 12, 4, 12, tzinfo=UTC)
    runs = list(generate_unit_runs(50, 50, seed=3, end=end))
    newest = max(datetime.fromisoformat(r["end_time"]) for r in runs)
    oldest = min(datetime.fromisoformat(r["start_time"]) for r in runs)
    assert newest <= end - timedelta(minutes=30) and oldest >= end - timedelta(days=14, hours=1)


@pytest.mark.parametrize("name", ["support-traces", "support-sessions"])
def test_unit_queues_validate(name: str) -> None:
    import yaml

    queue = QueueConfig.model_validate(yaml.safe_load((ROOT / "queues" / f"{name}.yaml").read_text()))
    assert queue.unit == name.removeprefix("support-").removesuffix("s") and queue.gold_fraction == 0
    stepped = {c.key: c for c in queue.rubric.criteria if c.per_step}
    assert all(c.type == "categorical" for c in stepped.values())  # number keys answer them
    assert not any("metadata" in f and "demo_truth" in f for f in queue.reviewer_sees or [])
