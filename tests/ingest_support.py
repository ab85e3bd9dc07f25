"""Helpers shared by the ingestion tests: fixture paths, original line bytes, quarantine rows, invariants."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reviewdesk.ingest import IngestReport, ingest_file
from reviewdesk.stores.warehouse import Warehouse

FIXTURES = Path(__file__).parent / "fixtures"
BOM = b"\xef\xbb\xbf"
# Lines 5-8 of native_bad.jsonl and langsmith_bad.jsonl hold the same wrong types, with these reasons.
WRONG_TYPES = [
    (5, "prompt_tokens: expected an integer, got many"),
    (6, "start_time: expected an ISO 8601 timestamp, got yesterday"),
    (7, "tags: expected a list of strings, got 42"),
    (8, "metadata: expected an object, got array"),
]


@dataclass(frozen=True)
class Quarantined:
    line_no: int | None
    locator: str
    raw: bytes
    reason: str


def line_bytes(path: Path, line_no: int) -> bytes:
    """The original bytes of a line, numbered from 1, without its line break (and without a leading BOM)."""
    data = path.read_bytes().removeprefix(BOM)
    return data.split(b"\n")[line_no - 1].removesuffix(b"\r")


def quarantined(wh: Warehouse, ingest_id: str) -> dict[str, Quarantined]:
    """The quarantine rows of one ingest, by locator (each locator must appear once)."""
    rows = wh.execute(
        "SELECT line_no, locator, raw, reason FROM quarantine WHERE ingest_id = ? ORDER BY line_no, locator",
        [ingest_id],
    )
    found = {locator: Quarantined(line_no, locator, bytes(raw), reason) for line_no, locator, raw, reason in rows}
    assert len(found) == len(rows), "two quarantine rows share a locator"
    return found


def run(wh: Warehouse, run_id: str, *columns: str) -> tuple:
    """Selected columns of one stored run."""
    rows = wh.execute(f"SELECT {', '.join(columns)} FROM runs WHERE run_id = ?", [run_id])
    assert len(rows) == 1, f"{run_id}: {len(rows)} rows"
    return rows[0]


def counts(report: IngestReport) -> tuple[int, int, int, int]:
    return report.read, report.inserted, report.duplicates, report.rejected


def table_counts(wh: Warehouse) -> tuple[int, int, int]:
    return tuple(wh.scalar(f"SELECT count(*) FROM {table}") for table in ("runs", "quarantine", "ingests"))


def checked_ingest(wh: Warehouse, path: Path, fmt: str = "auto") -> IngestReport:
    """Ingest a file and check the invariant against the tables themselves, not only the report."""
    runs_before, quarantine_before, ingests_before = table_counts(wh)
    report = ingest_file(wh, path, fmt)
    runs_after, quarantine_after, ingests_after = table_counts(wh)
    assert report.read == report.inserted + report.duplicates + report.rejected
    assert runs_after - runs_before == report.inserted
    assert quarantine_after - quarantine_before == report.rejected
    assert ingests_after - ingests_before == 1
    logged = wh.execute(
        "SELECT source, source_format, read, inserted, duplicates, rejected, finished_at IS NOT NULL "
        "FROM ingests WHERE ingest_id = ?",
        [report.ingest_id],
    )
    assert logged == [(str(path), report.source_format, *counts(report), True)]
    bad = wh.execute(
        "SELECT count(*) FROM quarantine WHERE ingest_id = ? AND (reason = '' OR raw IS NULL OR source <> ?)",
        [report.ingest_id, str(path)],
    )
    assert bad == [(0,)]
    assert wh.scalar("SELECT count(*) FROM duckdb_tables() WHERE temporary") == 0, "a staging table was left behind"
    return report
