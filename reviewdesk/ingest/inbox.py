"""The inbox ingests itself: every closed receiver segment and every file dropped into `data/inbox/`.

Each file is ingested once, by name and content hash (recorded in `ingests`), in one transaction,
then moved to `inbox/done/`, or to `inbox/failed/` beside a `.reason.txt` when it cannot be read
at all (bad records are quarantined as usual, and their file is done). A crash between the commit
and the move is harmless: the next pass finds the file recorded and only moves it.

Nothing still being written is read: segments are only ever seen closed (the receiver renames
them into the inbox whole, and segments of a receiver that died are closed here first); a dropped
file waits until it has not changed for `settle_seconds` and no process has it open for writing
(the Collector's file exporter keeps its active file open; its rotated files are closed).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf.message import DecodeError

from reviewdesk.errors import InputFileError
from reviewdesk.ingest import ingest_file
from reviewdesk.ingest.lines import KEPT_PREFIX, Reject
from reviewdesk.ingest.otel import Request, stage_requests
from reviewdesk.ingest.otlp import log_messages, trace_request
from reviewdesk.ingest.stage import IngestReport, Stage
from reviewdesk.receive.segments import OPEN_DIR, SUFFIX, TRACES, DamagedSegment, read_segment, recover_abandoned
from reviewdesk.stores.warehouse import Warehouse

DONE, FAILED = "done", "failed"
SETTLE_SECONDS = 10.0
IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".swp", ".reason.txt")


@dataclass
class InboxFile:
    """What became of one inbox file: `ingested` (with its report), `already` ingested, or `failed` (why)."""

    name: str
    outcome: str
    moved_to: str
    report: dict[str, Any] | None = None
    reason: str | None = None


@dataclass
class InboxResult:
    """One pass over the inbox: the files handled, segments recovered, and span messages joined to runs."""

    files: list[InboxFile] = field(default_factory=list)
    recovered: int = 0
    messages_joined: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _open_for_writing() -> set[str]:
    """Real paths that some process we can see has open for writing (Linux /proc; empty elsewhere)."""
    found: set[str] = set()
    for fdinfo in Path("/proc").glob("[0-9]*/fdinfo/*"):
        try:
            flags = int(next(x for x in fdinfo.read_text().splitlines() if x.startswith("flags:")).split()[1], 8)
            if flags & (os.O_WRONLY | os.O_RDWR):
                found.add(os.readlink(fdinfo.parent.parent / "fd" / fdinfo.name))
        except (OSError, StopIteration, ValueError):  # the process or descriptor went away, or is not ours to see
            continue
    return found


def ready_files(inbox: Path, settle_seconds: float = SETTLE_SECONDS) -> list[Path]:
    """The inbox files that may be read now, oldest name first: closed segments, and settled dropped files."""
    now, writing = time.time(), None
    ready = []
    for path in sorted(inbox.iterdir()):
        if path.name.startswith(".") or path.name.endswith(IGNORED_SUFFIXES) or not path.is_file():
            continue
        if path.suffix != SUFFIX:
            if now - path.stat().st_mtime < settle_seconds:
                continue
            writing = _open_for_writing() if writing is None else writing
            if str(path.resolve()) in writing:
                continue
        ready.append(path)
    return ready


def _segment_requests(path: Path, stage: Stage, messages: dict[str, dict]) -> Iterator[Request]:
    """The trace requests of a segment for `otel`; log records' GenAI messages go to `messages`."""
    for record in read_segment(path):
        if isinstance(record, DamagedSegment):  # closed segments are checked when written: damage came later
            with open(path, "rb") as f:
                f.seek(record.offset)
                stage.reject([Reject(None, f"byte {record.offset}", f.read(KEPT_PREFIX), str(record))])
            return
        locator = f"record at byte {record.offset}"
        try:
            if record.kind == TRACES:
                yield None, locator, "", trace_request(record.payload, record.source)
            else:
                messages.update(log_messages(record.payload))
        except DecodeError as e:
            stage.reject([Reject(None, locator, record.payload[:KEPT_PREFIX], f"not a valid OTLP request: {e}")])


