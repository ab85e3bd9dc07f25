"""Any run payload as turns (reviewdesk.review.conversation): the formats runs arrive in, by their published
shapes (OpenAI chat and responses, Anthropic content blocks, LangChain/LangSmith serialized messages and
generations, OpenTelemetry GenAI parts, retriever documents), tool-call arguments as a JSON string, an object
or garbage, and any JSON at all without an error."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from reviewdesk.review.conversation import (
    Data,
    Document,
    Documents,
    ToolCall,
    Turn,
    plain,
    signature,
    split,
    turns,
)

ORDER = {"order_id": "A1"}
SHIPPED = {"status": "shipped", "eta": "2026-05-02"}


def shape(found: list[Turn]) -> list[tuple[str, str, list]]:
    return [(t.role, t.label, list(t.parts)) for t in found]


def test_openai_chat_tool_call_arguments_are_parsed_and_the_result_is_its_own_named_turn():
    inputs = {"messages": [
        {"role": "system", "content": "You are a support agent."},
        {"role": "user", "content": "Where is order A1?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_order", "arguments": json.dumps(ORDER)}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": json.dumps(SHIPPED)},
        {"role": "user", "content": "And when does it arrive?"},
    ]}  # fmt: skip
    assert shape(turns(inputs, role="user")) == [
        ("system", "system", ["You are a support agent."]),
        ("user", "user", ["Where is order A1?"]),
        ("assistant", "assistant", [ToolCall("get_order", ORDER, json.dumps(ORDER), True, "call_1")]),
        ("tool", "tool result: get_order", [Data(SHIPPED)]),
        ("user", "user", ["And when does it arrive?"]),
    ]


def test_an_openai_response_is_its_message_with_the_rest_after_it():
    outputs = {"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": "On May 2."}}],
               "usage": {"total_tokens": 9}}  # fmt: skip
    assert shape(turns(outputs)) == [
        ("assistant", "assistant", ["On May 2."]),
        ("other", "more", [Data({"id": "x", "usage": {"total_tokens": 9}})]),
    ]


def test_anthropic_content_blocks_split_tool_results_into_their_own_turns():
    inputs = {"system": "Be brief.", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Where is A1?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Let me check."},
                                          {"type": "tool_use", "id": "tu_1", "name": "get_order", "input": ORDER}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu_1", "content": json.dumps(SHIPPED)},
                                     {"type": "text", "text": "Thanks. When?"}]},
    ]}  # fmt: skip
    assert shape(turns(inputs, role="user")) == [
        ("system", "system", ["Be brief."]),
        ("user", "user", ["Where is A1?"]),
        ("assistant", "assistant", ["Let me check.", ToolCall("get_order", ORDER, json.dumps(ORDER), True, "tu_1")]),
        ("tool", "tool result: get_order", [Data(SHIPPED)]),
        ("user", "user", ["Thanks. When?"]),
    ]


def test_langchain_serialized_messages_in_a_langsmith_batch_without_duplicate_calls():
    def lc(cls: str, **kwargs) -> dict:
        return {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", cls], "kwargs": kwargs}

    call = {"name": "get_order", "args": ORDER, "id": "c1", "type": "tool_call"}
    openai_copy = {"id": "c1", "type": "function", "function": {"name": "get_order", "arguments": json.dumps(ORDER)}}
    inputs = {"messages": [[
        lc("SystemMessage", content="Be kind."), lc("HumanMessage", content="Where is A1?"),
        lc("AIMessage", content="", tool_calls=[call], additional_kwargs={"tool_calls": [openai_copy]}),
        lc("ToolMessage", content="shipped", tool_call_id="c1", name="get_order"),
    ]]}  # fmt: skip
    assert shape(turns(inputs, role="user")) == [
        ("system", "system", ["Be kind."]),
        ("user", "human", ["Where is A1?"]),
        ("assistant", "ai", [ToolCall("get_order", ORDER, json.dumps(ORDER), True, "c1")]),
        ("tool", "tool result: get_order", ["shipped"]),
    ]


def test_langsmith_generations_and_message_dicts():
    ai = {"type": "ai", "data": {"content": "It ships today.", "tool_calls": []}}
    outputs = {"generations": [[{"text": "It ships today.", "message": ai}]], "llm_output": None}
    assert shape(turns(outputs)) == [("assistant", "ai", ["It ships today."])]
    assert shape(turns({"generations": [{"text": "plain"}]})) == [("assistant", "assistant", ["plain"])]
    human = [{"type": "human", "data": {"content": "hi"}}]
    assert shape(turns(human, role="user")) == [("user", "human", ["hi"])]


def test_opentelemetry_genai_parts():
    inputs = {"messages": [
        {"role": "user", "parts": [{"type": "text", "content": "Where is A1?"}]},
        {"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "lookup_order", "arguments": ORDER}]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": json.dumps(SHIPPED)}]},
    ]}  # fmt: skip
    assert shape(turns(inputs, role="user")) == [
        ("user", "user", ["Where is A1?"]),
        ("assistant", "assistant", [ToolCall("lookup_order", ORDER, json.dumps(ORDER), True, "c1")]),
        ("tool", "tool result: lookup_order", [Data(SHIPPED)]),
    ]


def test_tool_call_arguments_as_a_string_an_object_garbage_or_nothing():
    def only_call(call: object) -> ToolCall:
        (turn,) = turns({"messages": [{"role": "assistant", "tool_calls": call}]})
        (part,) = turn.parts
        assert isinstance(part, ToolCall)
        return part

    as_string = only_call([{"function": {"name": "f", "arguments": '{"a": [1, 2]}'}}])
    assert (as_string.arguments, as_string.parsed, as_string.raw) == ({"a": [1, 2]}, True, '{"a": [1, 2]}')
    as_object = only_call([{"name": "f", "args": {"a": 1}}])
    assert (as_object.arguments, as_object.raw) == ({"a": 1}, '{"a": 1}')
    garbage = only_call([{"function": {"name": "f", "arguments": "{order: A1"}}])
    assert (garbage.arguments, garbage.parsed) == ("{order: A1", False)
    assert only_call([{"function": {"name": "f", "arguments": ""}}]).arguments is None
    assert only_call(7) == ToolCall("tool call", 7, "7")
    assert only_call({"function": {"name": {"x": 1}}}).name == '{"x": 1}'
    legacy = turns({"messages": [{"role": "assistant", "function_call": {"name": "g", "arguments": "{}"}}]})
    assert legacy[0].parts == (ToolCall("g", {}, "{}"),)


def test_a_call_is_one_line_when_its_arguments_are_flat_and_short():
    assert signature(ToolCall("get_order", ORDER, "")) == ('get_order(order_id="A1")', True)
    assert signature(ToolCall("ping", None, "")) == ("ping()", True)
    assert signature(ToolCall("f", {"a": 1, "b": True, "c": None}, "")) == ("f(a=1, b=true, c=null)", True)
    assert signature(ToolCall("f", {"q": {"nested": 1}}, "")) == ("f(…)", False)
    assert signature(ToolCall("f", {"q": "x" * 100}, "")) == ("f(…)", False)
    assert signature(ToolCall("f", {"not an identifier": 1}, "")) == ("f(…)", False)
    assert signature(ToolCall("f", "{bad", "{bad", parsed=False)) == ("f(…)", False)


def test_retrieved_documents_are_a_list_with_their_sources():
    docs = [{"page_content": "Refunds take 5 days.", "metadata": {"source": "faq.md", "page": 3}},
            {"text": "Shipping is free.", "url": "https://example.org/ship"}, "a bare string"]  # fmt: skip
    expected = Documents((
        Document("Refunds take 5 days.", "faq.md", {"source": "faq.md", "page": 3}),
        Document("Shipping is free.", "https://example.org/ship", {"url": "https://example.org/ship"}),
        Document("a bare string"),
    ))  # fmt: skip
    assert shape(turns({"documents": docs})) == [("tool", "retrieved documents", [expected])]
    assert shape(turns(docs[:1])) == [("tool", "retrieved documents", [Documents(expected.items[:1])])]


def test_plain_values_and_texts_under_known_keys():
    assert shape(turns("hello", role="user")) == [("user", "user", ["hello"])]
    assert shape(turns({"output": "done", "steps": 2})) == [("assistant", "assistant", ["done"]),
                                                            ("other", "more", [Data({"steps": 2})])]  # fmt: skip
    assert shape(turns({"question": "q?", "context": "c"}, role="user")) == [
        ("other", "more", [Data({"context": "c"})]), ("user", "user", ["q?"])]  # fmt: skip
    assert shape(turns({"order_id": "A1"}, role="user")) == [("user", "user", [Data({"order_id": "A1"})])]
    assert turns(None) == turns("") == turns({}) == turns([]) == []
    assert shape(turns(42)) == [("assistant", "assistant", [Data(42)])]


def test_a_role_is_kept_as_its_label_whatever_it_holds():
    found = turns({"messages": [{"role": "![r](http://h.example/x.png)", "content": "hi"}, {"role": 3}, "bare"]})
    assert shape(found) == [("other", "![r](http://h.example/x.png)", ["hi"]), ("other", "3", []),
                            ("other", "message", ["bare"])]  # fmt: skip


def test_earlier_turns_are_those_before_the_last_user_turn():
    chat = [Turn("system", "system"), *[Turn(r, r) for r in ["user", "assistant"] * 10], Turn("user", "user"),
            Turn("assistant", "assistant")]  # fmt: skip
    earlier, latest = split(chat)
    assert (len(earlier), [t.role for t in latest]) == (21, ["user", "assistant"])
    no_user = [Turn("system", "system"), Turn("assistant", "a"), Turn("tool", "t")]
    assert split(no_user) == (no_user[:1], no_user[1:])
    assert split([]) == ([], [])


def test_plain_text_of_an_answer_holds_its_text_calls_and_data():
    answer = [Turn("assistant", "assistant", ("Checking.", ToolCall("get_order", ORDER, ""))),
              Turn("tool", "tool", (Data({"a": 1}),))]  # fmt: skip
    assert plain(answer) == 'Checking.\n\nget_order({"order_id": "A1"})\n\n{\n  "a": 1\n}'


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10),
              st.sampled_from(["role", "tool", "user", "tool_use", "tool_result", "{\"a\": 1}", "{bad"])),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["role", "type", "content", "parts", "text", "tool_calls", "function", "name", "arguments",
                         "messages", "choices", "message", "generations", "documents", "id", "lc", "kwargs", "data",
                         "input", "tool_use_id", "response", "system", "metadata", "page_content", "x"]),
        inner, max_size=5),
    max_leaves=25,
)  # fmt: skip


@settings(max_examples=500, deadline=None, derandomize=True, database=None)
@given(json_values, st.sampled_from(["user", "assistant"]))
def test_any_json_becomes_turns_of_known_parts(value: object, role: str):
    for turn in turns(value, role=role):
        assert turn.role in ("user", "assistant", "system", "tool", "other") and isinstance(turn.label, str)
        assert all(isinstance(p, str | Data | ToolCall | Documents) for p in turn.parts)
        assert all(isinstance(p.name, str) and isinstance(p.raw, str) for p in turn.parts if isinstance(p, ToolCall))
    assert isinstance(plain(turns(value, role=role)), str)
