"""The review screen for trace and session items (issue 18), through AppTest on items published by hand
into a real SQLite review store, as the payload contract says publish writes them: a trace as a tree of
steps with the final answer open, a session turn by turn with its early turns folded, and a per-step
criterion asked once per tool step, answered with the number keys and stored as {step run id: value}."""

from __future__ import annotations

from pathlib import Path

import pytest
from review_support import PASSWORD, seed_batch
from streamlit.testing.v1 import AppTest
from unit_support import (
    TOOL_CRITERION,
    Row,
    every_row,
    step,
    support_session,
    support_trace,
    tree_rows,
    unit_payload,
    unit_queue,
)

from reviewdesk.config import Settings
from reviewdesk.review import accounts
from reviewdesk.review.submissions import item_submissions
from reviewdesk.stores.reviewstore import ReviewStore

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "review_app" / "app.py")
TRACE_ROWS = [
    "1 · chain · support-agent · 2.4 s · success · 310 tokens",
    "2 · retriever · policy-search · 80 ms · success",
    "3 · llm · 900 ms · success · 140 tokens (120 in, 20 out)",
    "4 · tool · get_order · 300 ms · error",
    "5 · tool · get_order · 120 ms · success",
    "6 · llm · 1.0 s · success · 170 tokens (150 in, 20 out)",
]


def review_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unit: str, payloads: list[dict],
                extra: list[dict] | None = None) -> AppTest:  # fmt: skip
    """reviewer1 on the Review page of a `unit` queue holding `payloads`, one review needed each."""
    with ReviewStore(Settings.load(tmp_path).review_url) as store:
        accounts.add_user(store, "reviewer1", "reviewer", PASSWORD)
        queue = unit_queue(f"{unit}s", unit, extra, assignees=["reviewer1"])
        seed_batch(store, queue, n=len(payloads), reviewers_needed=1, payloads=payloads)
    monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input[0].input("reviewer1")
    at.text_input[1].input(PASSWORD)
    at = at.button[0].click().run().switch_page("views/review.py").run()
    assert not at.exception
    return at


def press(at: AppTest, label: str) -> AppTest:
    at = next(b for b in at.button if b.label == label).click().run()
    assert not at.exception
    return at


def html(at: AppTest) -> str:
    return " ".join(h.proto.body for h in at.get("html"))


def tree(at: AppTest) -> list[Row]:
    """Every step row of the page's trees, in page order."""
    return every_row(tree_rows(html(at)))


def rows(at: AppTest) -> list[str]:
    return [r.label for r in tree(at)]


def row(at: AppTest, label: str) -> Row:
    return next(r for r in tree(at) if r.label == label)


def under(block) -> list[str]:
    """The step rows drawn inside `block` (an expander), at any depth, in order."""
    found, todo = [], list(block.children.values())
    while todo:
        node = todo.pop(0)
        if getattr(node, "type", None) == "html":
            found += [r.label for r in every_row(tree_rows(node.proto.body))]
        todo[:0] = list(getattr(node, "children", {}).values())
    return found


def stored(tmp_path: Path, item_id: str) -> list[dict]:
    with ReviewStore(Settings.load(tmp_path).review_url) as store:
        return [s["answers"] for s in item_submissions(store, item_id)]


def test_a_trace_item_shows_its_steps_as_a_tree_with_errors_marked_and_the_final_answer_open(tmp_path, monkeypatch):
    at = review_page(tmp_path, monkeypatch, "trace", [unit_payload("trace", "t1", support_trace())])
    assert "Trace of 6 steps · 1 failed" in [c.value for c in at.caption]
    assert len(at.get("html")) <= 6  # the whole tree is one element (beside the page's styles and scripts)
    assert rows(at) == TRACE_ROWS  # every step, in order: the root, its children, the tool under the model call
    assert [r.label for r in every_row(row(at, TRACE_ROWS[0]).children)] == TRACE_ROWS[1:]
    assert [r.label for r in row(at, TRACE_ROWS[2]).children] == [TRACE_ROWS[3]]  # nested under its parent
    assert [r.icon for r in tree(at)] == ["account_tree", "search", "smart_toy", "error", "build", "smart_toy"]
    assert [r.open for r in tree(at)] == [True, False, True, False, False, False]  # the root, and the model
    # call above the asked tool step; every step's content is sent with it, to open in the browser
    item = at.session_state["item"]["item_id"]
    assert [r.css for r in tree(at)] == [f"st-key-content-{item}-step-{n}" for n in range(1, 7)]
    text = html(at)
    assert text.index(">Output</div>") < text.index(">Final answer</div>")  # the model call's, then the root's
    assert "Your order <strong>A1</strong> shipped on 3 May.</p>" in text[text.index(">Final answer</div>") :]


