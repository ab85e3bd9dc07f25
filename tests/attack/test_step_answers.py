"""Per-step answers that break the contract: each is refused at submit with a reason that says what to fix,
and collect rejects the same when one was stored some other way (issue 18)."""

from __future__ import annotations

import time

import pytest
from unit_support import TOOL_CRITERION, support_trace, unit_payload

from reviewdesk.labels.collection import validate
from reviewdesk.review.units import MAX_PROBLEMS, per_step_problems

PAYLOAD = unit_payload("trace", "t1", support_trace())
GOOD = {"t1-tool1": "right", "t1-tool2": "wrong"}


def problems(answer, payload=PAYLOAD) -> list[str]:
    return per_step_problems([TOOL_CRITERION], payload, {"tool_call": answer})


def test_a_valid_answer_has_no_problem():
    assert problems(GOOD) == []


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({**GOOD, "t9-ghost": "right"}, "tool_call: 't9-ghost' is not a step of this unit"),
        (["right", "wrong"], "tool_call: must be an object of step run id: answer, got list"),
        ("right", "tool_call: must be an object of step run id: answer, got str"),
        ({**GOOD, "t1-root": "right"}, "tool_call: step 1 is a chain step, not one of tool"),
        ({"t1-tool1": "right", "t1-tool2": {"nested": "x"}}, "tool_call: step 5: {'nested': 'x'} must be text"),
        ({"t1-tool1": "right", "t1-tool2": True}, "tool_call: step 5: True must be text or a number"),
        ({"t1-tool1": "right", "t1-tool2": ["right"]}, "tool_call: step 5: ['right'] must be one of right, wrong"),
    ],
)
def test_a_broken_per_step_answer_says_what_is_wrong(answer, expected):
    assert any(p.startswith(expected) for p in problems(answer)), problems(answer)


def test_non_string_keys_are_not_steps():
    found = problems({**GOOD, 5: "right", None: "wrong"})
    assert "tool_call: 5 is not a step of this unit" in found
    assert "tool_call: None is not a step of this unit" in found


def test_a_huge_object_is_refused_quickly_with_a_bounded_list_of_reasons():
    answer = {**GOOD, **{f"ghost-{i}": "right" for i in range(100_000)}}
    started = time.perf_counter()
    found = problems(answer)
    assert time.perf_counter() - started < 2
    assert len(found) == MAX_PROBLEMS + 1 and found[-1] == "... and 99980 more problems"


def test_a_huge_value_is_cut_short_in_the_reason():
    (found,) = problems({"t1-tool1": "right", "t1-tool2": "x" * 100_000})
    assert len(found) < 200 and found.endswith("must be one of right, wrong")


def test_a_run_item_refuses_any_per_step_answer():
    run_payload = {"runs": {"r1": {"run_id": "r1", "outputs": "hi"}}}
    assert problems(GOOD, run_payload) == [
        "tool_call: a per-step answer, but this item is one run (not a trace or session)"
    ]
    assert problems(None, run_payload) == []


def test_a_payload_that_is_not_an_object_counts_as_a_run_item():
    for payload in (None, [], "x", {"unit": "trace"}, {"unit": {"kind": "galaxy"}}):
        assert problems(GOOD, payload)[0].endswith("this item is one run (not a trace or session)")


def test_collect_rejects_the_same_answers():
    rubric = {"criteria": [TOOL_CRITERION]}
    rows = [{"submission_id": i, "item_id": "it", "rubric_version": "v", "flags": [], "run_a": None, "run_b": None,
             "answers": {"tool_call": a}} for i, a in enumerate([GOOD, ["right"], {**GOOD, 7: "x"}], 1)]  # fmt: skip
    reasons = validate(rows, rubric, "single", True, {"it": PAYLOAD})
    assert set(reasons) == {2, 3}
    assert reasons[3] == ["tool_call: 7 is not a step of this unit"]
