"""LangSmith run exports: the field mapping, naive timestamps as UTC, and every bad line quarantined exactly.

Expected values are computed by hand from tests/fixtures/langsmith_bad.jsonl (16 lines, line 3 blank).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ingest_support import FIXTURES, WRONG_TYPES, checked_ingest, counts, line_bytes, quarantined, run

from reviewdesk.stores.warehouse import Warehouse

EXPORT = FIXTURES / "langsmith_bad.jsonl"


@pytest.fixture(scope="module")
def export():
    """langsmith_bad.jsonl ingested once: (warehouse, report, quarantine rows by locator)."""
    with Warehouse(None) as wh:
        report = checked_ingest(wh, EXPORT, "langsmith")
        yield wh, report, quarantined(wh, report.ingest_id)


def test_langsmith_counts_are_exact(export) -> None:
    # lines 1 and 2 are clean, 14 repeats line 1's id, 3 is blank, the other 12 are bad
    wh, report, rows = export
    assert counts(report) == (15, 2, 1, 12)
    assert sorted(q.line_no for q in rows.values()) == [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16]
    assert all(locator == f"line {q.line_no}" for locator, q in rows.items())
    assert [r[0] for r in wh.execute("SELECT run_id FROM runs ORDER BY run_id")] == ["ls-01", "ls-02"]


def test_langsmith_quarantine_keeps_each_rejected_line_byte_for_byte(export) -> None:
    for q in export[2].values():
        assert q.raw == line_bytes(EXPORT, q.line_no), q.locator
    assert not export[2]["line 13"].raw.endswith(b"\r")


def test_langsmith_fields_map_to_canonical_columns(export) -> None:
    wh, _, _ = export
    cols = (
        "trace_id",
        "parent_run_id",
        "session_id",
        "project",
        "name",
        "run_type",
        "model",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "cost_usd",
        "status",
        "tags",
        "user_feedback",
        "source_format",
    )
    assert run(wh, "ls-01", *cols) == (
        "ls-01", None, "th-1", "support", "ChatOpenAI", "llm", "gpt-4o-mini", 100, 20, 120, 0.00012, "success",
        ["prod"], 1.0, "langsmith",
    )  # fmt: skip
    inputs, outputs, metadata = run(wh, "ls-01", "inputs", "outputs", "metadata")
    assert json.loads(inputs) == {"messages": [{"role": "user", "content": "Where is my order?"}]}
    assert json.loads(outputs) == {"generations": [{"text": "It shipped."}]}
    assert json.loads(metadata)["channel"] == "web"
    # no ls_model_name: the model comes from the invocation params; no session_name: the project is the session id
    assert run(wh, "ls-02", "model", "project", "status", "error", "user_feedback", "latency_ms") == (
        "gpt-4.1", "3f1c2a9e-0000-4000-8000-000000000002", "error", "RateLimitError: slow down", None, 30000.0,
    )  # fmt: skip


def test_naive_langsmith_timestamps_are_read_as_utc(export) -> None:
    wh, _, _ = export
    start, end, latency = run(wh, "ls-01", "start_time", "end_time", "latency_ms")
    assert start == datetime(2026, 10, 20, 10, 0, 0, 250000, tzinfo=UTC)
    assert end == datetime(2026, 10, 20, 10, 0, 1, 750000, tzinfo=UTC)
    assert latency == 1500.0


@pytest.fixture
def tokyo(monkeypatch: pytest.MonkeyPatch):
    """The machine's time zone set to Asia/Tokyo (UTC+9), which DuckDB adopts for new connections."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_naive_timestamps_are_utc_whatever_the_machine_time_zone(tokyo, tmp_path: Path) -> None:
    path = tmp_path / "ls.jsonl"
    path.write_text(json.dumps({"id": "tz-1", "run_type": "llm", "start_time": "2026-10-20T10:00:00"}) + "\n")
    with Warehouse(None) as wh:
        assert counts(checked_ingest(wh, path, "langsmith")) == (1, 1, 0, 0)
        assert run(wh, "tz-1", "start_time")[0] == datetime(2026, 10, 20, 10, tzinfo=UTC)


