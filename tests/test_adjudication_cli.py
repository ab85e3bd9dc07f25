"""`reviewdesk adjudication` lets a lead list open cases and decide one from a terminal, a per-step case as
the JSON object {step run id: value} for every step in dispute, refused with one line saying what to fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_step_labels import consensus, disputed_both
from typer.testing import CliRunner
from unit_support import TRACE_ITEM, TRACE_QUEUE, trace_stores

from reviewdesk.cli import app
from reviewdesk.labels.adjudication import backlog, decisions
from reviewdesk.labels.resolve import resolve_queue

runner = CliRunner()


@pytest.fixture
def step_case(tmp_path: Path):
    """Data dir `tmp_path` whose trace item has one open tool_call case naming both tool steps."""
    with trace_stores(tmp_path) as (store, wh):
        disputed_both(store, wh)
        yield store, wh, ["--data-dir", str(tmp_path)]


def decide(base: list[str], value: str, *extra: str):
    args = [*base, "adjudication", "decide", TRACE_ITEM, "tool_call", value, "--by", "lead", "--reason",
            "the first call timed out", *extra]  # fmt: skip
    return runner.invoke(app, args, terminal_width=200)


def test_a_lead_lists_a_per_step_case_and_decides_it_step_by_step_as_json(step_case):
    store, wh, base = step_case
    listed = runner.invoke(app, [*base, "adjudication", "list", TRACE_QUEUE, "--json"])
    assert listed.exit_code == 0, listed.output
    (case,) = json.loads(listed.stdout)
    assert (case["item_id"], case["criterion"], case["steps"]) == (TRACE_ITEM, "tool_call", ["t1-tool1", "t1-tool2"])
    table = runner.invoke(app, [*base, "adjudication", "list"], terminal_width=200)
    assert {TRACE_ITEM, "tool_call", "t1-tool1,", "t1-tool2"} <= set(table.output.split()), table.output

    done = decide(base, '{"t1-tool1": "wrong", "t1-tool2": "right"}', "--json")
    assert done.exit_code == 0, done.output
    chosen = {"t1-tool1": "wrong", "t1-tool2": "right"}
    assert json.loads(done.stdout) == {"item_id": TRACE_ITEM, "criterion": "tool_call", "value": chosen,
                                       "decided_by": "lead", "reason": "the first call timed out",
                                       "product_issue": False}  # fmt: skip
    assert decisions(store, TRACE_QUEUE) == {TRACE_ITEM: {"tool_call": chosen}} and backlog(store, TRACE_QUEUE) == []
    resolve_queue(store, wh, TRACE_QUEUE)
    assert consensus(wh) == {"t1-tool1": ("wrong", "adjudicated"), "t1-tool2": ("right", "adjudicated")}
    assert "Nothing to adjudicate" in runner.invoke(app, [*base, "adjudication", "list"]).output


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("wrong", "answered per step: decide it as {step run id: value}"),
        ('{"t1-tool1": "wrong"}', "no value for step 5 · tool · get_order"),
        ('{"t1-tool1": wrong}', "VALUE is not valid JSON (Expecting value at character 14)"),
        ('{"t1-tool1": "wrong", "t1-tool2": "right", "t1-root": "right"}', "'t1-root' is not a step in dispute"),
    ],
)
def test_a_per_step_decision_that_misses_or_adds_a_step_is_refused_in_one_line(step_case, value, says):
    store, _, base = step_case
    refused = decide(base, value)
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert says in " ".join(refused.output.split()) and refused.output.startswith("Error:"), refused.output
    assert decisions(store, TRACE_QUEUE) == {} and len(backlog(store, TRACE_QUEUE)) == 1
