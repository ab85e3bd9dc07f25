"""What holds for every format: counts add up, reruns are idempotent, a failed ingest leaves nothing, line
numbers survive chunking, the format is detected, and demo runs survive a round trip through each format."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from ingest_support import FIXTURES, checked_ingest, counts, line_bytes, quarantined, run, table_counts

from reviewdesk.demo.exports import write_runs
from reviewdesk.demo.logs import generate_runs
from reviewdesk.errors import ConfigError, InputFileError
from reviewdesk.ingest import csvfile, detect_format, ingest, ingest_file, lines, otel
from reviewdesk.ingest.stage import Stage
from reviewdesk.stores.warehouse import Warehouse

# fixture, format, (read, inserted, duplicates, rejected) computed by hand (see each format's test module)
CASES = [
    ("native_bad.jsonl", "native", (17, 3, 1, 13)),
    ("native_bad.csv", "native", (15, 3, 1, 11)),
    ("langsmith_bad.jsonl", "langsmith", (15, 2, 1, 12)),
    ("otel_bad.jsonl", "otel", (19, 6, 1, 12)),
    ("otel_pretty.json", "otel", (3, 2, 0, 1)),
    ("otel_pretty_truncated.json", "otel", (1, 0, 0, 1)),
    ("empty.jsonl", "native", (0, 0, 0, 0)),
    ("empty.csv", "native", (0, 0, 0, 0)),
]
IDS = [name for name, _, _ in CASES]
ORIGINAL_ADD = Stage.add


@pytest.fixture
def wh():
    with Warehouse(None) as wh:
        yield wh


def snapshot(wh: Warehouse) -> tuple[list, list, list]:
    return (
        wh.execute("SELECT * FROM runs ORDER BY run_id"),
        wh.execute("SELECT * FROM quarantine ORDER BY ingest_id, line_no, locator"),
        wh.execute("SELECT * FROM ingests ORDER BY ingest_id"),
    )


@pytest.mark.parametrize(("name", "fmt", "expected"), CASES, ids=IDS)
def test_counts_add_up_and_every_reject_has_one_quarantine_row(wh, name: str, fmt: str, expected: tuple) -> None:
    report = checked_ingest(wh, FIXTURES / name, fmt)  # checks the tables against the report
    assert counts(report) == expected
    assert len(quarantined(wh, report.ingest_id)) == expected[3]


@pytest.mark.parametrize(("name", "fmt", "expected"), CASES, ids=IDS)
def test_second_ingest_inserts_nothing_and_counts_duplicates(wh, name: str, fmt: str, expected: tuple) -> None:
    first = checked_ingest(wh, FIXTURES / name, fmt)
    before = wh.execute("SELECT * FROM runs ORDER BY run_id")
    second = checked_ingest(wh, FIXTURES / name, fmt)
    read, inserted, duplicates, rejected = expected
    assert counts(second) == (read, 0, inserted + duplicates, rejected)
    assert wh.execute("SELECT * FROM runs ORDER BY run_id") == before
    strip = lambda rows: sorted((q.line_no, q.locator, q.raw, q.reason) for q in rows.values())  # noqa: E731
    assert strip(quarantined(wh, second.ingest_id)) == strip(quarantined(wh, first.ingest_id))


def fail_on_third_chunk(monkeypatch: pytest.MonkeyPatch, wh: Warehouse) -> list[tuple]:
    """Make the third Stage.add raise, once two chunks are written; return what the tables held then."""
    seen: list[tuple] = []

    def failing(self: Stage, *args, **kwargs) -> None:
        if len(seen) == 2:
            seen.append(table_counts(wh))  # inside the doomed transaction
            raise RuntimeError("disk full")
        seen.append(())
        ORIGINAL_ADD(self, *args, **kwargs)

    monkeypatch.setattr(Stage, "add", failing)
    return seen


@pytest.mark.parametrize(
    ("name", "fmt", "shrink", "expected"),
    [
        ("native_bad.jsonl", "native", (lines, "BLOCK_BYTES", 512), (17, 3, 1, 13)),
        ("langsmith_bad.jsonl", "langsmith", (lines, "BLOCK_BYTES", 512), (15, 2, 1, 12)),
        ("otel_bad.jsonl", "otel", (otel, "BATCH", 4), (19, 6, 1, 12)),
        ("native_bad.csv", "native", (csvfile, "CSV_BATCH", 2), (15, 3, 1, 11)),
    ],
    ids=["native", "langsmith", "otel", "csv"],
)
def test_failed_ingest_leaves_nothing_behind_and_a_rerun_succeeds(
    wh, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, fmt: str, shrink: tuple, expected: tuple
) -> None:
    earlier = tmp_path / "earlier.jsonl"  # earlier, committed work must survive
    earlier.write_text('{"run_id": "earlier-1"}\n{"run_id": "earlier-2", "status": "odd"}\n')
    assert counts(checked_ingest(wh, earlier)) == (2, 1, 0, 1)
    before = snapshot(wh)
    monkeypatch.setattr(*shrink)  # several chunks, so the failure comes after some were written
    seen = fail_on_third_chunk(monkeypatch, wh)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_file(wh, FIXTURES / name, fmt)
    runs, quarantine, _ = seen[2]
    assert runs > len(before[0]) and quarantine > len(before[1])  # the first chunks had been written...
    assert snapshot(wh) == before  # ...and were all rolled back, ingest log included
    assert wh.scalar("SELECT count(*) FROM duckdb_tables() WHERE temporary") == 0
    monkeypatch.setattr(Stage, "add", ORIGINAL_ADD)  # the fault is gone: the same file now ingests in full
    assert counts(checked_ingest(wh, FIXTURES / name, fmt)) == expected


def test_line_numbers_stay_exact_across_chunk_boundaries(tmp_path: Path, wh, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lines, "BLOCK_BYTES", 8192)
    monkeypatch.setattr(lines, "MAX_LINE_BYTES", 1000)
    bad = {
        777: b'{"run_id": "r-777", "prompt_tokens": "lots"}',
        1234: b'{"run_id": "r-1234", "outputs": "\xff\xfe"}',
        1500: b'{"run_id": "r-1500", "outputs": "' + b"q" * 1500 + b'"}',
        2222: b'{"run_id": "r-2222", "status": "done"}',
        2999: b'{"run_id": "r-2999", "tags": "',
        3000: b'{"run_id": "r-0005"}',  # a duplicate of line 5, chunks later
    }
    data = [bad.get(n, json.dumps({"run_id": f"r-{n:04d}", "prompt_tokens": n}).encode()) for n in range(1, 3001)]
    path = tmp_path / "many.jsonl"
    path.write_bytes(b"\r\n".join(data[:1500]) + b"\r\n" + b"\n".join(data[1500:]))  # no final newline
    assert path.stat().st_size > 12 * 8192
    report = checked_ingest(wh, path)
    assert counts(report) == (3000, 2994, 1, 5)
    rows = quarantined(wh, report.ingest_id)
    assert sorted(rows) == ["line 1234", "line 1500", "line 2222", "line 2999", "line 777"]
    for locator, q in rows.items():
        assert q.line_no == int(locator.split()[1])
        assert q.raw == line_bytes(path, q.line_no)
    assert rows["line 777"].reason == "prompt_tokens: expected an integer, got lots"
    assert rows["line 1234"].reason == "not valid UTF-8 at byte 33 of the line"
    assert rows["line 1500"].reason.startswith("line is 1,535 bytes, over the 1,000-byte limit")
    assert wh.scalar("SELECT sum(prompt_tokens) FROM runs") == sum(range(1, 3001)) - sum(bad)  # 3000 is a duplicate


def test_otel_line_numbers_stay_exact_across_chunk_boundaries(tmp_path: Path, wh, monkeypatch) -> None:
    monkeypatch.setattr(lines, "BLOCK_BYTES", 1024)
    good = lambda n: json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": f"s{n:04d}"}]}]}]})  # noqa: E731
    data = [good(n) for n in range(1, 401)]
    data[199], data[346] = '{"resourceSpans": 3}', '{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "x"}]}]}]}'
    path = tmp_path / "spans.jsonl"
    path.write_text("\n".join(data) + "\n")
    report = checked_ingest(wh, path, "otel")
    assert counts(report) == (400, 398, 0, 2)
    assert {k: q.line_no for k, q in quarantined(wh, report.ingest_id).items()} == {
        "line 200": 200, "line 347 resourceSpans[0].scopeSpans[0].spans[0]": 347,
    }  # fmt: skip


def test_runs_are_stored_in_source_order_across_chunks(tmp_path: Path, wh, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lines, "BLOCK_BYTES", 256)  # about ten records a chunk
    records = [{"run_id": f"o-{n:03d}", "start_time": f"2026-10-{1 + n // 10:02d}T00:00:00Z"} for n in range(100)]
    records[40] = {"run_id": "o-040", "status": "odd"}  # refused
    records[70] = {"run_id": "o-005"}  # a duplicate of an earlier chunk's run
    path = tmp_path / "ordered.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert counts(checked_ingest(wh, path)) == (100, 98, 1, 1)
    stored = [run_id for (run_id,) in wh.execute("SELECT run_id FROM runs ORDER BY rowid")]
    assert stored == [f"o-{n:03d}" for n in range(100) if n not in (40, 70)]  # time order kept for zonemaps


def nested(levels: int) -> dict:
    """An object nested `levels` deep (itself level 1)."""
    value: dict = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("first", "kept", "expected"),
    [
        ({f"k{n}": {} for n in range(70)}, 1, (6, 5, 1, 0)),  # brackets enough to be measured, only 2 deep
        (nested(70), 2, (6, 5, 0, 1)),  # past the limit: quarantined, and the later record goes in
        ({"x": 1}, 1, (6, 5, 1, 0)),  # two clean records with one run id in one chunk
    ],
    ids=["measured first", "too deep first", "plain first"],
)
def test_of_records_sharing_a_run_id_the_first_that_passes_is_kept(
    tmp_path: Path, wh, first: dict, kept: int, expected: tuple
) -> None:
    path = tmp_path / "shared.jsonl"
    records = [{"run_id": "s-0", "prompt_tokens": 1, "metadata": first}, {"run_id": "s-0", "prompt_tokens": 2}]
    records += [{"run_id": f"s-{n}"} for n in range(1, 5)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert counts(checked_ingest(wh, path)) == expected
    assert run(wh, "s-0", "prompt_tokens") == (kept,)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("native_bad.jsonl", "native"), ("native_bad.csv", "native"), ("langsmith_bad.jsonl", "langsmith"),
     ("otel_bad.jsonl", "otel"), ("otel_pretty.json", "otel"), ("otel_pretty_truncated.json", "otel"),
     ("empty.jsonl", "native")],
)  # fmt: skip
def test_auto_detection_recognises_each_format(wh, name: str, fmt: str) -> None:
    assert detect_format(FIXTURES / name) == fmt
    assert ingest_file(wh, FIXTURES / name).source_format == fmt


def test_auto_detection_recognises_parquet_by_suffix(tmp_path: Path) -> None:
    path = tmp_path / "runs.parquet"
    write_runs(generate_runs(3, seed=1), path)
    assert detect_format(path) == "native"


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b'{"run_id": "a",,}\n', "native"),
        (b"not json at all\n", "langsmith"),
        (b'{"run_id": "a", "outputs": "' + b"x" * (2 << 20) + b'"}\n', "native"),
    ],
    ids=["damaged first record", "garbage first line", "2 MiB first record"],
)
def test_auto_detection_looks_past_a_bad_or_huge_first_record(tmp_path: Path, head: bytes, fmt: str) -> None:
    path = tmp_path / "log.jsonl"
    rest = {"native": {"run_id": "b"}, "langsmith": {"id": "b", "run_type": "llm"}}[fmt]
    path.write_bytes(head + json.dumps(rest).encode() + b"\n")
    assert detect_format(path) == fmt


def test_auto_detection_refuses_an_unknown_format(tmp_path: Path, wh) -> None:
    path = tmp_path / "other.jsonl"
    path.write_text('{"message": "hello"}\n')
    with pytest.raises(InputFileError, match="Cannot tell the format"):
        ingest_file(wh, path)
    assert snapshot(wh) == ([], [], [])


def test_unknown_format_and_missing_files_are_refused_before_anything_is_written(tmp_path: Path, wh) -> None:
    with pytest.raises(ConfigError, match="Unknown format 'xml'"):
        ingest_file(wh, FIXTURES / "native_bad.jsonl", "xml")
    with pytest.raises(InputFileError, match=r"nope\.jsonl"):
        ingest(wh, [FIXTURES / "native_bad.jsonl", tmp_path / "nope.jsonl"])
    assert snapshot(wh) == ([], [], [])


def test_ingest_of_several_files_reports_each(wh) -> None:
    seen = []
    paths = [FIXTURES / "native_bad.jsonl", FIXTURES / "otel_bad.jsonl", FIXTURES / "native_bad.jsonl"]
    reports = ingest(wh, paths, on_file=seen.append)
    assert seen == reports
    assert [counts(r) for r in reports] == [(17, 3, 1, 13), (19, 6, 1, 12), (17, 0, 4, 13)]
    assert wh.scalar("SELECT count(DISTINCT ingest_id) FROM quarantine") == 3


# --- round trip of the demo data through every format --------------------------------------------------

ROUND_TRIP = ["run_id", "model", "prompt_tokens", "completion_tokens", "total_tokens", "status", "user_feedback"]


@pytest.fixture(scope="module")
def demo_runs() -> list[dict]:
    return list(generate_runs(300, seed=1))


def expected_rows(runs: list[dict], key=lambda r: r["run_id"]) -> list[tuple]:
    return sorted((key(r), *(r[c] for c in ROUND_TRIP[1:])) for r in runs)


@pytest.mark.parametrize(
    ("suffix", "fmt"), [(".jsonl", "native"), (".parquet", "native"), (".csv", "native"), (".jsonl", "langsmith")]
)
def test_demo_runs_survive_a_round_trip(tmp_path: Path, demo_runs: list[dict], suffix: str, fmt: str) -> None:
    path = tmp_path / f"runs{suffix}"
    assert write_runs(demo_runs, path, fmt) == 300
    with Warehouse(None) as wh:
        report = checked_ingest(wh, path)
        assert (report.source_format, *counts(report)) == (fmt, 300, 300, 0, 0)
        stored = wh.execute(f"SELECT {', '.join(ROUND_TRIP)} FROM runs ORDER BY run_id")
        assert stored == expected_rows(demo_runs)
        rated = sum(1 for r in demo_runs if r["user_feedback"] is not None)
        assert rated > 0 and sum(1 for r in stored if r[-1] is not None) == rated


def test_demo_runs_survive_a_round_trip_through_otel(tmp_path: Path, demo_runs: list[dict]) -> None:
    path = tmp_path / "spans.jsonl"
    assert write_runs(demo_runs, path, "otel") == 300
    with Warehouse(None) as wh:
        report = checked_ingest(wh, path)
        assert (report.source_format, *counts(report)) == ("otel", 300, 300, 0, 0)
        span_id = lambda r: uuid.UUID(r["run_id"]).hex[:16]  # noqa: E731
        # a tool span carries no token counts, where the demo's canonical tool run says 0
        stored = wh.execute(
            "SELECT run_id, model, coalesce(prompt_tokens, 0), coalesce(completion_tokens, 0), "
            "coalesce(total_tokens, 0), status FROM runs"
        )
        assert sorted(stored) == [row[:6] for row in expected_rows(demo_runs, span_id)]
        assert wh.scalar("SELECT count(*) FROM runs WHERE prompt_tokens IS NULL AND run_type <> 'tool'") == 0
