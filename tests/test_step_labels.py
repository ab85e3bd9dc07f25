"""Labels per step: a per-step criterion's answers become one label per step (step_run_id), consensus and
adjudication resolve each step, and a revision replaces every step's label (issue 18)."""

from __future__ import annotations

from pathlib import Path

import pytest
from review_support import seed_queue, store_with_reviewers
from unit_support import TOOL_CRITERION, TRACE_ITEM, TRACE_QUEUE, support_trace, trace_stores, unit_payload

from reviewdesk.errors import ConfigError
from reviewdesk.labels.adjudication import backlog, case, decide, decide_item, decisions, disputed_steps
from reviewdesk.labels.collection import collect, validate
from reviewdesk.labels.resolve import resolve_queue
from reviewdesk.quality.report import queue_quality
from reviewdesk.review.drafts import Draft, DraftError
from reviewdesk.review.submissions import item_submissions, revise, submit
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse

QUEUE, ITEM = TRACE_QUEUE, TRACE_ITEM
TOOLS = ("t1-tool1", "t1-tool2")


@pytest.fixture
def stores(tmp_path: Path):
    """A review store with one trace item (two tool steps) needing two reviewers, and its warehouse rows."""
    with trace_stores(tmp_path) as pair:
        yield pair


def answers(tool1: str | None, tool2: str | None = "right", correctness: str = "correct") -> dict:
    steps = {k: v for k, v in zip(TOOLS, (tool1, tool2), strict=True) if v is not None}
    return {"correctness": correctness, "helpfulness": 4, "tool_call": steps}


def disputed_both(store: ReviewStore, wh: Warehouse, correctness: tuple[str, str] = ("correct", "correct")) -> None:
    """reviewer1 and reviewer2 split on both tool steps (and on correctness, if told), collected and resolved."""
    submit(store, ITEM, "reviewer1", Draft(answers("wrong", "right", correctness[0])))
    submit(store, ITEM, "reviewer2", Draft(answers("right", "wrong", correctness[1])))
    collect(store, wh)
    resolve_queue(store, wh, QUEUE)


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
    assert case["steps"] == ["t1-tool1"]  # t1-tool2 is not in dispute
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


@pytest.mark.parametrize(
    ("tool_call", "says"),
    [
        ({"t1-tool1": "wrong"}, "no value for step 5 · tool · get_order"),
        ({"t1-tool1": "wrong", "t1-tool2": None}, "no value for step 5 · tool · get_order"),
        ({"t1-tool1": "wrong", "t1-tool2": "maybe"}, "step 5 · tool · get_order: 'maybe' must be one of right, wrong"),
        ({"t1-tool1": "wrong", "t1-tool2": "right", "t1-ret": "relevant"}, "'t1-ret' is not a step in dispute"),
        ({}, "no value for step 4 · tool · get_order; no value for step 5 · tool · get_order"),
    ],
)
def test_a_per_step_decision_needs_every_step_in_dispute_and_no_other(stores, tool_call, says):
    store, wh = stores
    disputed_both(store, wh)
    (case,) = backlog(store, QUEUE)
    assert case["steps"] == ["t1-tool1", "t1-tool2"]
    with pytest.raises(ConfigError) as refused:
        decide(store, ITEM, "tool_call", tool_call, "the orders API timed out", "lead")
    assert says in str(refused.value)
    assert "t1-tool1 (step 4 · tool · get_order), t1-tool2 (step 5 · tool · get_order)" in str(refused.value)
    assert decisions(store, QUEUE) == {} and len(backlog(store, QUEUE)) == 1


def test_deciding_an_item_stores_every_case_or_none(stores):
    store, wh = stores
    disputed_both(store, wh, correctness=("correct", "incorrect"))
    assert sorted(c["criterion"] for c in backlog(store, QUEUE)) == ["correctness", "tool_call"]
    with pytest.raises(ConfigError, match="no value for step 5"):
        decide_item(store, ITEM, {"correctness": "incorrect", "tool_call": {"t1-tool1": "wrong"}}, "timed out", "lead")
    assert decisions(store, QUEUE) == {}  # correctness was fine, and is not stored either
    chosen = {"correctness": "incorrect", "tool_call": {"t1-tool1": "wrong", "t1-tool2": "right"}}
    decide_item(store, ITEM, chosen, "the first call timed out", "lead")
    assert decisions(store, QUEUE) == {ITEM: chosen}
    resolve_queue(store, wh, QUEUE)
    assert consensus(wh) == {"t1-tool1": ("wrong", "adjudicated"), "t1-tool2": ("right", "adjudicated")}
    assert wh.execute("SELECT value, method FROM consensus WHERE criterion = 'correctness'") == [
        ("incorrect", "adjudicated")
    ]


def test_a_case_opened_before_m015_finds_its_steps_in_its_why():
    """Cases opened before m015 have no `steps`: their `why` names them ("step <run id>: ..."); a `why` that
    names none leaves every step the criterion asks."""
    payload = unit_payload("trace", "t1", support_trace())
    why = "step t1-tool2: no majority, reviewers disagree: right (1), wrong (1)"
    found = disputed_steps({"steps": None, "why": why}, TOOL_CRITERION, payload)
    assert [(s.run_id, s.position) for s in found] == [("t1-tool2", 5)]
    every = disputed_steps({"steps": None, "why": "reviewers disagree"}, TOOL_CRITERION, payload)
    assert [s.run_id for s in every] == ["t1-tool1", "t1-tool2"]
    assert disputed_steps({"steps": ["t1-tool1"], "why": why}, TOOL_CRITERION, payload)[0].run_id == "t1-tool1"
    assert disputed_steps({"steps": None, "why": why}, {"key": "correctness"}, payload) == []


