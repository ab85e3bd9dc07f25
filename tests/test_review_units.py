"""Trace and session items in the library (reviewdesk.review.units) and the form's questions of them
(review_app.step_questions): the step tree from the flat pre-order list, the steps a per-step criterion
asks about, and its answer checked against the contract; hand-built cases and properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from review_support import PASSWORD, dialect_store, seed_batch
from unit_support import TOOL_CRITERION, step, support_session, support_trace, unit_payload, unit_queue

from review_app.step_questions import expand, fold
from reviewdesk.review import accounts
from reviewdesk.review.drafts import Draft
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import item_submissions, revise, submit
from reviewdesk.review.units import (
    ancestors,
    asked_steps,
    step_answer_problems,
    step_title,
    step_tree,
    steps_of,
    turns_of,
    unit_of,
)


def shape(nodes) -> list:
    """A tree as nested [(position, level, [children...])]."""
    return [(n.step.position, n.level, shape(n.children)) for n in nodes]


def flat(nodes) -> list[int]:
    return [p for n in nodes for p in [n.step.position, *flat(n.children)]]


def test_a_trace_becomes_its_tree_each_step_under_its_parent():
    steps = steps_of(unit_of(unit_payload("trace", "t1", support_trace())))
    assert [(s.position, s.run_type, s.depth) for s in steps] == [
        (1, "chain", 0), (2, "retriever", 1), (3, "llm", 1), (4, "tool", 2), (5, "tool", 1), (6, "llm", 1)]  # fmt: skip
    assert shape(step_tree(steps)) == [(1, 0, [(2, 1, []), (3, 1, [(4, 2, [])]), (5, 1, []), (6, 1, [])])]
    assert step_tree(steps)[0].count() == 5
    assert [s.failed for s in steps] == [False, False, False, True, False, False]
    assert step_title(steps[3]) == "step 4 · tool · get_order" and step_title(steps[2]) == "step 3 · llm"


def test_a_deep_chain_nests_only_so_deep_and_the_rest_stands_beside_its_parent_in_order():
    chain = [step("s0", None, 0, "chain")] + [step(f"s{i}", f"s{i - 1}", i, "chain") for i in range(1, 6)]
    assert shape(step_tree(steps_of({"steps": chain}), levels=3)) == [
        (1, 0, [(2, 1, [(3, 2, []), (4, 2, []), (5, 2, []), (6, 2, [])])])]  # fmt: skip


def test_steps_of_keeps_any_entry_and_a_step_whose_parent_is_unknown_or_later_is_a_top_step():
    steps = steps_of({"steps": [7, step("a", "later", 0, "llm"), step("later", None, True, "tool", turn="x"),
                                {"run_type": None}]})  # fmt: skip
    assert [(s.run_id, s.run_type, s.depth, s.turn) for s in steps] == [
        ("step-1", "step", 0, 1), ("a", "llm", 0, 1), ("later", "tool", 0, 1), ("step-4", "step", 0, 1)]  # fmt: skip
    assert steps[0].fields == {"step": 7}
    assert shape(step_tree(steps)) == [(1, 0, []), (2, 0, []), (3, 0, []), (4, 0, [])]
    assert steps_of(None) == [] and steps_of({"steps": "x"}) == [] and unit_of({"unit": {"kind": "run"}}) is None


def test_a_session_is_split_into_its_turns_and_the_steps_above_a_step_are_found():
    steps = steps_of(unit_of(unit_payload("session", "s1", support_session(4))))
    assert [[s.position for s in t] for t in turns_of(steps)] == [[1], [2], [3, 4], [5]]
    assert ancestors(steps, {"s1-turn3-tool"}) == {"s1-turn3"}
    assert step_title(steps[3], session=True) == "turn 3 · step 4 · tool · get_order"


def test_a_per_step_criterion_asks_about_each_step_of_its_types_once():
    steps = steps_of(unit_of(unit_payload("trace", "t1", support_trace())))
    assert [s.position for s in asked_steps(TOOL_CRITERION, steps)] == [4, 5]
    both = {**TOOL_CRITERION, "per_step": ["retriever", "tool"]}
    assert [s.position for s in asked_steps(both, steps + steps[3:4])] == [2, 4, 5]  # a repeated run id once


def test_a_per_step_answer_is_checked_against_the_contract():
    steps = steps_of(unit_of(unit_payload("trace", "t1", support_trace())))
    ok = {"t1-tool1": "right", "t1-tool2": "wrong"}
    assert step_answer_problems(TOOL_CRITERION, steps, ok) == []
    assert step_answer_problems(TOOL_CRITERION, steps, {"t1-tool1": "right"}) == ["tool_call: answer steps 5"]
    assert step_answer_problems(TOOL_CRITERION, steps, None) == ["tool_call: answer steps 4, 5"]
    assert step_answer_problems(TOOL_CRITERION, steps, "right") == [
        "tool_call: must be an object of step run id: answer, got str"
    ]
    assert step_answer_problems(TOOL_CRITERION, steps, {**ok, "nope": "right", "t1-llm1": "right"}) == [
        "tool_call: 'nope' is not a step of this unit",
        "tool_call: step 3 is a llm step, not one of tool",
    ]
    optional = {**TOOL_CRITERION, "required": False}
    assert step_answer_problems(optional, steps, None) == [] == step_answer_problems(optional, steps, {"t1-tool2": 1})


def test_the_form_asks_each_step_and_folds_the_answers_back_by_step_run_id():
    steps = steps_of(unit_of(unit_payload("trace", "t1", support_trace())))
    plain = {"key": "correctness", "type": "categorical", "options": ["a", "b"]}
    questions = expand([plain, TOOL_CRITERION], steps)
    assert [(q["key"], q.get("slot"), q.get("label")) for q in questions] == [
        ("correctness", None, None), ("tool_call", "tool_call.4", "Step 4 · tool · get_order"),
        ("tool_call", "tool_call.5", "Step 5 · tool · get_order")]  # fmt: skip
    assert fold(questions, ["a", "right", None]) == {"correctness": "a", "tool_call": {"t1-tool1": "right"}}
    assert fold(questions, [None, None, ""]) == {"correctness": None, "tool_call": None}


parents = st.lists(st.one_of(st.none(), st.integers(0, 40)), min_size=1, max_size=40)
# A tree as its pre-order depths: each step at most one deeper than the one before.
depths = st.lists(st.integers(0, 30), min_size=1, max_size=40).map(
    lambda ups: [0] + [min(u, 1 + i) for i, u in enumerate(ups[1:])]
)


def published(ds: list[int]) -> list[dict]:
    """Steps in pre-order with these depths (each depth made at most one deeper than the one before)."""
    out, last = [], {}
    for i, d in enumerate(ds):
        d = min(d, out[-1]["depth"] + 1) if out else 0
        out.append(step(f"s{i}", last.get(d - 1), d, "llm"))
        last[d] = f"s{i}"
    return out


def check_levels(tree, levels: int) -> None:
    todo = [(n, None) for n in tree]
    while todo:
        node, holder = todo.pop()
        assert node.level < levels and (holder is None or node.level == holder.level + 1)
        todo += [(c, node) for c in node.children]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(depths, st.integers(1, 6))
def test_a_published_tree_keeps_its_order_each_step_under_its_parent_nested_at_most_levels_deep(ds, levels):
    steps = steps_of({"steps": published(ds)})
    tree = step_tree(steps, levels)
    assert flat(tree) == [s.position for s in steps]
    check_levels(tree, levels)
    full = step_tree(steps, 100)  # nested without a limit: each step right under its parent
    todo = [(n, None) for n in full]
    while todo:
        node, holder = todo.pop()
        assert node.step.parent_run_id == (holder.step.run_id if holder else None)
        todo += [(c, node) for c in node.children]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(parents, st.integers(1, 6))
def test_any_parent_links_give_a_tree_holding_every_step_once(links, levels):
    steps = steps_of({"steps": [step(f"s{i}", None if p is None else f"s{p}", 0, "llm") for i, p in enumerate(links)]})
    tree = step_tree(steps, levels)
    assert sorted(flat(tree)) == [s.position for s in steps]
    check_levels(tree, levels)


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_store_keeps_a_per_step_answer_exactly_as_sent(dialect, tmp_path, request):
    answers = {"correctness": "correct", "tool_call": {"t1-tool1": "wrong", "t1-tool2": "right"}}
    with dialect_store(dialect, tmp_path, lambda: request.getfixturevalue("postgres_url")) as store:
        accounts.add_user(store, "reviewer1", "reviewer", PASSWORD)
        queue = unit_queue("traces", "trace", assignees=["reviewer1"])
        seed_batch(store, queue, n=1, reviewers_needed=1, payloads=[unit_payload("trace", "t1", support_trace())])
        item = next_item(store, "traces", "reviewer1")
        assert item["payload"]["unit"]["steps"][3]["run_id"] == "t1-tool1"
        submit(store, item["item_id"], "reviewer1", Draft(answers))
        again = revise(store, item["item_id"], "reviewer1", Draft({**answers, "tool_call": dict(answers["tool_call"])}))
        assert again.duplicate  # the same per-step answer, key order aside: nothing new stored
        assert [s["answers"] for s in item_submissions(store, item["item_id"])] == [answers]
