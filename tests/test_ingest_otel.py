"""OpenTelemetry OTLP/JSON: every span a record, GenAI attributes mapped, bad lines and spans quarantined exactly.

Expected values are computed by hand from tests/fixtures/otel_bad.jsonl, whose lines hold:
1: 3 spans (chat, tool, plain HTTP)   2: 2 spans (legacy prompt attributes, legacy content events)
3: blank   4: invalid JSON   5: no resourceSpans (CRLF)   6: 8 spans, 7 bad and 1 duplicate of line 1's first
7: not UTF-8   8: a JSON array   9: 1 span (CRLF)   10: truncated, no newline.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ingest_support import FIXTURES, checked_ingest, counts, line_bytes, quarantined, run

from reviewdesk.ingest import otel
from reviewdesk.stores.warehouse import Warehouse

SPANS = FIXTURES / "otel_bad.jsonl"
PRETTY = FIXTURES / "otel_pretty.json"
LINE6 = "line 6 resourceSpans[0].scopeSpans[0]"
BAD_SPANS = {  # span index on line 6 -> reason; span 4 is the duplicate
    0: "run_id: missing",
    1: "prompt_tokens: fails greater_than_or_equal_to(0), got -5",
    2: "start_time: expected an ISO 8601 timestamp, got yesterday",
    3: "end_time is not before start_time; latency_ms: fails greater_than_or_equal_to(0), got -5000.0",
    5: "tags: expected a list of strings, got 42",
    6: "prompt_tokens: expected an integer, got many",
    7: "malformed span: attribute gen_ai.usage.output_tokens: invalid literal for int() with base 10: 'many'",
}


def span_of(path: Path, line_no: int, k: int) -> dict:
    """Span k of the first scope of the first resource on a line of the fixture."""
    return json.loads(line_bytes(path, line_no))["resourceSpans"][0]["scopeSpans"][0]["spans"][k]


@pytest.fixture(scope="module")
def spans():
    """otel_bad.jsonl ingested once: (warehouse, report, quarantine rows by locator)."""
    with Warehouse(None) as wh:
        report = checked_ingest(wh, SPANS, "otel")
        yield wh, report, quarantined(wh, report.ingest_id)


def test_otel_counts_and_locators_are_exact(spans) -> None:
    wh, report, rows = spans
    assert counts(report) == (19, 6, 1, 12)
    assert sorted(rows) == sorted(
        ["line 4", "line 5", "line 7", "line 8", "line 10", *(f"{LINE6}.spans[{k}]" for k in BAD_SPANS)]
    )
    assert all(q.line_no == int(q.locator.split()[1]) for q in rows.values())
    assert [r[0] for r in wh.execute("SELECT run_id FROM runs ORDER BY run_id")] == [
        "0000000000000001", "0000000000000002", "0000000000000003", "0000000000000004", "0000000000000005",
        "000000000000000d",
    ]  # fmt: skip


def test_rejected_lines_keep_their_bytes_and_rejected_spans_their_json(spans) -> None:
    rows = spans[2]
    for n in (4, 5, 7, 8, 10):
        assert rows[f"line {n}"].raw == line_bytes(SPANS, n)
    for k in BAD_SPANS:
        assert json.loads(rows[f"{LINE6}.spans[{k}]"].raw) == span_of(SPANS, 6, k)


@pytest.mark.parametrize("k", sorted(BAD_SPANS))
def test_bad_spans_are_quarantined_naming_the_field(spans, k: int) -> None:
    assert spans[2][f"{LINE6}.spans[{k}]"].reason == BAD_SPANS[k]


def test_span_missing_span_id_is_quarantined(spans) -> None:
    q = spans[2][f"{LINE6}.spans[0]"]
    assert (q.line_no, q.reason) == (6, "run_id: missing")
    assert "spanId" not in json.loads(q.raw)


def test_request_line_problems_are_quarantined_whole(spans) -> None:
    rows = spans[2]
    assert rows["line 4"].reason.startswith("invalid JSON: Expecting value")
    assert rows["line 5"].reason == "no resourceSpans list"
    assert rows["line 7"].reason == "not valid UTF-8 at byte 263 of the line"
    assert rows["line 8"].reason == "not a JSON object"
    assert not rows["line 5"].raw.endswith(b"\r")


def test_otel_truncated_last_line_is_quarantined_with_its_line_number(spans) -> None:
    q = spans[2]["line 10"]
    assert q.reason.endswith("(truncated?)")
    assert SPANS.read_bytes().endswith(q.raw)


def test_duplicate_span_id_keeps_the_first(spans) -> None:
    assert run(spans[0], "0000000000000001", "model") == ("gpt-4o-mini",)


def test_genai_chat_span_maps_model_tokens_messages_and_conversation(spans) -> None:
    wh, _, _ = spans
    cols = ("trace_id", "parent_run_id", "session_id", "project", "name", "run_type", "model", "start_time",
            "end_time", "latency_ms", "prompt_tokens", "completion_tokens", "total_tokens", "status", "error",
            "tags", "source_format")  # fmt: skip
    assert run(wh, "0000000000000001", *cols) == (
        "5b8efff798038103d269b633813fc60c", None, "conv-1", "support", "chat gpt-4o-mini", "llm", "gpt-4o-mini",
        datetime(2026, 10, 20, 10, tzinfo=UTC), datetime(2026, 10, 20, 10, 0, 1, 500000, tzinfo=UTC), 1500.0,
        120, 30, 150, "success", None, ["prod", "web"], "otel",
    )  # fmt: skip
    inputs, outputs, metadata = (json.loads(v) for v in run(wh, "0000000000000001", "inputs", "outputs", "metadata"))
    assert inputs == {"messages": [{"role": "user", "parts": [{"type": "text", "content": "Where is my order?"}]}]}
    assert outputs == {"messages": [{"role": "assistant", "parts": [{"type": "text", "content": "It shipped."}]}]}
    assert metadata == {"app.channel": "web", "otel.resource": {"service.name": "support"}}


def test_tool_span_takes_its_arguments_and_result(spans) -> None:
    row = run(spans[0], "0000000000000002", "run_type", "parent_run_id", "inputs", "outputs", "model")
    assert row[:2] == ("tool", "0000000000000001")
    assert (json.loads(row[2]), json.loads(row[3]), row[4]) == ({"order": "A1"}, {"status": "shipped"}, None)


def test_non_genai_span_becomes_a_chain_run(spans) -> None:
    row = run(spans[0], "0000000000000003", "run_type", "model", "name", "inputs", "metadata")
    assert row[:4] == ("chain", None, "GET /orders/A1", None)
    assert json.loads(row[4])["http.response.status_code"] == 200


def test_legacy_indexed_prompt_attributes_give_messages(spans) -> None:
    row = run(spans[0], "0000000000000004", "run_type", "model", "project", "prompt_tokens", "completion_tokens",
              "inputs", "outputs")  # fmt: skip
    assert row[:5] == ("llm", "gpt-4.1", "billing-bot", 10, 5)
    assert json.loads(row[5]) == {"messages": [{"role": "user", "content": "Hi, I was charged twice."}]}
    assert json.loads(row[6]) == {"messages": [{"role": "assistant", "content": "Sorry, refunding now."}]}


def test_legacy_content_events_give_messages_and_error_status(spans) -> None:
    row = run(spans[0], "0000000000000005", "model", "status", "error", "prompt_tokens", "inputs", "outputs")
    assert row[:4] == ("claude-3-5-haiku", "error", "Timeout: upstream model did not respond in 30s", 40)
    assert json.loads(row[4]) == {"messages": [{"role": "user", "content": "Refund?"}]}
    assert json.loads(row[5]) == {"messages": [{"role": "assistant", "content": "Sure"}]}


def test_pretty_printed_document_is_one_request(tmp_path: Path) -> None:
    with Warehouse(None) as wh:
        report = checked_ingest(wh, PRETTY)
        assert (report.source_format, *counts(report)) == ("otel", 3, 2, 0, 1)
        rows = quarantined(wh, report.ingest_id)
        q = rows["resourceSpans[0].scopeSpans[0].spans[2]"]  # a document has no line to point at
        assert (q.line_no, q.reason) == (None, "run_id: missing")
        assert json.loads(q.raw) == json.loads(PRETTY.read_text())["resourceSpans"][0]["scopeSpans"][0]["spans"][2]
        assert run(wh, "0000000000000003", "run_type") == ("chain",)


def test_truncated_pretty_document_is_quarantined_whole() -> None:
    path = FIXTURES / "otel_pretty_truncated.json"
    with Warehouse(None) as wh:
        report = checked_ingest(wh, path, "otel")
        assert counts(report) == (1, 0, 0, 1)
        q = quarantined(wh, report.ingest_id)["file"]
        assert (q.line_no, q.raw) == (None, path.read_bytes())
        assert q.reason.startswith("invalid JSON: Unterminated string") and q.reason.endswith("(truncated?)")


def request(*spans: object, resource: object = None) -> str:
    rs = {"resource": resource if resource is not None else {"attributes": []}, "scopeSpans": [{"spans": list(spans)}]}
    return json.dumps({"resourceSpans": [rs]})


GOOD = {"traceId": "t1", "spanId": "aaaaaaaaaaaaaaaa", "name": "chat m",
        "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "m"}}]}  # fmt: skip


def test_malformed_request_structure_is_quarantined_not_fatal(tmp_path: Path) -> None:
    lines = [
        request(GOOD),
        json.dumps({"resourceSpans": ["not an object"]}),
        json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": 5}]}]}),
        request({"spanId": "bbbbbbbbbbbbbbbb", "attributes": [{"value": {"intValue": "1"}}]}),
        request({"spanId": "cccccccccccccccc", "startTimeUnixNano": "9" * 30}),
        request("a span that is a string"),
        json.dumps({"resourceSpans": [{"resource": "x", "scopeSpans": []}]}),
    ]
    path = tmp_path / "odd.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with Warehouse(None) as wh:
        report = checked_ingest(wh, path, "otel")
        assert counts(report) == (7, 1, 0, 6)
        assert {k: q.reason for k, q in quarantined(wh, report.ingest_id).items()} == {
            "line 2 resourceSpans[0]": "malformed resourceSpans[0]: str, not an object",
            "line 3 resourceSpans[0].scopeSpans[0]": "malformed scopeSpans[0]: spans is int, not a list",
            "line 4 resourceSpans[0].scopeSpans[0].spans[0]": "malformed span: missing key 'key'",
            "line 5 resourceSpans[0].scopeSpans[0].spans[0]": "start_time: expected an ISO 8601 timestamp, got "
            + "9" * 30,
            "line 6 resourceSpans[0].scopeSpans[0].spans[0]": "malformed span: str, not an object",
            "line 7 resourceSpans[0]": "malformed resourceSpans[0]: 'str' object has no attribute 'get'",
        }  # fmt: skip


@pytest.mark.parametrize(
    "head",
    [b'{"resourceSpans": [\n', b"\n\n", b'{"resourceSpans": [], "x": "' + b"p" * (2 << 20) + b'"}\n'],
    ids=["damaged first line", "blank first lines", "2 MiB first line"],
)
def test_jsonl_is_read_line_by_line_whatever_its_first_line(tmp_path: Path, head: bytes) -> None:
    path = tmp_path / "spans.jsonl"
    second = dict(GOOD, spanId="dddddddddddddddd")
    path.write_bytes(head + request(GOOD).encode() + b"\n" + request(second).encode() + b"\n")
    with Warehouse(None) as wh:
        report = checked_ingest(wh, path, "otel")
        assert (report.inserted, report.duplicates) == (2, 0)
        assert report.rejected == (1 if head.startswith(b'{"resourceSpans": [\n') else 0)


def test_nanosecond_timestamps_keep_every_microsecond(tmp_path: Path) -> None:
    span = dict(GOOD, startTimeUnixNano="1792490400123456789", endTimeUnixNano="1792490400999999999")
    path = tmp_path / "t.jsonl"
    path.write_text(request(span) + "\n")
    with Warehouse(None) as wh:
        checked_ingest(wh, path)
        assert run(wh, GOOD["spanId"], "start_time", "end_time") == (
            datetime(2026, 10, 20, 10, 0, 0, 123456, tzinfo=UTC),
            datetime(2026, 10, 20, 10, 0, 0, 999999, tzinfo=UTC),
        )


def test_otel_huge_output_of_5_mb_is_accepted(tmp_path: Path) -> None:
    text = "h" * (5 << 20)
    attrs = [*GOOD["attributes"], {"key": "gen_ai.output.messages", "value": {"stringValue": json.dumps([text])}}]
    path = tmp_path / "huge.jsonl"
    path.write_text(request(dict(GOOD, attributes=attrs)) + "\n")
    with Warehouse(None) as wh:
        assert counts(checked_ingest(wh, path)) == (1, 1, 0, 0)
        assert wh.scalar("SELECT outputs->>'$.messages[0]' FROM runs") == text


def test_otel_results_do_not_depend_on_the_batch_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(otel, "BATCH", 2)
    with Warehouse(None) as wh:
        report = checked_ingest(wh, SPANS, "otel")
        assert counts(report) == (19, 6, 1, 12)
        assert len(quarantined(wh, report.ingest_id)) == 12