def revised(store: ReviewStore, wh: Warehouse, tool1: str, tool2: str, correctness: str = "correct"):
    """reviewer2 revises their answers to these, and the queue is collected and resolved again."""
    revise(store, ITEM, "reviewer2", Draft(answers(tool1, tool2, correctness)))
    collect(store, wh)
    return resolve_queue(store, wh, QUEUE)


def tool1_disputed(store: ReviewStore, wh: Warehouse) -> None:
    """reviewer1 says wrong of t1-tool1 and reviewer2 right; both say right of t1-tool2; resolved."""
    submit(store, ITEM, "reviewer1", Draft(answers("wrong", "right")))
    submit(store, ITEM, "reviewer2", Draft(answers("right", "right")))
    collect(store, wh)
    resolve_queue(store, wh, QUEUE)


def split(step: str, first: str, second: str) -> str:
    return f"step {step}: no majority, reviewers disagree: {first} (1), {second} (1)"


def test_a_step_newly_in_dispute_joins_the_open_case_and_the_decision_must_name_it(stores):
    store, wh = stores
    tool1_disputed(store, wh)
    assert [c["steps"] for c in backlog(store, QUEUE)] == [["t1-tool1"]]
    result = revised(store, wh, "right", "wrong")  # reviewer1 said right of t1-tool2: now a split too
    (waiting,) = backlog(store, QUEUE)
    assert (result.opened, result.backlog) == (0, 1)
    assert waiting["steps"] == ["t1-tool1", "t1-tool2"]
    assert waiting["why"] == f"{split('t1-tool1', 'wrong', 'right')}; {split('t1-tool2', 'right', 'wrong')}"
    assert consensus(wh) == {}  # neither step has a majority of two
    with pytest.raises(ConfigError, match="no value for step 5 · tool · get_order"):
        decide(store, ITEM, "tool_call", {"t1-tool1": "wrong"}, "the orders API timed out", "lead")
    decide(store, ITEM, "tool_call", {"t1-tool1": "wrong", "t1-tool2": "right"}, "the orders API timed out", "lead")
    resolve_queue(store, wh, QUEUE)
    assert consensus(wh) == {"t1-tool1": ("wrong", "adjudicated"), "t1-tool2": ("right", "adjudicated")}


def test_a_revision_that_settles_a_step_drops_it_from_the_open_case(stores):
    store, wh = stores
    disputed_both(store, wh)  # reviewer1 wrong, right; reviewer2 right, wrong
    revised(store, wh, "wrong", "wrong")  # t1-tool1 now unanimous
    (waiting,) = backlog(store, QUEUE)
    assert (waiting["steps"], waiting["why"]) == (["t1-tool2"], split("t1-tool2", "right", "wrong"))
    assert consensus(wh) == {"t1-tool1": ("wrong", "unanimous")}
    with pytest.raises(ConfigError, match="'t1-tool1' is not a step in dispute"):
        decide(store, ITEM, "tool_call", {"t1-tool1": "wrong", "t1-tool2": "wrong"}, "both failed", "lead")
    decide(store, ITEM, "tool_call", {"t1-tool2": "wrong"}, "the second call failed too", "lead")
    resolve_queue(store, wh, QUEUE)
    assert consensus(wh) == {"t1-tool1": ("wrong", "unanimous"), "t1-tool2": ("wrong", "adjudicated")}


def test_a_decided_case_is_left_as_decided_by_later_resolves(stores):
    """A decision is final: a step newly in dispute after it does not join its case (nor open another, one
    case per item and criterion), so that step has no consensus."""
    store, wh = stores
    tool1_disputed(store, wh)
    decide(store, ITEM, "tool_call", {"t1-tool1": "wrong"}, "the first call timed out", "lead")
    before = case(store, ITEM, "lead")["cases"]
    result = revised(store, wh, "right", "wrong")  # t1-tool2 now split
    assert (result.opened, result.backlog) == (0, 0)
    assert case(store, ITEM, "lead")["cases"] == before  # steps, why and decision as they were
    assert before[0]["steps"] == ["t1-tool1"] and before[0]["value"] == {"t1-tool1": "wrong"}
    assert consensus(wh) == {"t1-tool1": ("wrong", "adjudicated")}


def test_cases_whose_disputes_are_all_settled_are_withdrawn_and_the_reviewers_consensus_stands(stores):
    """Once reviewers agree after all (a revision), resolve withdraws the open cases, whole-item and per-step:
    a lead is not asked to overrule an agreement."""
    store, wh = stores
    disputed_both(store, wh, correctness=("correct", "incorrect"))
    before = backlog(store, QUEUE)
    assert [(c["criterion"], c["steps"]) for c in before] == [("correctness", None), ("tool_call", list(TOOLS))]
    result = revised(store, wh, "wrong", "right", "correct")  # reviewer2 now agrees with reviewer1 throughout
    assert (result.opened, result.settled, result.backlog) == (0, 2, 0) and backlog(store, QUEUE) == []
    assert consensus(wh) == {"t1-tool1": ("wrong", "unanimous"), "t1-tool2": ("right", "unanimous")}
