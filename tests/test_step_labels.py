"""Labels per step: a per-step criterion's answers become one label per step (step_run_id), consensus and
adjudication resolve each step, and a revision replaces every step's label (issue 18)."""

from __future__ import annotations

from pathlib import Path

import pytest
from review_support import seed_batch, seed_queue, store_with_reviewers
from unit_support import support_trace, unit_payload, unit_queue

from reviewdesk.errors import ConfigError
from reviewdesk.labels.adjudication import backlog, decide
from reviewdesk.labels.collection import collect, validate
from reviewdesk.labels.resolve import resolve_queue
from reviewdesk.quality.report import queue_quality
from reviewdesk.review import accounts
from reviewdesk.review.drafts import Draft, DraftError
from reviewdesk.review.submissions import item_submissions, revise, submit
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
def test_collect_rejects_an_invalid_per_step_answer_with_its_reason(stores, tool_call, reason):
    """Collect checks again what submit refused (a submission stored by an older app, or written directly)."""
    store, _ = stores
    queue = store.queue(QUEUE)
    rubric, payload = store.rubric(QUEUE, queue["rubric_version"]), store.items(QUEUE)[0]["payload"]
    row = {"submission_id": 7, "item_id": ITEM, "rubric_version": "v", "flags": [], "run_a": None, "run_b": None,
           "answers": {**answers("right"), "tool_call": tool_call}}  # fmt: skip
    assert reason in validate([row], rubric, "single", True, {ITEM: payload})[7]


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


def test_submit_refuses_a_per_step_answer_that_misses_a_step_and_stores_nothing(stores):
    store, _ = stores
    with pytest.raises(DraftError, match=r"not stored: tool_call: answer steps 5\..*Answer each step"):
        submit(store, ITEM, "reviewer1", Draft({**answers("right"), "tool_call": {"t1-tool1": "right"}}))
    assert item_submissions(store, ITEM) == []
    submit(store, ITEM, "reviewer1", Draft(answers("right")))  # the fixed answer goes in
    with pytest.raises(DraftError, match="step 4: 'maybe' must be one of right, wrong"):
        revise(store, ITEM, "reviewer1", Draft(answers("maybe")))
    assert [s["revision"] for s in item_submissions(store, ITEM)] == [1]


def test_a_run_item_never_accepts_a_per_step_answer(tmp_path):
    with store_with_reviewers(tmp_path) as store:
        seed_queue(store, n=1)
        with pytest.raises(DraftError, match="correctness: a per-step answer, but this item is one run"):
            submit(store, "support-quality-b1-0001", "reviewer1", Draft({"correctness": {"run-1": "correct"}}))
        assert item_submissions(store, "support-quality-b1-0001") == []


def test_agreement_of_a_per_step_criterion_is_over_item_and_step_pairs(stores):
    """Two raters, two tool steps of one item: they differ on one step and agree on the other, so there are
    2 pairable units (not 1 item), and nominal Krippendorff alpha is 0 (hand-computed below)."""
    store, wh = stores
    submit(store, ITEM, "reviewer1", Draft(answers("wrong")))
    submit(store, ITEM, "reviewer2", Draft(answers("right")))
    collect(store, wh)
    report = queue_quality(store, wh, QUEUE, resamples=20)
    tool = report["criteria"]["tool_call"]
    # values: unit 1 {wrong, right}, unit 2 {right, right}: n = 4 values, 3 right + 1 wrong.
    # coincidences o(wrong, right) = o(right, wrong) = 1, o(right, right) = 2; Do = 2 / 4 = 0.5
    # De = (2 * 3 * 1) / (4 * 3) = 0.5, so alpha = 1 - 0.5 / 0.5 = 0.
    assert tool["n_pairable_items"] == 2
    assert tool["krippendorff_alpha"] == pytest.approx(0.0)


def test_a_per_step_case_is_decided_per_step(stores):
    store, wh = stores
    submit(store, ITEM, "reviewer1", Draft(answers("wrong")))
    submit(store, ITEM, "reviewer2", Draft(answers("right")))
    collect(store, wh)
    resolve_queue(store, wh, QUEUE)
    with pytest.raises(ConfigError, match=r"answered per step: decide it as \{step run id: value\}"):
        decide(store, ITEM, "tool_call", "wrong", "timed out", "lead")
    assert len(backlog(store, QUEUE)) == 1  # still open
