"""Labels per step: a per-step criterion's answers become one label per step (step_run_id), consensus and
adjudication resolve each step, and a revision replaces every step's label (issue 18)."""

from __future__ import annotations

from pathlib import Path

import pytest
from review_support import seed_batch, store_with_reviewers
from unit_support import support_trace, unit_payload, unit_queue

from reviewdesk.labels.adjudication import backlog, decide
from reviewdesk.labels.collection import collect
from reviewdesk.labels.resolve import resolve_queue
from reviewdesk.review import accounts
from reviewdesk.review.drafts import Draft
from reviewdesk.review.submissions import revise, submit
from reviewdesk.stores.warehouse import Warehouse

QUEUE = "support-traces-t"
TOOLS = ("t1-tool1", "t1-tool2")


@pytest.fixture
def stores(tmp_path: Path):
    """A review store with one trace item (two tool steps) needing two reviewers, and its warehouse rows."""
    with store_with_reviewers(tmp_path) as store, Warehouse(tmp_path / "wh.duckdb") as wh:
        queue = unit_queue(QUEUE, "trace")
        seed_batch(store, queue, n=1, reviewers_needed=2, payloads=[unit_payload("trace", "t1", support_trace())])
        wh.execute(
            "INSERT INTO batches VALUES (?, ?, 'single', 'random', 1, '{}', ?, 1, 1, now(), now())",
            [f"{QUEUE}-b1", QUEUE, queue.rubric_version],
        )
        wh.execute(
            "INSERT INTO items (item_id, batch_id, queue, position, run_id, is_gold, reviewers_needed, unit, unit_id) "
            "VALUES (?, ?, ?, 1, 't1-root', false, 2, 'trace', 't1-root')",
            [ITEM, f"{QUEUE}-b1", QUEUE],
        )
        accounts.add_user(store, "lead", "lead", "correct horse battery")
        yield store, wh


ITEM = f"{QUEUE}-b1-0001"


def answers(tool1: str | None, tool2: str | None = "right") -> dict:
    steps = {k: v for k, v in zip(TOOLS, (tool1, tool2), strict=True) if v is not None}
    return {"correctness": "correct", "helpfulness": 4, "tool_call": steps}


def labels(wh: Warehouse, reviewer: str | None = None) -> list[tuple]:
    where, params = ("WHERE reviewer = ?", [reviewer]) if reviewer else ("", [])
    return wh.execute(f"SELECT reviewer, criterion, step_run_id, value FROM labels {where} ORDER BY ALL", params)


def consensus(wh: Warehouse) -> dict:
    rows = wh.execute("SELECT criterion, step_run_id, value, method FROM consensus WHERE criterion = 'tool_call'")
    return {step: (value, method) for _, step, value, method in rows}


def test_a_per_step_answer_becomes_one_label_per_step(stores):
    store, wh = stores
    submit(store, ITEM, "reviewer1", Draft(answers("wrong")))
    result = collect(store, wh)
    assert (result.loaded, result.rejected, result.labels) == (1, 0, 4)
    assert labels(wh) == [
        ("reviewer1", "correctness", "", "correct"), ("reviewer1", "helpfulness", "", "4"),
        ("reviewer1", "tool_call", "t1-tool1", "wrong"), ("reviewer1", "tool_call", "t1-tool2", "right"),
    ]  # fmt: skip
    assert collect(store, wh).read == 0 and len(labels(wh)) == 4  # idempotent


def test_a_revision_replaces_every_step_label(stores):
    store, wh = stores
    submit(store, ITEM, "reviewer1", Draft(answers("wrong")))
    collect(store, wh)
    revise(
        store, ITEM, "reviewer1", Draft({**answers("right"), "tool_call": {"t1-tool1": "right", "t1-tool2": "wrong"}})
    )
    collect(store, wh)
    steps = [r[2:] for r in labels(wh) if r[1] == "tool_call"]
    assert steps == [("t1-tool1", "right"), ("t1-tool2", "wrong")]


@pytest.mark.parametrize(
    ("tool_call", "reason"),
    [
        ({"t1-tool1": "right"}, "tool_call: answer steps 5"),
        ({"t1-tool1": "right", "t1-tool2": "maybe"}, "tool_call: step 5: 'maybe' must be one of right, wrong"),
        ({"t1-tool1": "right", "t1-tool2": "right", "nope": "right"}, "tool_call: 'nope' is not a step of this unit"),
        (
            {"t1-tool1": "right", "t1-tool2": "right", "t1-ret": "right"},
            "tool_call: step 2 is a retriever step, not one of tool",
        ),
        (["right", "right"], "tool_call: must be an object of step run id: answer, got list"),
    ],
)
def test_an_invalid_per_step_answer_is_rejected_with_its_reason(stores, tool_call, reason):
    store, wh = stores
    submit(store, ITEM, "reviewer1", Draft({**answers("right"), "tool_call": tool_call}))
    result = collect(store, wh)
    assert (result.loaded, result.rejected, result.labels) == (0, 1, 0)
    (reasons,) = wh.execute("SELECT reasons FROM rejected_submissions")[0]
    assert reason in list(reasons)


def test_consensus_is_per_step_and_a_disputed_step_goes_to_a_lead(stores):
    store, wh = stores
    submit(store, ITEM, "reviewer1", Draft(answers("wrong")))
    submit(store, ITEM, "reviewer2", Draft(answers("right")))
    collect(store, wh)
    result = resolve_queue(store, wh, QUEUE)
    assert consensus(wh) == {"t1-tool2": ("right", "unanimous")}  # t1-tool1: no majority of two
    assert result.opened == 1
    (case,) = backlog(store, QUEUE)
    assert case["criterion"] == "tool_call" and case["why"].startswith("step t1-tool1: no majority")
    decide(store, ITEM, "tool_call", {"t1-tool1": "wrong"}, "the orders API timed out", "lead")
    resolve_queue(store, wh, QUEUE)
    assert consensus(wh) == {"t1-tool1": ("wrong", "adjudicated"), "t1-tool2": ("right", "unanimous")}
    whole = wh.execute("SELECT criterion, value, method FROM consensus WHERE step_run_id = '' ORDER BY ALL")
    assert whole == [("correctness", "correct", "unanimous"), ("helpfulness", "4", "unanimous")]
