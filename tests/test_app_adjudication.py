"""The Adjudication page through AppTest: a lead sees every answer of a disputed item and decides it; a trace's
per-step case step by step, each step in dispute with its split and a widget of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from demo_support import demo_copy
from review_support import PASSWORD
from streamlit.testing.v1 import AppTest
from test_resolve import two_reviews
from test_step_labels import consensus, disputed_both, revised, tool1_disputed
from unit_support import TRACE_ITEM, TRACE_QUEUE, every_row, trace_stores, tree_rows

from reviewdesk.demo.run import DEMO_PASSWORD
from reviewdesk.labels.adjudication import backlog, decisions
from reviewdesk.labels.collection import collect
from reviewdesk.labels.resolve import resolve_queue

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "review_app" / "app.py")


@pytest.fixture
def disputed(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A data dir where one item has two reviews that disagree on correctness only."""
    with demo_copy(demo_template, tmp_path / "data") as (store, wh):
        item = two_reviews(store, {"correctness": "correct", "helpfulness": 4},
                           {"correctness": "incorrect", "helpfulness": 4})  # fmt: skip
        collect(store, wh)
        resolve_queue(store, wh, "support-quality")
    monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(tmp_path / "data"))
    return item, tmp_path / "data"


def as_user(name: str, password: str = DEMO_PASSWORD) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    return at.button[0].click().run().switch_page("views/adjudication.py").run()


def test_lead_sees_all_answers_and_records_a_decision(disputed):
    item_id, data = disputed
    at = as_user("lead")
    assert not at.exception
    table = at.dataframe[0].value
    assert sorted(zip(table["reviewer"], table["correctness"], strict=True)) == [
        ("reviewer1", "correct"), ("reviewer2", "incorrect"),
    ]  # fmt: skip
    assert "reviewers disagree: correct (1), incorrect (1)" in " ".join(c.value for c in at.caption)
    at.radio[0].set_value("incorrect")
    at = next(b for b in at.button if b.label == "Record decision").click().run()
    assert "Choose a final answer for every criterion and give a reason." in at.error[0].value  # no reason yet
    at.text_area[0].input("The refund amount quoted is wrong.")
    at = next(b for b in at.button if b.label == "Record decision").click().run()
    assert not at.exception
    with demo_copy(data, data.parent / "check") as (store, _):
        assert backlog(store, "support-quality") == []
        assert decisions(store, "support-quality") == {item_id: {"correctness": "incorrect"}}
    assert "Nothing to adjudicate" in at.success[-1].value


STEP4, STEP5 = "Step 4 · tool · get_order", "Step 5 · tool · get_order"


