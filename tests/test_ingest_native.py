"""Native logs (JSONL, CSV, Parquet): exact counts, exact positions, raw bytes kept, reasons that name the field.

Expected values are computed by hand from tests/fixtures/native_bad.jsonl and native_bad.csv, whose
lines are numbered in the comments below.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingest_support import FIXTURES, WRONG_TYPES, checked_ingest, counts, line_bytes, quarantined, run

from reviewdesk.errors import InputFileError
from reviewdesk.ingest import csvfile, lines
from reviewdesk.stores.warehouse import Warehouse

JSONL = FIXTURES / "native_bad.jsonl"
CSV = FIXTURES / "native_bad.csv"
UTC_DAY = datetime(2026, 10, 20, tzinfo=UTC)


@pytest.fixture
def wh():
    with Warehouse(None) as wh:
        yield wh


@pytest.fixture(scope="module")
def jsonl():
    """native_bad.jsonl ingested once: (warehouse, report, quarantine rows by locator)."""
    with Warehouse(None) as wh:
        report = checked_ingest(wh, JSONL, "native")
        yield wh, report, quarantined(wh, report.ingest_id)


@pytest.fixture(scope="module")
def csv_file():
    with Warehouse(None) as wh:
        report = checked_ingest(wh, CSV, "native")
        yield wh, report, quarantined(wh, report.ingest_id)


# --- JSONL ---------------------------------------------------------------------------------------------


def test_jsonl_counts_are_exact(jsonl) -> None:
    # 19 lines: 3 and 16 are blank, 1, 2 and 17 are clean, 14 repeats line 1's run_id, the other 13 are bad.
    wh, report, rows = jsonl
    assert counts(report) == (17, 3, 1, 13)
    assert sorted(q.line_no for q in rows.values()) == [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 18, 19]
    assert all(locator == f"line {q.line_no}" for locator, q in rows.items())
    assert [r[0] for r in wh.execute("SELECT run_id FROM runs ORDER BY run_id")] == ["n-01", "n-02", "n-17"]


def test_quarantine_keeps_each_rejected_line_byte_for_byte(jsonl) -> None:
    _, _, rows = jsonl
    for q in rows.values():
        assert q.raw == line_bytes(JSONL, q.line_no), q.locator
    assert not rows["line 13"].raw.endswith(b"\r")  # a CRLF line is kept without its line break


def test_clean_records_are_typed_and_derived(jsonl) -> None:
    wh, _, _ = jsonl
    cols = ("model", "start_time", "latency_ms", "prompt_tokens", "total_tokens", "status", "error", "tags",
            "metadata", "user_feedback", "source_format")  # fmt: skip
    assert run(wh, "n-01", *cols) == (
        "gpt-4o-mini", UTC_DAY.replace(hour=10), 1500.0, 120, 150, "success", None, ["prod", "v2"],
        '{"channel":"web"}', 1.0, "native",
    )  # fmt: skip
    # status derived from the error, latency from the times, total from the parts
    assert run(wh, "n-02", "status", "latency_ms", "total_tokens", "error") == (
        "error", 2000.0, 50, "Timeout: upstream model did not respond in 30s",
    )  # fmt: skip
    assert run(wh, "n-17", "status", "total_tokens") == ("success", 15)  # "SUCCESS", on a CRLF line


def test_invalid_json_line_is_quarantined_with_the_parser_message(jsonl) -> None:
    reason = jsonl[2]["line 4"].reason
    assert reason.startswith("invalid JSON: Expecting property name enclosed in double quotes")
    assert "truncated" not in reason


@pytest.mark.parametrize(
    ("line_no", "reason"),
    WRONG_TYPES,
)
def test_wrong_types_are_quarantined_naming_the_field(jsonl, line_no: int, reason: str) -> None:
    assert jsonl[2][f"line {line_no}"].reason == reason


def test_missing_or_empty_run_id_is_quarantined(jsonl) -> None:
    assert jsonl[2]["line 9"].reason == "run_id: missing"
    assert jsonl[2]["line 18"].reason == "run_id: missing"


def test_line_that_is_not_an_object_is_quarantined(jsonl) -> None:
    assert jsonl[2]["line 10"].reason == "not a JSON object"


def test_domain_rules_are_checked_by_pandera(jsonl) -> None:
    rows = jsonl[2]
    assert rows["line 11"].reason.split("; ") == [
        "prompt_tokens: fails greater_than_or_equal_to(0), got -5",
        "total_tokens: fails greater_than_or_equal_to(0), got -2",
    ]
    assert rows["line 12"].reason.split("; ") == [
        "end_time is not before start_time",
        "latency_ms: fails greater_than_or_equal_to(0), got -5000.0",
    ]
    assert rows["line 13"].reason == "status: fails isin(['success', 'error']), got 'pending'"


def test_non_utf8_line_is_quarantined_with_its_raw_bytes(jsonl) -> None:
    q = jsonl[2]["line 15"]
    assert q.reason == "not valid UTF-8 at byte 34 of the line"
    assert q.raw == b'{"run_id": "n-15", "outputs": "caf\xe9 au lait", "status": "success"}'


def test_truncated_last_line_is_quarantined_with_its_line_number(jsonl) -> None:
    q = jsonl[2]["line 19"]
    assert q.reason.startswith("invalid JSON: Unterminated string") and q.reason.endswith("(truncated?)")
    assert JSONL.read_bytes().endswith(q.raw) and q.raw.startswith(b'{"run_id": "n-19"')


def test_duplicate_run_id_within_a_file_keeps_the_first(jsonl) -> None:
    wh, report, _ = jsonl
    assert report.duplicates == 1
    assert run(wh, "n-01", "model") == ("gpt-4o-mini",)


def test_empty_and_blank_files_read_nothing(wh) -> None:
    for name in ("empty.jsonl", "blank_lines.jsonl", "empty.csv"):
        assert counts(checked_ingest(wh, FIXTURES / name, "native")) == (0, 0, 0, 0), name


def test_bom_is_dropped_and_crlf_is_not_part_of_the_record(tmp_path: Path, wh) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"run_id": "b-1", "error": "boom"}\r\n{"run_id": "b-2", "status": "nope"}\r\n')
    report = checked_ingest(wh, path)
    assert counts(report) == (2, 1, 0, 1)
    assert run(wh, "b-1", "error", "status") == ("boom", "error")
    assert quarantined(wh, report.ingest_id)["line 2"].raw == b'{"run_id": "b-2", "status": "nope"}'


def test_huge_output_of_5_mb_is_accepted(tmp_path: Path, wh) -> None:
    output = "x" * (5 << 20)
    path = tmp_path / "huge.jsonl"
    path.write_text(json.dumps({"run_id": "h-1", "outputs": output}) + "\n" + json.dumps({"run_id": "h-2"}) + "\n")
    assert counts(checked_ingest(wh, path)) == (2, 2, 0, 0)
    assert wh.scalar("SELECT outputs->>'$' FROM runs WHERE run_id = 'h-1'") == output


def test_lines_over_the_limit_are_quarantined_with_a_prefix_wherever_they_are(
    tmp_path: Path, wh, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lines, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(lines, "KEPT_PREFIX", 100)
    long = json.dumps({"run_id": "long", "outputs": "y" * 2000}).encode()
    good = [json.dumps({"run_id": f"g-{i}"}).encode() for i in range(3)]
    # over-long first line, then one between short lines (same block), then a last one without a newline
    path = tmp_path / "long.jsonl"
    path.write_bytes(b"\n".join([long, good[0], long, good[1], good[2], long]))
    report = checked_ingest(wh, path)
    assert counts(report) == (6, 3, 0, 3)
    rows = quarantined(wh, report.ingest_id)
    assert sorted(rows) == ["line 1", "line 3", "line 6"]
    for q in rows.values():
        assert q.raw == long[:100]
        assert q.reason.startswith(f"line is {len(long):,} bytes, over the 1,000-byte limit")
    assert "at byte 0 of the file" in rows["line 1"].reason
    assert f"at byte {len(long) + 1 + len(good[0]) + 1:,} of the file" in rows["line 3"].reason


def test_line_over_32_mib_is_quarantined(tmp_path: Path, wh) -> None:
    long = b'{"run_id": "big", "outputs": "' + b"z" * (33 << 20) + b'"}'
    path = tmp_path / "big.jsonl"
    path.write_bytes(b'{"run_id": "ok-1"}\n' + long + b'\n{"run_id": "ok-2"}\n')
    report = checked_ingest(wh, path)
    assert counts(report) == (3, 2, 0, 1)
    q = quarantined(wh, report.ingest_id)["line 2"]
    assert q.raw == long[: lines.KEPT_PREFIX]
    assert q.reason.startswith(f"line is {len(long):,} bytes, over the {lines.MAX_LINE_BYTES:,}-byte limit")


def record_of(length: int, run_id: str) -> bytes:
    """A native JSON record of exactly `length` bytes."""
    head = b'{"run_id": "' + run_id.encode() + b'", "outputs": "'
    return head + b"p" * (length - len(head) - 2) + b'"}'


def test_a_line_of_exactly_the_limit_is_accepted_with_lf_or_crlf(
    tmp_path: Path, wh, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lines, "MAX_LINE_BYTES", 100)
    path = tmp_path / "edge.jsonl"
    data = [record_of(100, "e-1"), record_of(100, "e-2"), record_of(101, "e-3"), record_of(101, "e-4")]
    path.write_bytes(data[0] + b"\n" + data[1] + b"\r\n" + data[2] + b"\r\n" + data[3])
    report = checked_ingest(wh, path)
    assert counts(report) == (4, 2, 0, 2)
    rows = quarantined(wh, report.ingest_id)
    assert {k: (q.raw, q.reason.split(";")[0]) for k, q in rows.items()} == {
        "line 3": (data[2], "line is 101 bytes, over the 100-byte limit"),
        "line 4": (data[3], "line is 101 bytes, over the 100-byte limit"),
    }


def test_a_long_line_straddling_read_pieces_keeps_the_next_line_exact(tmp_path: Path) -> None:
    # With 64-byte blocks the reader holds 131 bytes of the line, then streams the rest in 1 MiB pieces:
    # its CR ends the first piece and its LF starts the second.
    path = tmp_path / "straddle.jsonl"
    length = 131 + (1 << 20) - 1
    path.write_bytes(b"x" * length + b'\r\n{"a": 1}\n')
    chunks = list(lines.read_lines(path, block_bytes=64, max_line_bytes=100))
    [reject] = [r for c in chunks for r in c.rejects]
    assert (reject.line_no, reject.raw) == (1, b"x" * 131)
    assert reject.reason.startswith(f"line is {length:,} bytes")
    kept = [row for c in chunks for row in c.table.to_pylist()]
    assert kept == [{"line_no": 2, "byte_offset": length + 2, "raw": '{"a": 1}\n'}]


def test_integers_out_of_range_are_quarantined_not_nulled(tmp_path: Path, wh) -> None:
    path = tmp_path / "ints.jsonl"
    path.write_text(
        '{"run_id": "i-1", "prompt_tokens": 1e20}\n'
        '{"run_id": "i-2", "prompt_tokens": 9007199254740993}\n'
        '{"run_id": "i-3", "prompt_tokens": 99999999999999999999}\n'
        '{"run_id": "i-4", "prompt_tokens": "12", "completion_tokens": 1.0}\n'
        '{"run_id": "i-5", "completion_tokens": 1.5}\n'
    )
    report = checked_ingest(wh, path)
    assert counts(report) == (5, 2, 0, 3)
    assert {k: q.reason for k, q in quarantined(wh, report.ingest_id).items()} == {
        "line 1": "prompt_tokens: expected an integer, got 100000000000000000000.0",
        "line 3": "prompt_tokens: expected an integer, got 99999999999999999999",
        "line 5": "completion_tokens: expected an integer, got 1.5",
    }
    assert run(wh, "i-2", "prompt_tokens") == (9007199254740993,)  # exact, not rounded through a double
    assert run(wh, "i-4", "prompt_tokens", "completion_tokens", "total_tokens") == (12, 1, 13)


# --- CSV -----------------------------------------------------------------------------------------------


def test_csv_counts_are_exact(csv_file) -> None:
    # line 1 is the header, 3-4 one quoted multi-line record, 5 and 17 blank, 15 repeats line 2's run_id
    wh, report, rows = csv_file
    assert counts(report) == (15, 3, 1, 11)
    assert sorted(q.line_no for q in rows.values()) == [6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 19]
    assert all(locator == f"line {q.line_no}" for locator, q in rows.items())
    assert [r[0] for r in wh.execute("SELECT run_id FROM runs ORDER BY run_id")] == ["c-02", "c-03", "c-18"]


def test_csv_quarantine_keeps_each_rejected_line_byte_for_byte(csv_file) -> None:
    for q in csv_file[2].values():
        assert q.raw == line_bytes(CSV, q.line_no), q.locator
    assert not csv_file[2]["line 14"].raw.endswith(b"\r")


def test_csv_values_are_typed_and_nested_json_text_is_parsed(csv_file) -> None:
    wh, _, _ = csv_file
    assert run(wh, "c-02", "model", "start_time", "latency_ms", "total_tokens", "tags", "metadata", "outputs",
               "user_feedback") == (
        "gpt-4o-mini", UTC_DAY.replace(hour=10), 1500.0, 150, ["prod", "v2"], '{"channel":"web"}',
        '{"messages":[{"role":"assistant","content":"It shipped."}]}', 1.0,
    )  # fmt: skip
    assert run(wh, "c-18", "status", "tags", "metadata", "error") == ("success", [], "{}", None)


def test_csv_multiline_quoted_record_is_one_record(csv_file) -> None:
    wh, _, _ = csv_file
    assert run(wh, "c-03", "outputs->>'$'", "user_feedback", "status") == (
        "Dear customer,\nyour order shipped.", -1.0, "success",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("line_no", "reason"),
    [
        (6, "prompt_tokens: expected an integer, got many"),
        (7, "start_time: expected an ISO 8601 timestamp, got yesterday"),
        (8, "tags: expected a list of strings, got 42"),
        (9, "metadata: expected an object, got array"),
        (10, "run_id: missing"),
        (11, "CSV: 12 fields, the header has 11"),
        (12, "prompt_tokens: fails greater_than_or_equal_to(0), got -5; "
             "total_tokens: fails greater_than_or_equal_to(0), got -2"),
        (13, "end_time is not before start_time; latency_ms: fails greater_than_or_equal_to(0), got -5000.0"),
        (14, "status: fails isin(['success', 'error']), got 'pending'"),
        (16, "not valid UTF-8 at byte 8 of the record"),
        (19, "CSV: unexpected end of data (truncated?)"),
    ],
)  # fmt: skip
def test_csv_bad_records_are_quarantined_naming_the_field_or_problem(csv_file, line_no: int, reason: str) -> None:
    assert csv_file[2][f"line {line_no}"].reason == reason


def test_csv_truncated_last_line_is_quarantined_with_its_line_number(csv_file) -> None:
    q = csv_file[2]["line 19"]
    assert CSV.read_bytes().endswith(q.raw) and q.raw.startswith(b"c-19,")


def test_csv_results_do_not_depend_on_the_batch_size(wh, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csvfile, "CSV_BATCH", 2)
    report = checked_ingest(wh, CSV)
    assert counts(report) == (15, 3, 1, 11)
    assert sorted(q.line_no for q in quarantined(wh, report.ingest_id).values()) == [
        6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 19,
    ]  # fmt: skip


def test_csv_unterminated_quote_mid_file_is_one_record_over_its_lines(tmp_path: Path, wh) -> None:
    path = tmp_path / "quote.csv"
    path.write_bytes(b'run_id,error\nq-1,fine\nq-2,"never closed\nq-3,x\nq-4,y\n')
    report = checked_ingest(wh, path)
    assert counts(report) == (2, 1, 0, 1)
    q = quarantined(wh, report.ingest_id)["lines 3-5"]
    assert (q.line_no, q.raw) == (3, b'q-2,"never closed\nq-3,x\nq-4,y')
    assert q.reason == "CSV: unexpected end of data (truncated?)"


def test_csv_with_mixed_line_endings_and_a_short_last_line(tmp_path: Path, wh) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"run_id,prompt_tokens,status\r\nm-1,1,success\nm-2,2,success\r\nm-3,3")
    report = checked_ingest(wh, path)
    assert counts(report) == (3, 2, 0, 1)
    assert quarantined(wh, report.ingest_id)["line 4"].reason == "CSV: 2 fields, the header has 3 (truncated?)"


def test_csv_record_over_the_limit_is_quarantined_and_reading_goes_on(
    tmp_path: Path, wh, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lines, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(lines, "KEPT_PREFIX", 50)
    long = b"l-2," + b"w" * 3000
    path = tmp_path / "long.csv"
    path.write_bytes(b"run_id,error\nl-1,a\n" + long + b"\nl-3,b\n")
    report = checked_ingest(wh, path)
    assert counts(report) == (3, 2, 0, 1)
    q = quarantined(wh, report.ingest_id)["line 3"]
    assert q.raw == long[:50]
    assert q.reason == f"record is {len(long):,} bytes, over the 1,000-byte limit"


def test_csv_huge_output_of_5_mb_is_accepted(tmp_path: Path, wh) -> None:
    path = tmp_path / "huge.csv"
    path.write_text("run_id,outputs\nh-1," + "x" * (5 << 20) + "\nh-2,small\n")
    assert counts(checked_ingest(wh, path)) == (2, 2, 0, 0)
    assert wh.scalar("SELECT length(outputs->>'$') FROM runs WHERE run_id = 'h-1'") == 5 << 20


# --- Parquet -------------------------------------------------------------------------------------------

PARQUET_ROWS = [  # every column as text, as a hand-made export would carry it
    {"run_id": "p-1", "model": "gpt-4o-mini", "prompt_tokens": "10", "status": "success", "tags": '["a"]'},
    {"run_id": "p-2", "model": "gpt-4.1", "prompt_tokens": "many", "status": "success", "tags": None},
    {"run_id": "p-3", "model": "gpt-4.1", "start_time": "yesterday", "status": "success"},
    {"run_id": "p-4", "model": "gpt-4.1", "tags": "42", "status": "success"},
    {"run_id": "p-5", "model": "gpt-4.1", "metadata": '["channel"]', "status": "success"},
    {"run_id": None, "model": "gpt-4.1", "status": "success"},
    {"run_id": "p-7", "model": "gpt-4.1", "prompt_tokens": "-5", "status": "success"},
    {"run_id": "p-8", "start_time": "2026-10-20T12:00:05Z", "end_time": "2026-10-20T12:00:00Z", "status": "success"},
    {"run_id": "p-9", "status": "pending"},
    {"run_id": "p-1", "model": "a-duplicate-of-row-1", "status": "success"},
    {"run_id": "p-11", "model": "claude-3-5-haiku", "error": "Timeout", "outputs": "x" * (5 << 20)},
]
PARQUET_COLUMNS = ["run_id", "model", "start_time", "end_time", "prompt_tokens", "status", "error", "tags",
                   "metadata", "outputs"]  # fmt: skip


def write_parquet(path: Path, rows: list[dict]) -> Path:
    table = pa.table({c: pa.array([r.get(c) for r in rows], pa.string()) for c in PARQUET_COLUMNS})
    pq.write_table(table, path, row_group_size=4)  # several row groups
    return path


def test_parquet_counts_locators_and_reasons_are_exact(tmp_path: Path, wh) -> None:
    path = write_parquet(tmp_path / "runs.parquet", PARQUET_ROWS)
    report = checked_ingest(wh, path)
    assert counts(report) == (11, 2, 1, 8)
    rows = quarantined(wh, report.ingest_id)
    assert {locator: q.reason for locator, q in rows.items()} == {
        "row 2": "prompt_tokens: expected an integer, got many",
        "row 3": "start_time: expected an ISO 8601 timestamp, got yesterday",
        "row 4": "tags: expected a list of strings, got 42",
        "row 5": "metadata: expected an object, got array",
        "row 6": "run_id: missing",
        "row 7": "prompt_tokens: fails greater_than_or_equal_to(0), got -5",  # no completion: no total either
        "row 8": "end_time is not before start_time; latency_ms: fails greater_than_or_equal_to(0), got -5000.0",
        "row 9": "status: fails isin(['success', 'error']), got 'pending'",
    }
    for locator, q in rows.items():  # a Parquet row has no line: its raw text is the row as JSON
        assert q.line_no is None
        row = PARQUET_ROWS[int(locator.removeprefix("row ")) - 1]
        assert json.loads(q.raw) == {c: row.get(c) for c in PARQUET_COLUMNS}
    assert run(wh, "p-1", "model", "prompt_tokens", "tags") == ("gpt-4o-mini", 10, ["a"])
    assert run(wh, "p-11", "status", "length(outputs->>'$')") == ("error", 5 << 20)


def test_empty_parquet_reads_nothing(tmp_path: Path, wh) -> None:
    assert counts(checked_ingest(wh, write_parquet(tmp_path / "empty.parquet", []))) == (0, 0, 0, 0)


def test_unreadable_parquet_is_refused_and_changes_nothing(tmp_path: Path, wh) -> None:
    good = write_parquet(tmp_path / "good.parquet", PARQUET_ROWS[:1])
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(good.read_bytes()[:-20])
    with pytest.raises(InputFileError, match=r"Cannot read .*broken\.parquet as Parquet"):
        checked_ingest(wh, broken)
    assert wh.execute("SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM quarantine), "
                      "(SELECT count(*) FROM ingests)") == [(0, 0, 0)]  # fmt: skip