def _as_messages(value: Any) -> str | None:
    return None if value is None else json.dumps({"messages": value} if isinstance(value, list) else value)


def ingest_segment(warehouse: Warehouse, path: Path, content_sha256: str | None = None) -> IngestReport:
    """Ingest one closed segment in one transaction: its spans as runs, its GenAI log messages kept for their runs."""
    messages: dict[str, dict] = {}
    with Stage(warehouse, f"inbox/{path.name}", "otel", content_sha256) as stage:
        stage_requests(_segment_requests(path, stage, messages), stage)
        if messages:
            rows = [(span, m.get("trace_id"), _as_messages(m.get("inputs")), _as_messages(m.get("outputs")),
                     stage.report.ingest_id) for span, m in messages.items()]  # fmt: skip
            warehouse.con.executemany("INSERT INTO span_messages VALUES (?, ?, ?, ?, ?, now())", rows).fetchall()
    return stage.report


def join_span_messages(warehouse: Warehouse) -> int:
    """Give runs the messages their spans' log records carried (where the span had none); returns how many."""
    if not warehouse.execute("SELECT count(*) FROM span_messages")[0][0]:
        return 0
    warehouse.execute("BEGIN TRANSACTION")
    joined = warehouse.execute(
        """UPDATE runs SET inputs = coalesce(runs.inputs, m.inputs), outputs = coalesce(runs.outputs, m.outputs)
        FROM (SELECT span_id, any_value(inputs) AS inputs, any_value(outputs) AS outputs
              FROM span_messages GROUP BY span_id) m
        WHERE runs.run_id = m.span_id"""
    )[0][0]
    warehouse.execute("DELETE FROM span_messages m WHERE EXISTS (SELECT 1 FROM runs r WHERE r.run_id = m.span_id)")
    warehouse.execute("COMMIT")
    return joined


def _move(path: Path, folder: Path, tag: str) -> Path:
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    if target.exists():  # the same name dropped again with other content
        target = folder / f"{path.stem}.{tag[:12]}{path.suffix}"
    os.replace(path, target)
    return target


def _ingest_one(warehouse: Warehouse, inbox: Path, path: Path) -> InboxFile:
    digest = _sha256(path)
    source = f"inbox/{path.name}"
    prior = warehouse.execute(
        "SELECT ingest_id FROM ingests WHERE source = ? AND content_sha256 = ? LIMIT 1", [source, digest]
    )
    if prior:  # ingested before a crash kept it from being moved
        return InboxFile(path.name, "already", str(_move(path, inbox / DONE, digest)), reason=f"ingest {prior[0][0]}")
    try:
        if path.suffix == SUFFIX:
            report = ingest_segment(warehouse, path, digest)
        else:
            report = ingest_file(warehouse, path, source=source, content_sha256=digest)
    except InputFileError as e:
        moved = _move(path, inbox / FAILED, digest)
        moved.with_name(moved.name + ".reason.txt").write_text(f"{e}\n", "utf-8")
        return InboxFile(path.name, "failed", str(moved), reason=str(e))
    return InboxFile(path.name, "ingested", str(_move(path, inbox / DONE, digest)), report.as_dict())


def ingest_inbox(
    warehouse: Warehouse, inbox: Path, settle_seconds: float = SETTLE_SECONDS,
    on_file: Callable[[InboxFile], None] | None = None,
) -> InboxResult:
    """Ingest every ready inbox file exactly once, then join waiting span messages to their runs."""
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / OPEN_DIR).mkdir(exist_ok=True)
    result = InboxResult(recovered=len(recover_abandoned(inbox)))
    for path in ready_files(inbox, settle_seconds):
        result.files.append(_ingest_one(warehouse, inbox, path))
        if on_file:
            on_file(result.files[-1])
    result.messages_joined = join_span_messages(warehouse)
    return result