def test_langsmith_invalid_json_line_is_quarantined_with_the_parser_message(export) -> None:
    assert export[2]["line 4"].reason.startswith("invalid JSON: Expecting ',' delimiter")


@pytest.mark.parametrize(
    ("line_no", "reason"),
    WRONG_TYPES,
)
def test_langsmith_wrong_types_are_quarantined_naming_the_field(export, line_no: int, reason: str) -> None:
    assert export[2][f"line {line_no}"].reason == reason


def test_langsmith_run_without_id_is_quarantined(export) -> None:
    assert export[2]["line 9"].reason == "run_id: missing"


def test_langsmith_line_that_is_not_an_object_is_quarantined(export) -> None:
    assert export[2]["line 10"].reason == "not a JSON object"


def test_langsmith_domain_rules_are_checked_by_pandera(export) -> None:
    rows = export[2]
    # no total_tokens in the export: the derived 10 + -3 = 7 passes, so only the part is named
    assert rows["line 11"].reason == "completion_tokens: fails greater_than_or_equal_to(0), got -3"
    assert rows["line 12"].reason.split("; ") == [
        "end_time is not before start_time",
        "latency_ms: fails greater_than_or_equal_to(0), got -5000.0",
    ]
    assert rows["line 13"].reason == "status: fails isin(['success', 'error']), got 'pending'"


def test_langsmith_pending_run_is_quarantined_not_dropped(export) -> None:
    wh, _, rows = export
    assert wh.scalar("SELECT count(*) FROM runs WHERE run_id = 'ls-13'") == 0
    assert rows["line 13"].raw == b'{"id": "ls-13", "run_type": "llm", "status": "pending"}'


def test_langsmith_duplicate_id_within_a_file_keeps_the_first(export) -> None:
    wh, report, _ = export
    assert report.duplicates == 1
    assert run(wh, "ls-01", "name") == ("ChatOpenAI",)


def test_langsmith_non_utf8_line_is_quarantined_with_its_raw_bytes(export) -> None:
    q = export[2]["line 15"]
    assert q.reason == "not valid UTF-8 at byte 47 of the line"
    assert b"Caf\xe9Bot" in q.raw


def test_langsmith_truncated_last_line_is_quarantined_with_its_line_number(export) -> None:
    q = export[2]["line 16"]
    assert q.reason.startswith("invalid JSON: Unterminated string") and q.reason.endswith("(truncated?)")
    assert EXPORT.read_bytes().endswith(q.raw)


def test_langsmith_huge_output_of_5_mb_is_accepted(tmp_path: Path) -> None:
    output = "o" * (5 << 20)
    path = tmp_path / "huge.jsonl"
    path.write_text(json.dumps({"id": "h-1", "run_type": "llm", "outputs": {"text": output}}) + "\n")
    with Warehouse(None) as wh:
        assert counts(checked_ingest(wh, path)) == (1, 1, 0, 0)
        assert wh.scalar("SELECT outputs->>'$.text' FROM runs") == output


def test_langsmith_feedback_keys_and_model_fallbacks(tmp_path: Path) -> None:
    records = [
        {"id": "f-1", "run_type": "llm", "feedback_stats": {"thumbs": {"avg": -1}},
         "extra": {"invocation_params": {"model_name": "llama-3.1-70b"}, "metadata": {"session_id": "conv-9"}}},
        {"id": "f-2", "run_type": "chain", "feedback_stats": {"user_feedback": {"avg": 0.5}, "thumbs": {"avg": -1}},
         "extra": {"metadata": {"conversation_id": "conv-8"}}},
    ]  # fmt: skip
    path = tmp_path / "ls.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    with Warehouse(None) as wh:
        assert counts(checked_ingest(wh, path)) == (2, 2, 0, 0)
        assert run(wh, "f-1", "user_feedback", "model", "session_id") == (-1.0, "llama-3.1-70b", "conv-9")
        assert run(wh, "f-2", "user_feedback", "model", "session_id") == (0.5, None, "conv-8")