@pytest.fixture
def step_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A trace item whose two reviewers split on both tool steps: one tool_call case naming both steps."""
    with trace_stores(tmp_path) as (store, wh):
        disputed_both(store, wh)
        monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(tmp_path))
        yield store, wh


def step_radio(at: AppTest, step: str):
    return next(r for r in at.radio if step in r.label)


def record(at: AppTest, reason: str) -> AppTest:
    at.text_area[0].input(reason)
    at = next(b for b in at.button if b.label == "Record decision").click().run()
    assert not at.exception
    return at


def test_a_per_step_case_shows_each_step_in_dispute_with_its_split(step_case):
    at = as_user("lead", PASSWORD)
    assert not at.exception
    assert "**Tool call** · 2 steps in dispute" in [m.value for m in at.markdown]
    captions = [c.value for c in at.caption]
    assert f"{STEP4}: wrong (1), right (1) · reviewer1 wrong, reviewer2 right" in captions
    assert f"{STEP5}: right (1), wrong (1) · reviewer1 right, reviewer2 wrong" in captions
    assert [r.label for r in at.radio] == [f":material/error: {STEP4} *", f":material/build: {STEP5} *"]  # 4 failed
    assert [r.options for r in at.radio] == [["right", "wrong"]] * 2
    table = at.dataframe[0].value  # the reviewers' answers: one legible column per step, no dict
    assert sorted(zip(table["reviewer"], table[f"tool_call · {STEP4}"], table[f"tool_call · {STEP5}"],
                      strict=True)) == [("reviewer1", "wrong", "right"), ("reviewer2", "right", "wrong")]  # fmt: skip
    assert "tool_call" not in table.columns
    shown = [e.label for e in at.expander]
    assert shown.count("Input and output of this step") == 2
    # The trace is drawn read-only as the review screen draws it, open down to the steps in dispute.
    opened = [r.css for h in at.get("html") for r in every_row(tree_rows(h.proto.body)) if r.open]
    assert opened == [f"st-key-content-{TRACE_ITEM}-step-{n}" for n in (1, 3)]  # the root, the model call above 4
    assert not any(b.label == "Submit" for b in at.button)

    def drawn() -> int:  # how many times step 4's error is drawn
        return sum("error: TimeoutError: orders API" in h.proto.body for h in at.get("html"))

    assert drawn() == 1  # in the tree (sent closed, opened in the browser); beside its widget not yet
    at.session_state[f"adjudicate-{TRACE_ITEM}-tool_call.4-content"] = True  # as a click on the expander does
    at = at.run()
    assert not at.exception
    assert drawn() == 2


def test_a_decision_for_every_step_becomes_the_per_step_consensus(step_case):
    store, wh = step_case
    at = as_user("lead", PASSWORD)
    step_radio(at, STEP4).set_value("wrong")
    step_radio(at, STEP5).set_value("right")
    at = record(at, "The first call timed out; the second found the order.")
    assert "Nothing to adjudicate" in at.success[-1].value
    assert decisions(store, TRACE_QUEUE) == {TRACE_ITEM: {"tool_call": {"t1-tool1": "wrong", "t1-tool2": "right"}}}
    resolve_queue(store, wh, TRACE_QUEUE)
    assert consensus(wh) == {"t1-tool1": ("wrong", "adjudicated"), "t1-tool2": ("right", "adjudicated")}


def test_a_step_left_unanswered_is_refused_by_name_and_nothing_is_stored(step_case):
    store, _ = step_case
    at = as_user("lead", PASSWORD)
    step_radio(at, STEP4).set_value("wrong")
    at = record(at, "Only the first call is clear to me.")
    assert [e.value for e in at.error] == [
        "Choose a final answer for every step in dispute: Tool call: step 5 · tool · get_order."
    ]
    assert decisions(store, TRACE_QUEUE) == {} and len(backlog(store, TRACE_QUEUE)) == 1
    assert step_radio(at, STEP4).value == "wrong"  # the lead's choice stays on the page


def test_the_page_asks_for_the_steps_now_in_dispute_after_a_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A resolve while the lead is choosing adds a step to the case: the next rerun shows its widget, keeps the
    choice made for the other step, and Record names the new step until it is answered."""
    with trace_stores(tmp_path) as (store, wh):
        tool1_disputed(store, wh)
        monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(tmp_path))
        at = as_user("lead", PASSWORD)
        assert [r.label for r in at.radio] == [f":material/error: {STEP4} *"]
        step_radio(at, STEP4).set_value("wrong")
        revised(store, wh, "right", "wrong")  # reviewer2 now splits with reviewer1 on step 5 too
        at = record(at, "The first call timed out.")
        assert "**Tool call** · 2 steps in dispute" in [m.value for m in at.markdown]
        assert [e.value for e in at.error] == [
            "Choose a final answer for every step in dispute: Tool call: step 5 · tool · get_order."
        ]
        assert step_radio(at, STEP4).value == "wrong" and decisions(store, TRACE_QUEUE) == {}
        step_radio(at, STEP5).set_value("right")
        at = record(at, "The first call timed out; the second found the order.")
        assert decisions(store, TRACE_QUEUE) == {TRACE_ITEM: {"tool_call": {"t1-tool1": "wrong", "t1-tool2": "right"}}}
