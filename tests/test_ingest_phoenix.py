"""Phoenix's REST spans turned back into OTLP/JSON: known answers, and a round trip for any attribute value."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewdesk.ingest import otel
from reviewdesk.ingest.phoenix import any_value, otlp_span, source_name

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=6,
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a shared, loaded machine
@given(st.dictionaries(st.text(min_size=1, max_size=12), JSON_VALUES, max_size=4))
def test_attributes_survive_the_round_trip_through_otlp_json(attributes: dict):
    span = otlp_span({"context": {"trace_id": "a" * 32, "span_id": "b" * 16}, "attributes": attributes})
    expected = {k: v for k, v in attributes.items() if v is not None}
    decoded = otel.attributes(span["attributes"])
    assert decoded == _without_none(expected)


def _without_none(value):
    """What OTLP can carry: None inside lists and maps becomes an empty AnyValue, read back as None."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def test_a_phoenix_span_maps_to_the_otlp_span_it_was_sent_as():
    span = otlp_span({
        "id": "U3BhbjoxMg==", "name": "chat", "context": {"trace_id": "1c" * 16, "span_id": "c7" * 8},
        "parent_id": "d8" * 8, "start_time": "2026-12-03T13:12:58.346401+00:00",
        "end_time": "2026-12-03T13:12:59.000002+00:00", "status_code": "ERROR", "status_message": "timeout",
        "attributes": {"gen_ai.usage.input_tokens": 12, "tags": ["a", "b"], "score": 0.5, "ok": True},
        "events": [{"name": "gen_ai.content.prompt", "timestamp": "2026-12-03T13:12:58.5+00:00",
                    "attributes": {"gen_ai.prompt": "hi"}}],
    })  # fmt: skip
    assert (span["traceId"], span["spanId"], span["parentSpanId"]) == ("1c" * 16, "c7" * 8, "d8" * 8)
    assert (span["startTimeUnixNano"], span["endTimeUnixNano"]) == ("1796303578346401000", "1796303579000002000")
    assert span["status"] == {"code": 2, "message": "timeout"}
    assert span["attributes"] == [
        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}},
        {"key": "tags", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"stringValue": "b"}]}}},
        {"key": "score", "value": {"doubleValue": 0.5}},
        {"key": "ok", "value": {"boolValue": True}},
    ]
    assert span["events"][0]["timeUnixNano"] == "1796303578500000000"
    run = otel.span_to_run(span, {"service.name": "support"})
    assert (run["run_id"], run["trace_id"], run["status"], run["error"]) == ("c7" * 8, "1c" * 16, "error", "timeout")
    assert run["inputs"] == "hi" and run["prompt_tokens"] == 12


def test_a_phoenix_span_keeps_its_openinference_kind_so_tool_and_retriever_steps_stay_so():
    """Phoenix lists an OpenInference span's kind as `span_kind`, not among its attributes."""

    def run_type(span_kind: str, **attributes) -> tuple[str, bool]:
        span = otlp_span({"context": {"trace_id": "1c" * 16, "span_id": "c7" * 8}, "span_kind": span_kind,
                          "attributes": {"input.value": "A1", **attributes}})  # fmt: skip
        return otel.span_to_run(span, {})["run_type"], "openinference.span.kind" in otel.attributes(span["attributes"])

    assert run_type("TOOL") == ("tool", True)
    assert run_type("RETRIEVER") == ("retriever", True)
    assert run_type("CHAIN") == ("chain", True)
    assert run_type("UNKNOWN") == ("chain", False)
    assert run_type("LLM", **{"gen_ai.operation.name": "execute_tool"}) == ("tool", False)  # GenAI: Phoenix's guess


def test_null_is_the_empty_any_value_and_reads_back_as_null():
    assert any_value(None) == {}
    assert otel.any_value(any_value([1, None])) == [1, None]


def test_a_pull_is_named_by_server_and_project():
    assert source_name("http://127.0.0.1:6006/", "support") == "phoenix:http://127.0.0.1:6006/projects/support"
