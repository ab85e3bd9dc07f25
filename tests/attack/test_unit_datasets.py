"""Trace and session items that try to break promotion (issue 18): runs deleted from the warehouse after
review, a session of 500 turns each logging its whole history, a trace whose parent_run_id loops, a chain
500 deep, a per-step label naming a step the trace lacks. Each ends as an example or as a counted skip
with a reason that names the unit; the other items still promote, and nothing hangs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from promotion_support import insert_consensus, insert_unit_items, insert_unit_runs, unit_stores
from test_promotion_units import SESSIONS, TRACES, loaded, second_trace
from unit_support import step, support_session, support_trace

from reviewdesk.datasets.promotion import promote

CORRECT = ("correctness", "correct", "", "unanimous")


def within(seconds: float, work: Callable[[], Any]) -> Any:
    """`work()`'s result, failing the test if it takes longer than `seconds` (a hang, not just slowness)."""
    box: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: box.update(result=work()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    return box["result"]


@pytest.fixture
def stores(tmp_path: Path):
    with unit_stores(tmp_path / "data") as found:
        yield found


def results(store, wh, queue, data) -> dict:
    return {d.dataset: d for d in within(60, lambda: promote(store, wh, queue, data).datasets)}


def test_deleted_runs_and_a_parent_cycle_skip_their_items_with_reasons_and_the_rest_promotes(stores):
    wh, store, data = stores
    insert_unit_runs(wh, second_trace(), trace_id="t2-root")  # the one healthy trace
    insert_unit_runs(wh, support_trace("t3"), trace_id="t3-root")  # its first model call is deleted below
    cycle = [
        step("c-root", None, 0, "chain", inputs={"input": "loop"}, outputs={"output": "ok"}),
        step("c-a", "c-b", 1, "llm"),
        step("c-b", "c-a", 1, "tool"),
        step("c-self", "c-self", 1, "tool"),
    ]
    insert_unit_runs(wh, cycle, trace_id="c-root")
    everything_looping = [step("l-a", "l-b", 0, "chain"), step("l-b", "l-a", 0, "llm")]
    insert_unit_runs(wh, everything_looping, trace_id="l-a")
    insert_unit_items(
        wh,
        TRACES,
        [
            ("i-ok", "t2-root", "t2-root"),
            ("i-gone", "t9-root", "t9-root"),  # never there, or deleted since
            ("i-orphans", "t3-root", "t3-root"),
            ("i-cycle", "c-root", "c-root"),
            ("i-loop", "l-a", "l-a"),
        ],
    )
    insert_consensus(wh, TRACES, [(i, *CORRECT) for i in ("i-ok", "i-gone", "i-orphans", "i-cycle", "i-loop")])
    wh.execute("DELETE FROM runs WHERE run_id = 't3-llm1'")  # its tool call is left without its parent
    made = results(store, wh, TRACES, data)
    assert {n: (d.status, d.rows) for n, d in made.items()} == {
        "trace-sft": ("created", 1),
        "trace-regression": ("created", 1),
        "trace-judge": ("created", 1),
    }
    assert made["trace-sft"].skipped == {
        "item i-gone, trace t9-root: its runs are not in the warehouse": 1,
        "item i-orphans, trace t3-root has 2 root runs, not one: some of its runs are missing": 1,
        "item i-cycle, trace c-root: runs c-a, c-b, c-self are in a parent_run_id cycle, so no root reaches them": 1,
        "item i-loop, trace l-a: runs l-a, l-b are in a parent_run_id cycle, so no root reaches them": 1,
    }
    assert [r["messages"][0]["content"] for r in loaded(data, "trace-sft")] == ["Has order B2 shipped?"]


def test_a_deleted_session_and_a_deleted_reviewed_turn_are_skipped_with_reasons(stores):
    wh, store, data = stores
    insert_unit_runs(wh, support_session(2, "a"), session_id="sess-a")
    insert_unit_runs(wh, support_session(2, "b"), session_id="sess-b")
    insert_unit_items(
        wh, SESSIONS, [("i-a", "sess-a", "a-turn2"), ("i-b", "sess-b", "b-turn2"), ("i-z", "sess-z", "z-turn1")]
    )
    insert_consensus(wh, SESSIONS, [(i, *CORRECT) for i in ("i-a", "i-b", "i-z")])
    wh.execute("DELETE FROM runs WHERE run_id = 'b-turn2'")
    made = results(store, wh, SESSIONS, data)
    assert (made["session-sft"].status, made["session-sft"].rows) == ("created", 1)
    assert made["session-sft"].skipped == {
        "item i-b, session sess-b: the turn its item reviewed (run b-turn2) is not in the warehouse": 1,
        "item i-z, session sess-z: its runs are not in the warehouse": 1,
    }


def test_a_session_of_500_turns_promotes_whole_in_seconds(stores):
    wh, store, data = stores
    turns = support_session(500, "long")  # each turn logs the whole history: 250,000 messages in all
    insert_unit_runs(wh, turns, session_id="sess-long")
    insert_unit_items(wh, SESSIONS, [("i-long", "sess-long", "long-turn500")])
    insert_consensus(wh, SESSIONS, [("i-long", *CORRECT), ("i-long", "resolved", "yes", "", "unanimous")])
    began = time.perf_counter()
    made = results(store, wh, SESSIONS, data)
    took = time.perf_counter() - began
    assert {n: (d.status, d.rows) for n, d in made.items()} == {
        "session-sft": ("created", 1),
        "session-regression": ("created", 1),
        "session-judge": ("created", 1),
    }
    messages = loaded(data, "session-sft")[0]["messages"]
    assert len(messages) == 1000 and messages[-1]["content"] == "Answer 500: order A500 shipped."
    assert [m["role"] for m in messages[:4]] == ["user", "assistant", "user", "assistant"]
    assert took < 30, f"{took:.1f} s"


def test_a_chain_500_deep_and_a_step_label_for_a_missing_step_are_handled(stores):
    wh, store, data = stores
    chain = [step("d0", None, 0, "chain", inputs={"input": "deep"}, outputs={"output": "bottom"})]
    chain += [step(f"d{i}", f"d{i - 1}", i, "tool", inputs={"i": i}, outputs={"o": i}) for i in range(1, 500)]
    insert_unit_runs(wh, chain, trace_id="d0")
    insert_unit_items(wh, TRACES, [("i-deep", "d0", "d0")])
    insert_consensus(
        wh,
        TRACES,
        [("i-deep", *CORRECT), ("i-deep", "tool_call", "right", "d499", "unanimous"),
         ("i-deep", "tool_call", "wrong", "no-such-step", "unanimous")],
    )  # fmt: skip
    made = results(store, wh, TRACES, data)
    assert (made["trace-judge"].rows, made["trace-judge"].skipped) == (2, {"step run not in the unit": 1})
    assert (made["trace-sft"].status, made["trace-sft"].rows) == ("created", 1)
