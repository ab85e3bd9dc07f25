"""The inbox ingests itself: closed segments and dropped files, each exactly once, moved to done/ or failed/
with a reason, and never a file still being written."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from receive_support import spans_request

from reviewdesk.demo.exports import write_runs
from reviewdesk.demo.logs import generate_runs
from reviewdesk.ingest.inbox import DONE, FAILED, ingest_inbox, ready_files
from reviewdesk.receive.segments import LOGS, OPEN_DIR, TRACES, SegmentWriter
from reviewdesk.stores.warehouse import Warehouse


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    (tmp_path / "inbox").mkdir()
    return tmp_path / "inbox"


def aged(path: Path, seconds: float = 60) -> Path:
    """Make a dropped file look settled: unchanged for `seconds`."""
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def segment(inbox: Path, *requests: tuple[int, bytes]) -> None:
    writer = SegmentWriter(inbox, 1 << 30, 3600)
    for kind, payload in requests:
        writer.append(kind, "app", payload)
    writer.close()


def test_segments_and_dropped_files_are_ingested_once_and_moved_to_done(inbox: Path, warehouse: Warehouse):
    segment(inbox, *((TRACES, spans_request(n, start=s).SerializeToString()) for n, s in ((3, 1), (2, 4))))
    write_runs(generate_runs(20, seed=1), inbox / "runs.jsonl")
    write_runs(generate_runs(10, seed=2), inbox / "export.jsonl", "langsmith")
    write_runs(generate_runs(7, seed=3), inbox / "otelcol-2026-10-20T10-00-00.000.json", "otel")  # a rotated file
    for p in inbox.glob("*.json*"):
        aged(p)
    result = ingest_inbox(warehouse, inbox)
    outcomes = {f.name: (f.outcome, f.report["inserted"], f.report["source_format"]) for f in result.files}
    seg = next(n for n in outcomes if n.endswith(".seg"))
    assert outcomes == {
        seg: ("ingested", 5, "otel"), "runs.jsonl": ("ingested", 20, "native"),
        "export.jsonl": ("ingested", 10, "langsmith"), "otelcol-2026-10-20T10-00-00.000.json": ("ingested", 7, "otel"),
    }  # fmt: skip
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == []
    assert sorted(p.name for p in (inbox / DONE).iterdir()) == sorted(outcomes)
    logged = warehouse.execute("SELECT source, length(content_sha256) FROM ingests ORDER BY source")
    assert logged == sorted((f"inbox/{n}", 64) for n in outcomes)
    assert ingest_inbox(warehouse, inbox).files == []  # nothing new
    assert warehouse.scalar("SELECT count(*) FROM runs") == 42


def test_a_file_ingested_but_not_moved_before_a_crash_is_only_moved(inbox: Path, warehouse: Warehouse):
    path = inbox / "runs.jsonl"
    write_runs(generate_runs(5, seed=1), path)
    aged(path)
    first = ingest_inbox(warehouse, inbox).files[0]
    os.replace(first.moved_to, path)  # as if the move had not happened
    again = ingest_inbox(warehouse, inbox).files[0]
    assert (again.outcome, again.reason) == ("already", f"ingest {first.report['ingest_id']}")
    assert warehouse.scalar("SELECT count(*) FROM ingests") == 1 and not path.exists()


def test_the_same_name_with_new_content_is_ingested_and_kept_apart_in_done(inbox: Path, warehouse: Warehouse):
    for seed in (1, 2):
        write_runs(generate_runs(5, seed=seed), inbox / "runs.jsonl")
        aged(inbox / "runs.jsonl")
        assert ingest_inbox(warehouse, inbox).files[0].outcome == "ingested"
    assert len(list((inbox / DONE).iterdir())) == 2


def test_an_unreadable_file_goes_to_failed_with_its_reason(inbox: Path, warehouse: Warehouse):
    (inbox / "notes.jsonl").write_text('{"hello": "world"}\n')
    aged(inbox / "notes.jsonl")
    result = ingest_inbox(warehouse, inbox)
    assert [f.outcome for f in result.files] == ["failed"]
    reason = (inbox / FAILED / "notes.jsonl.reason.txt").read_text()
    assert "Cannot tell the format" in reason and (inbox / FAILED / "notes.jsonl").is_file()


def test_a_file_still_being_written_is_never_read(inbox: Path, warehouse: Warehouse):
    fresh = inbox / "fresh.jsonl"
    write_runs(generate_runs(3, seed=1), fresh)  # written just now: not settled
    held = inbox / "collector.jsonl"
    write_runs(generate_runs(3, seed=2), held)
    aged(held)
    for name in (".upload.jsonl", "upload.jsonl.part", "x.tmp"):  # hidden and partial uploads
        write_runs(generate_runs(1, seed=3), inbox / name)
        aged(inbox / name)
    live = SegmentWriter(inbox, 1 << 30, 3600)
    live.append(TRACES, "app", spans_request(1).SerializeToString())
    with open(held, "ab"):  # the Collector keeps its active file open for writing
        assert ready_files(inbox, settle_seconds=10) == []
        assert ingest_inbox(warehouse, inbox).files == []  # the open segment is its live writer's
    assert ready_files(inbox, settle_seconds=10) == [held]
    live.close()
    names = [f.name for f in ingest_inbox(warehouse, inbox, settle_seconds=0).files]
    assert sorted("a segment" if n.endswith(".seg") else n for n in names) == [
        "a segment", "collector.jsonl", "fresh.jsonl"]  # fmt: skip


def test_genai_messages_sent_as_log_records_reach_their_run_whichever_comes_first(inbox: Path, warehouse: Warehouse):
    logs = ExportLogsServiceRequest()
    record = logs.resource_logs.add().scope_logs.add().log_records.add()
    record.trace_id, record.span_id = (1).to_bytes(16, "big"), (1).to_bytes(8, "big")
    record.event_name = "gen_ai.client.inference.operation.details"
    messages = record.attributes.add()
    messages.key = "gen_ai.input.messages"
    message = messages.value.array_value.values.add().kvlist_value.values
    for key, value in (("role", "user"), ("content", "Refund?")):
        kv = message.add()
        kv.key, kv.value.string_value = key, value
    segment(inbox, (LOGS, logs.SerializeToString()))  # the log record arrives first, alone
    assert ingest_inbox(warehouse, inbox).messages_joined == 0
    assert warehouse.scalar("SELECT count(*) FROM span_messages") == 1
    segment(inbox, (TRACES, spans_request(2).SerializeToString()))
    assert ingest_inbox(warehouse, inbox).messages_joined == 1
    inputs = warehouse.execute("SELECT run_id, inputs FROM runs ORDER BY run_id")
    assert [(r, json.loads(i) if i else None) for r, i in inputs] == [
        ("0000000000000001", {"messages": [{"role": "user", "content": "Refund?"}]}),
        ("0000000000000002", None),
    ]
    assert warehouse.scalar("SELECT count(*) FROM span_messages") == 0


def test_segments_a_killed_receiver_left_open_are_closed_and_ingested(inbox: Path, warehouse: Warehouse):
    payload = spans_request(4).SerializeToString()
    open_dir = inbox / OPEN_DIR
    writer = SegmentWriter(inbox, 1 << 30, 3600)
    writer.append(TRACES, "app", payload)
    os.close(writer._fd)  # the process died: its lock is gone, the segment still open
    result = ingest_inbox(warehouse, inbox)
    assert result.recovered == 1 and result.files[0].report["inserted"] == 4
    assert list(open_dir.iterdir()) == []
