"""The review screen's run content in each of its states, through Streamlit's AppTest (`render.item`, as the
review, adjudication and My submissions views call it): markdown drawn, "Raw text", earlier messages folded,
tool calls and their results, retrieved documents, and "Highlight differences" on a pair."""

from __future__ import annotations

import json
from typing import Any

from render_support import bubbles, codes, page_html, said, text_of, unsafe
from streamlit.testing.v1 import AppTest

MARKDOWN = (
    "Here is your order:\n\n- **Mug** x2\n- Tea\n\n| Item | Price |\n|---|--:|\n| Mug | 12.50 |\n\n"
    "```python\nprint('hi')\n```\n\n<script>alert(1)</script> ![x](http://example.invalid/x.png) :red[x]"
)
CALL = {"id": "call_1", "type": "function", "function": {"name": "get_order", "arguments": '{"order_id": "A1"}'}}


def single(run: Any, item_id: str = "i1") -> dict:
    return {"item_id": item_id, "kind": "single", "run_id": "r1", "payload": {"runs": {"r1": run}}}


def pair(a: Any, b: Any) -> dict:
    return {"item_id": "p1", "kind": "pairwise", "run_a": "ra", "run_b": "rb", "left_run_id": "rb",
            "payload": {"runs": {"ra": a, "rb": b}}}  # fmt: skip


def page(item: dict) -> None:
    from review_app import render

    render.item(item)


def drawn(item: dict) -> AppTest:
    at = AppTest.from_function(page, kwargs={"item": item}, default_timeout=30).run()
    assert not at.exception, at.exception[0].message
    assert not [problem for h in at.get("html") for problem in unsafe(h.value)]
    return at


def chat(role: str, content: Any) -> dict:
    return {"role": role, "content": content}


def test_an_answer_in_markdown_is_drawn_with_its_list_table_and_code():
    at = drawn(single({"inputs": {"messages": [chat("user", "Order?")]}, "outputs": {"messages": [
        chat("assistant", MARKDOWN)]}}))  # fmt: skip
    (body,) = [h.value for h in at.get("html") if "Mug" in h.value]
    assert body.count("<li>") == 2 and "<table" in body and "<td style" in body and "<pre" in body
    assert "&lt;script&gt;" in body and "[image: x](http://example.invalid/x.png)" in text_of(body)
    assert ":red[x]" in text_of(body)
    assert [t.label for t in at.toggle] == ["Raw text"] and not at.toggle[0].value


def test_raw_text_shows_each_text_exactly_as_logged():
    at = drawn(single({"outputs": {"messages": [chat("assistant", MARKDOWN)]}}))
    at = at.toggle(key="content-i1-raw").set_value(True).run()
    assert not at.exception
    (answer,) = page_html(at).select(".answer")
    assert codes(answer) == [MARKDOWN] and not answer.select("li, table")


def test_a_long_conversation_folds_its_earlier_turns_behind_one_fold():
    messages = [chat("system", "Be kind.")] + [
        chat("user" if i % 2 == 0 else "assistant", f"turn {i}") for i in range(20)
    ]
    messages += [chat("user", "latest question")]
    at = drawn(single({"inputs": {"messages": messages}, "outputs": {"messages": [chat("assistant", "the answer")]}}))
    shown = page_html(at)
    (folded,) = [d for d in shown.select("details") if d.summary.get_text().startswith("Show")]
    assert folded.summary.get_text() == "Show 21 earlier messages" and not folded.has_attr("open")
    inside = [said(b) for b in bubbles(folded)]
    assert inside == ["Be kind.", *[f"turn {i}" for i in range(20)]]
    folded.decompose()
    assert [said(b) for b in bubbles(shown)] == ["latest question", "the answer"]


def test_a_short_conversation_folds_nothing():
    at = drawn(single({"inputs": {"messages": [chat("user", "hi")]}, "outputs": "hello"}))
    shown = page_html(at)
    assert [d.summary.get_text() for d in shown.select("details")] == ["Run details"]
    assert [said(b) for b in bubbles(shown)] == ["hi", "hello"]


def test_a_tool_call_is_a_named_call_and_its_result_a_tool_bubble():
    outputs = {"messages": [
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": json.dumps({"status": "shipped", "items": ["Mug"]})},
        chat("assistant", "It has shipped."),
    ]}  # fmt: skip
    at = drawn(single({"inputs": {"messages": [chat("user", "Where is A1?")]}, "outputs": outputs}))
    found = bubbles(page_html(at))
    assert [b["class"] for b in found] == [["turn-user"], ["turn-assistant"], ["turn-tool"], ["turn-assistant"]]
    call_bubble, tool_bubble = found[1], found[2]
    assert codes(call_bubble) == ['get_order(order_id="A1")'] and "Tool call" in call_bubble.get_text()
    assert tool_bubble.find().get_text() == "tool result: get_order"  # its label
    assert codes(tool_bubble) == [json.dumps({"status": "shipped", "items": ["Mug"]}, indent=2)]


def test_tool_arguments_too_rich_for_one_line_are_pretty_printed_and_garbage_is_shown_as_logged():
    nested = {"id": "c2", "function": {"name": "search", "arguments": '{"filters": {"status": ["open"]}}'}}
    garbage = {"id": "c3", "function": {"name": "broken", "arguments": "{order: A1"}}
    at = drawn(single({"outputs": {"messages": [{"role": "assistant", "tool_calls": [nested, garbage]}]}}))
    (answer,) = page_html(at).select(".answer")
    pretty = json.dumps({"filters": {"status": ["open"]}}, indent=2)
    assert codes(answer) == ["search(…)", pretty, "broken(…)", "{order: A1"]
    assert "The arguments are not valid JSON: shown as logged." in answer.get_text()


def test_retrieved_documents_are_a_numbered_list():
    docs = {"documents": [{"page_content": "Refunds take 5 days.", "metadata": {"source": "faq.md"}}]}
    at = drawn(single({"inputs": {"query": "refunds"}, "outputs": docs}))
    (body,) = [h.value for h in at.get("html") if "<ol>" in h.value]
    assert "<b>faq.md</b>" in body and "Refunds take 5 days." in text_of(body)


def test_highlight_differences_marks_the_words_only_one_answer_has():
    inputs = {"messages": [chat("user", "When?")]}
    a = {"inputs": inputs, "outputs": {"messages": [chat("assistant", "It ships today.")]}}
    b = {"inputs": inputs, "outputs": {"messages": [chat("assistant", "It ships tomorrow.")]}}
    at = drawn(pair(a, b))
    assert [t.label for t in at.toggle] == ["Raw text", "Highlight differences"]
    said_by = [said(b) for b in bubbles(page_html(at))]
    assert said_by == ["When?", "It ships tomorrow.", "It ships today."]  # left is rb: B's run shows as A
    at = at.toggle(key="content-p1-diff").set_value(True).run()
    assert not at.exception and not [p for h in at.get("html") for p in unsafe(h.value)]
    marked = [h.value.split("<details")[0] for h in at.get("html") if "<span style" in h.value]  # less Run details
    assert [text_of(h) for h in marked] == ["It ships tomorrow.", "It ships today."]
    assert ">tomorrow</span>" in marked[0] and ">today</span>" in marked[1]
    assert [s.value for s in at.subheader] == ["Answer A", "Answer B"]


def test_highlight_differences_says_when_the_answers_hold_the_same_words():
    at = drawn(pair({"outputs": "Same  answer."}, {"outputs": "Same answer."}))
    at = at.toggle(key="content-p1-diff").set_value(True).run()
    assert [i.value for i in at.info] == ["The two answers hold the same words; only their spacing differs."]