def test_steps_whose_parents_loop_are_drawn_after_the_tree_and_said_to_be_outside_it(tmp_path, monkeypatch):
    # as publish lists them: x1 and x2 name each other as parent, so no root reaches them
    loop = [step("x1", "x2", 0, "llm", turn=2, status="success"), step("x2", "x1", 0, "llm", turn=3, status="success")]
    payload = unit_payload("trace", "t1", support_trace())
    payload["unit"] = {**payload["unit"], "steps": payload["unit"]["steps"] + loop, "unreachable": 2}
    at = review_page(tmp_path, monkeypatch, "trace", [payload])
    assert "Trace of 8 steps · 1 failed · the last 2 outside the tree (their parent links loop)" in [
        c.value for c in at.caption]  # fmt: skip
    assert rows(at) == [*TRACE_ROWS, "7 · llm · success", "8 · llm · success"]
    assert [r.label for r in row(at, "7 · llm · success").children] == ["8 · llm · success"]


def test_a_step_shows_its_input_and_output_as_runs_are_shown(tmp_path, monkeypatch):
    at = review_page(tmp_path, monkeypatch, "trace", [unit_payload("trace", "t1", support_trace())])
    text = html(at)  # each step's content, sent closed with the tree
    assert "<b>policy.md</b>" in text and "Orders ship in 2 days." in text  # the retrieval's documents, as a list
    assert "error: TimeoutError: orders API" in text  # the failed tool call's error as logged
    assert '"order_id"</span>:<span style="color: #BBB"> </span><span style="color: #4070A0">"A1"' in text  # JSON
    assert 'get_order(order_id<span style="color: #666">=</span><span style="color: #4070A0">"A1"</span>)' in text
    assert "<summary" in text and ">Run details</summary>" in text  # folded as the browser folds, with no rerun
    steps = [h.proto.body for h in at.get("html") if "Run details" in h.proto.body]
    at = press(at, "correct")  # a rerun sends the same content, under the same keys: the browser keeps what is open
    assert [h.proto.body for h in at.get("html") if "Run details" in h.proto.body] == steps


def test_raw_text_shows_each_step_exactly_as_logged(tmp_path, monkeypatch):
    steps = support_trace()
    steps[-1]["outputs"] = {"role": "assistant", "content": "**A1** <b>shipped</b>"}
    at = review_page(tmp_path, monkeypatch, "trace", [unit_payload("trace", "t1", steps)])
    assert "<strong>A1</strong> &lt;b&gt;shipped&lt;/b&gt;" in html(at)  # markdown drawn, HTML shown as text
    at = next(t for t in at.toggle if t.label == "Raw text").set_value(True).run()
    assert "**A1** &lt;b&gt;shipped&lt;/b&gt;" in html(at) and "<strong>A1</strong> &lt;b&gt;" not in html(at)


def test_a_per_step_criterion_is_asked_once_per_tool_step_and_keys_answer_them_in_order(tmp_path, monkeypatch):
    at = review_page(tmp_path, monkeypatch, "trace", [unit_payload("trace", "t1", support_trace())])
    assert [r.label for r in at.radio] == ["Correctness *", ":material/error: Step 4 · tool · get_order *",
                                           ":material/build: Step 5 · tool · get_order *"]  # fmt: skip
    assert "For each tool step: 2 steps, numbered as in the steps on the left." in [c.value for c in at.caption]
    item = at.session_state["item"]["item_id"]
    at = press(press(at, "correct"), "4")
    assert "Keys answer **Tool call, step 4 · tool · get_order**" in [m.value for m in at.markdown]
    assert f"st-key-content-{item}-step-4" in html(at)  # the step the keys answer is marked in the tree too
    at = press(press(at, "wrong"), "right")
    assert [r.value for r in at.radio] == ["correct", "wrong", "right"]
    press(at, "Submit")
    assert stored(tmp_path, item) == [{"correctness": "correct", "helpfulness": 4, "notes": None,
                                       "tool_call": {"t1-tool1": "wrong", "t1-tool2": "right"}}]  # fmt: skip


