"""Native CSV, parsed with Python's csv module so each record keeps its exact lines and raw bytes.

DuckDB's CSV reader renumbers rows around blank lines and CRLF, its sniffer can misread quoting,
and it refuses files with mixed line endings; records here are exact, then typed in DuckDB.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

from reviewdesk.ingest import lines
from reviewdesk.ingest.canonical import COLUMNS
from reviewdesk.ingest.lines import Reject
from reviewdesk.ingest.stage import Stage

CSV_BATCH = 20_000


class _TooLong(Exception):
    """A CSV record passed the line limit; raised through csv.reader, which then starts afresh."""


@dataclass
class _CsvRecord:
    line_no: int
    locator: str
    raw: bytes  # without its final line break
    text: str  # the same, decoded
    fields: list[str] | None  # None when the record could not be parsed
    problem: str | None = None
    complete: bool = True  # ends with a line break


class _CsvLines:
    """The file's physical lines for csv.reader, remembering those the current record has taken.

    A line that is not UTF-8 is handed on as latin-1, one character per byte: quotes and commas
    are ASCII, so the record still parses where it is, and is then refused with its raw bytes.
    """

    def __init__(self, f: BinaryIO) -> None:
        self.f, self.limit = f, lines.MAX_LINE_BYTES
        self.raw: list[bytes] = []
        self.text: list[str] = []
        self.size = self.line_no = 0
        self.bad_byte: int | None = None
        if f.read(3) != b"\xef\xbb\xbf":
            f.seek(0)

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        line = self.f.readline(self.limit + 2)  # room for the limit and a CRLF
        if not line:
            raise StopIteration
        self.line_no += 1
        self.raw.append(line)
        if self.size + len(line.rstrip(b"\r\n")) > self.limit:
            self.size += len(line.rstrip(b"\r\n"))
            while line and not line.endswith(b"\n"):  # skip the rest of an over-long line
                line = self.f.readline(1 << 20)
                self.size += len(line.rstrip(b"\r\n"))
            raise _TooLong
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as e:
            if self.bad_byte is None:
                self.bad_byte = self.size + e.start
            text = line.decode("latin-1")
        self.size += len(line)
        self.text.append(text)
        return text

    def take(self, fields: list[str] | None, problem: str | None) -> _CsvRecord:
        """The record just read, located by its lines; start the next one."""
        first = self.line_no - len(self.raw) + 1
        locator = f"line {first}" if first == self.line_no else f"lines {first}-{self.line_no}"
        raw, text = b"".join(self.raw).rstrip(b"\r\n"), "".join(self.text).rstrip("\r\n")
        if problem is None and self.bad_byte is not None:
            problem = f"not valid UTF-8 at byte {self.bad_byte} of the record"
        complete = self.raw[-1].endswith(b"\n")
        self.raw, self.text, self.size, self.bad_byte = [], [], 0, None
        return _CsvRecord(first, locator, raw, text, fields, problem, complete)


def _csv_records(path: Path) -> Iterator[_CsvRecord]:
    """Every CSV record with its lines and raw bytes, the header first; blank lines are skipped."""
    with open(path, "rb") as f:
        feed = _CsvLines(f)
        reader = csv.reader(feed, strict=True)
        while True:
            fields, problem = None, None
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                hint = " (truncated?)" if "unexpected end of data" in str(e) else ""
                problem = f"CSV: {e}{hint}"
            except _TooLong:
                reader = csv.reader(feed, strict=True)
                problem = f"record is {feed.size:,} bytes, over the {feed.limit:,}-byte limit"
            record = feed.take(fields, problem)
            if problem is not None:
                record.raw = record.raw[: lines.KEPT_PREFIX]
            if fields is None or record.raw.strip():
                yield record


def stage_csv(path: Path, stage: Stage) -> None:
    """CSV parsed here, not by DuckDB, so each record keeps its exact lines and raw bytes.

    DuckDB's reader skips blank lines and CRLF when numbering rows, its sniffer can misread
    quoting, and it refuses files with mixed line endings. An empty field is a null, and nested
    values may be JSON text, as demo.write_runs writes them.
    """
    csv.field_size_limit(max(csv.field_size_limit(), lines.MAX_LINE_BYTES))  # one field may be a 5 MB output
    records = _csv_records(path)
    head = next(records, None)
    if head is None:
        return
    if head.problem:
        stage.reject([Reject(head.line_no, head.locator, head.raw, f"CSV header: {head.problem}")])
    header = [name.strip() for name in head.fields or []]
    batch: list[_CsvRecord] = []
    for record in records:
        found = len(record.fields or ())
        if record.problem is None and found != len(header):
            hint = " (truncated?)" if found < len(header) and not record.complete else ""
            record.problem = f"CSV: {found} fields, the header has {len(header)}{hint}"
        if record.problem:
            stage.reject([Reject(record.line_no, record.locator, record.raw, record.problem)])
            continue
        batch.append(record)
        if len(batch) >= CSV_BATCH:
            _stage_csv_batch(stage, batch, header)
            batch = []
    if batch:
        _stage_csv_batch(stage, batch, header)


def _stage_csv_batch(stage: Stage, batch: list[_CsvRecord], header: list[str]) -> None:
    """Stage parsed records; DuckDB builds each canonical JSON record from the text fields."""
    wanted = {name: i for i, name in reversed(list(enumerate(header))) if name in COLUMNS}  # first one wins
    values = list(zip(*(r.fields for r in batch), strict=True))
    rows = pa.table(
        {
            "seq": pa.array([r.line_no for r in batch], pa.int64()),
            "locator": pa.array([r.locator for r in batch], pa.string()),
            "raw": pa.array([r.text for r in batch], pa.string()),
            **{name: pa.array(values[i], pa.string()) for name, i in wanted.items()},
        }
    )

    def value(name: str) -> str:
        if name not in wanted:
            return "NULL"
        if COLUMNS[name] in ("json", "object", "list"):  # JSON text, or else a plain string
            return f"CASE WHEN json_valid({name}) THEN json({name}) ELSE to_json(nullif({name}, '')) END"
        return f"nullif({name}, '')"

    canon = "json_object(" + ", ".join(f"'{c}', {value(c)}" for c in COLUMNS) + ")::VARCHAR"
    relation = f"SELECT seq, seq AS line_no, locator, raw, NULL::VARCHAR AS problem, {canon} AS canon FROM csv_rows"
    stage.add(relation, csv_rows=rows)
