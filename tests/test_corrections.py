"""Corrections: the answer edited as plain text (tool arguments as JSON), written back in the run's own shape."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviewdesk.datasets.formats import answer_text
from reviewdesk.review.corrections import CorrectionError, corrected, correction, editable

CALL = {"id": "c1", "type": "function", "function": {"name": "lookup_order", "arguments": '{"order_id": "A1"}'}}
OPENAI = [
    {"role": "user", "content": "Where is my order?"},
    {"role": "assistant", "content": None, "tool_calls": [CALL]},
    {"role": "tool", "tool_call_id": "c1", "content": "shipped"},
    {"role": "assistant", "content": "It shipped."},
]
LANGCHAIN = {"type": "ai", "content": "Hi", "tool_calls": [{"name": "search", "args": {"q": "x"}, "id": "t1"}]}
SERIALIZED = {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "AIMessage"],
              "kwargs": {"content": "Hello", "additional_kwargs": {"tool_calls": [CALL]}}}  # fmt: skip
PARTS = {"role": "assistant", "content": [{"type": "text", "text": "Look:"}, {"type": "image_url", "image_url": {
    "url": "http://x/y.png"}}, {"type": "text", "text": "done"}]}  # fmt: skip
USE = {"type": "tool_use", "id": "u1", "name": "lookup", "input": {"id": 7}}
ANTHROPIC = {"role": "assistant", "content": [{"type": "text", "text": "Checking."}, USE]}
COMPLETION = {"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Yes."}}]}
GENERATIONS = {"generations": [[{"text": "Yes.", "message": {"type": "ai", "content": "Yes."}}]]}

SHAPES = [
    ("a plain string", "It shipped.", "It shipped.", None),
    ("an output field", {"output": "It shipped.", "score": 1}, "It shipped.", None),
    ("an OpenAI message list", OPENAI, "It shipped.", [{"order_id": "A1"}]),
    ("messages under a key", {"messages": OPENAI}, "It shipped.", [{"order_id": "A1"}]),
    ("a LangChain message", LANGCHAIN, "Hi", [{"q": "x"}]),
    ("a serialized LangChain message", SERIALIZED, "Hello", [{"order_id": "A1"}]),
    ("content parts", PARTS, "Look:\ndone", None),
    ("Anthropic tool use", ANTHROPIC, "Checking.", [{"id": 7}]),
    ("a chat completion", COMPLETION, "Yes.", None),
    ("an LLMResult", GENERATIONS, "Yes.", None),
]


@pytest.mark.parametrize(("what", "outputs", "text", "args"), SHAPES, ids=[s[0] for s in SHAPES])
def test_the_answer_is_found_as_text_with_its_tool_arguments(what, outputs, text, args):
    found = editable(outputs)
    assert found.text == text
    assert (None if found.tool_args is None else json.loads(found.tool_args)) == args
    assert corrected(outputs, found.text, found.tool_args) is outputs  # unchanged: no correction
    assert correction(outputs, found.text, found.tool_args) is None


def test_an_edit_is_written_in_the_same_shape():
    fixed = corrected({"messages": OPENAI}, "It was delivered.")
    assert fixed["messages"][:3] == OPENAI[:3]
    assert fixed["messages"][3] == {"role": "assistant", "content": "It was delivered."}
    assert answer_text(fixed) == "It was delivered."  # promotion reads it as it reads a run's answer
    assert corrected("old", "new") == "new"
    assert corrected({"output": "a", "score": 1}, "b") == {"output": "b", "score": 1}
    assert corrected(SERIALIZED, "Bye")["kwargs"]["content"] == "Bye"
    assert corrected(COMPLETION, "No.")["choices"][0]["message"]["content"] == "No."


def test_content_parts_keep_their_other_parts_and_take_the_text_once():
    fixed = corrected(PARTS, "New text")
    assert fixed["content"] == [{"type": "text", "text": "New text"}, PARTS["content"][1]]


def test_tool_arguments_are_written_back_in_their_own_encoding():
    fixed = corrected(OPENAI, "It shipped.", '[{"order_id": "B2"}]')
    assert fixed[1]["tool_calls"][0]["function"]["arguments"] == '{"order_id": "B2"}'  # OpenAI: a JSON string
    assert fixed[3] == OPENAI[3]
    assert corrected(LANGCHAIN, "Hi", '[{"q": "y"}]')["tool_calls"][0]["args"] == {"q": "y"}  # LangChain: an object
    assert corrected(ANTHROPIC, "Checking.", '[{"id": 8}]')["content"][1]["input"] == {"id": 8}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ('[{"order_id": "B2"}', "Not valid JSON in the tool arguments"),
        ('{"order_id": "B2"}', re.escape("one entry per call (1: lookup_order)")),
        ("[{}, {}]", "one entry per call"),
    ],
)
def test_bad_tool_arguments_are_refused_with_a_reason(args, message):
    with pytest.raises(CorrectionError, match=message):
        corrected(OPENAI, "It shipped.", args)


def test_an_unknown_shape_is_edited_as_json_and_refused_when_it_is_not():
    found = editable({"result": {"rows": [1, 2]}})
    assert found.shape == "json" and json.loads(found.text) == {"result": {"rows": [1, 2]}}
    assert corrected({"result": 1}, '{"result": 2}') == {"result": 2}
    with pytest.raises(CorrectionError, match="Not valid JSON in the correction"):
        corrected({"result": 1}, "{result: 2}")


def test_malformed_arguments_a_model_wrote_are_shown_and_can_be_fixed():
    bad = {**CALL, "function": {"name": "f", "arguments": '{"a": '}}
    outputs = [{"role": "assistant", "content": "x", "tool_calls": [bad]}]
    found = editable(outputs)
    assert json.loads(found.tool_args) == ['{"a": ']
    assert corrected(outputs, "x", found.tool_args) is outputs
    assert corrected(outputs, "x", '[{"a": 1}]')[0]["tool_calls"][0]["function"]["arguments"] == '{"a": 1}'


TEXT = st.text(max_size=40)
ARGS = st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3)
CALLS = st.lists(st.builds(lambda n, a: {"id": n, "type": "function", "function": {"name": n, "arguments":
                                                                                    json.dumps(a)}},
                           st.text(max_size=5), ARGS), max_size=2)  # fmt: skip
CONTENT = TEXT | st.none() | st.lists(st.builds(lambda t: {"type": "text", "text": t}, TEXT) | st.just(
    {"type": "image_url", "image_url": {"url": "http://x"}}), max_size=3)  # fmt: skip
MESSAGE = st.builds(lambda role, content, calls: {"role": role, "content": content, **({"tool_calls": calls}
                                                                                        if calls else {})},
                    st.sampled_from(["assistant", "user", "tool"]), CONTENT, CALLS)  # fmt: skip
OUTPUTS = (
    TEXT
    | st.builds(lambda t: {"output": t}, TEXT)
    | st.lists(MESSAGE, min_size=1, max_size=4)
    | st.builds(lambda m: {"messages": m}, st.lists(MESSAGE, min_size=1, max_size=4))
    | st.builds(lambda c: {"type": "ai", "content": c}, CONTENT)
)


@given(OUTPUTS)
def test_an_unchanged_edit_gives_the_outputs_back(outputs):
    found = editable(outputs)
    assert corrected(outputs, found.text, found.tool_args) == outputs
    assert correction(outputs, found.text, found.tool_args) is None


@given(OUTPUTS, TEXT)
def test_an_edited_text_reads_back_as_written_in_the_same_shape(outputs, text):
    fixed = corrected(outputs, text)
    assert editable(fixed).text == (text if text.strip() else editable(outputs).text)  # blank: no correction
    assert type(fixed) is type(outputs)
    if isinstance(outputs, dict):
        assert set(fixed) <= set(outputs) | {"content"}
    if isinstance(outputs, list):
        assert len(fixed) == len(outputs)
        assert [m["role"] for m in fixed] == [m["role"] for m in outputs]