def test_a_step_left_unanswered_is_refused_naming_it_and_nothing_is_stored(tmp_path, monkeypatch):
    at = review_page(tmp_path, monkeypatch, "trace", [unit_payload("trace", "t1", support_trace())])
    item = at.session_state["item"]["item_id"]
    at = press(press(press(at, "correct"), "4"), "right")
    at = press(at, "Submit")
    assert [e.value for e in at.error] == ["Answer every step these criteria ask about: Tool call: step 5 · tool · "
                                           "get_order."]  # fmt: skip
    assert stored(tmp_path, item) == [] and at.session_state["item"]["item_id"] == item
    at = press(press(at, "wrong"), "Submit")
    assert stored(tmp_path, item)[0]["tool_call"] == {"t1-tool1": "right", "t1-tool2": "wrong"}


def test_an_optional_per_step_criterion_keeps_only_the_steps_answered(tmp_path, monkeypatch):
    optional = {**TOOL_CRITERION, "required": False}
    at = review_page(tmp_path, monkeypatch, "trace", [unit_payload("trace", "t1", support_trace())], [optional])
    item = at.session_state["item"]["item_id"]
    press(press(press(press(at, "correct"), "4"), "right"), "Submit")  # no answer for step 5: none stored for it
    assert stored(tmp_path, item)[0]["tool_call"] == {"t1-tool1": "right"}


def test_a_session_item_shows_its_turns_in_order_with_early_turns_folded(tmp_path, monkeypatch):
    at = review_page(tmp_path, monkeypatch, "session", [unit_payload("session", "s1", support_session(8))])
    assert "Session of 8 turns, 10 steps · none failed" in [c.value for c in at.caption]
    folded = next(e for e in at.expander if e.label.startswith("Show "))
    assert folded.label == "Show 5 earlier turns (1 step the form asks about)"
    turns = [m.value.split(" · ")[0] for m in at.markdown if m.value.startswith("**Turn ")]
    assert turns == ["**Turn 6**", "**Turn 7**", "**Turn 8**"]
    text = html(at)
    assert "Question 1:" not in text and text.index("Question 6:") < text.index("Answer 6:") < text.index("Question 8:")
    assert "Question 5:" not in text  # each turn shows its latest user message, not the history it carries
    steps = next(e for e in at.expander if e.label == "1 step of this turn")  # turn 6's tool call, asked: open
    assert under(steps) == ["8 · tool · get_order · 40 ms · success"]

    at.session_state[f"content-{at.session_state['item']['item_id']}-earlier"] = True
    at = press(at.run(), "correct")  # opened, then a rerun: the earlier turns stay open
    turns = [m.value.split(" · ")[0] for m in at.markdown if m.value.startswith("**Turn ")]
    assert turns == [f"**Turn {n}**" for n in range(1, 9)]
    assert [r.label for r in at.radio][-2:] == [":material/build: Turn 3 · step 4 · tool · get_order *",
                                                ":material/build: Turn 6 · step 8 · tool · get_order *"]  # fmt: skip


def test_a_session_item_is_answered_with_its_steps_and_stored_by_step(tmp_path, monkeypatch):
    at = review_page(tmp_path, monkeypatch, "session", [unit_payload("session", "s1", support_session(4))])
    item = at.session_state["item"]["item_id"]
    assert not [e for e in at.expander if e.label.startswith("Show ")]  # four turns: none folded
    press(press(press(press(at, "incorrect"), "2"), "wrong"), "Submit")
    assert stored(tmp_path, item) == [{"correctness": "incorrect", "helpfulness": 2, "notes": None,
                                       "tool_call": {"s1-turn3-tool": "wrong"}}]  # fmt: skip


def test_a_flag_instead_of_rating_needs_no_step_answered(tmp_path, monkeypatch):
    at = review_page(tmp_path, monkeypatch, "trace", [unit_payload("trace", "t1", support_trace())])
    item = at.session_state["item"]["item_id"]
    at.selectbox(key=f"{item}-flag").set_value("broken run")
    press(at.run(), "Submit")
    assert stored(tmp_path, item) == [{"correctness": None, "helpfulness": None, "notes": None, "tool_call": None}]


def test_my_submissions_edits_a_trace_item_from_its_stored_step_answers(tmp_path, monkeypatch):
    at = review_page(tmp_path, monkeypatch, "trace", [unit_payload("trace", "t1", support_trace())])
    at = press(press(press(press(press(at, "correct"), "4"), "right"), "wrong"), "Submit")
    at = at.switch_page("views/my_submissions.py").run()
    assert not at.exception
    assert [r.value for r in at.radio] == ["correct", "right", "wrong"]
    assert rows(at)[0] == TRACE_ROWS[0]  # the trace drawn as on the Review page
