"""Inbox segments: the files the receiver appends accepted requests to, durable before it answers.

A segment is a file header, then records: `length, crc32, kind, source length` (little-endian),
the source name and the payload (an OTLP request as protobuf bytes). Each record is written and
fsynced before its request is acknowledged. A segment being written lives in `inbox/.open/`,
held by an exclusive `flock` of its writer; closing it renames it into `inbox/` in one step, so
the ingester only ever sees whole segments. A writer killed mid-record leaves a torn tail that it
never acknowledged: `recover_abandoned` cuts it off and closes the segment (a dead writer's lock
is free, a live one's is not).
"""

from __future__ import annotations

import fcntl
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

MAGIC = b"RDSEG001"
RECORD = struct.Struct("<IIBB")  # payload length, crc32 of kind+source+payload, kind, source length
TRACES, LOGS = 1, 2
SUFFIX = ".seg"
OPEN_DIR = ".open"
_counter = iter(range(1 << 62))


@dataclass(frozen=True)
class Record:
    """One accepted request: its signal (TRACES or LOGS), the source that sent it, its protobuf bytes."""

    kind: int
    source: str
    payload: bytes
    offset: int
    end: int


class DamagedSegment(ValueError):
    """A closed segment whose bytes do not check out from `offset` on."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"damaged segment at byte {offset}: {reason}")
        self.offset = offset


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def encode_record(kind: int, source: str, payload: bytes) -> bytes:
    """The bytes of one record, ready to append."""
    name = source.encode("utf-8")[:255]
    crc = zlib.crc32(payload, zlib.crc32(name, zlib.crc32(bytes([kind]))))
    return RECORD.pack(len(payload), crc, kind, len(name)) + name + payload


def _records(data: bytes) -> Iterator[Record | DamagedSegment]:
    """The records of a segment's bytes; a damaged or torn record ends it as a DamagedSegment."""
    if not data.startswith(MAGIC):
        yield DamagedSegment(0, "not an inbox segment (no header)")
        return
    pos = len(MAGIC)
    while pos < len(data):
        if pos + RECORD.size > len(data):
            yield DamagedSegment(pos, "a torn record header")
            return
        length, crc, kind, name_len = RECORD.unpack_from(data, pos)
        start = pos + RECORD.size
        end = start + name_len + length
        if end > len(data):
            yield DamagedSegment(pos, "a torn record")
            return
        name, payload = data[start : start + name_len], data[start + name_len : end]
        if zlib.crc32(payload, zlib.crc32(name, zlib.crc32(bytes([kind])))) != crc or kind not in (TRACES, LOGS):
            yield DamagedSegment(pos, "a record whose checksum does not match")
            return
        yield Record(kind, name.decode("utf-8", errors="replace"), payload, pos, end)
        pos = end


def read_segment(path: Path) -> Iterator[Record | DamagedSegment]:
    """Every record of a closed segment, in order; damage ends the iteration with a DamagedSegment."""
    yield from _records(path.read_bytes())


class SegmentWriter:
    """Appends records to this process's open segment; rolls it by size or age. Thread-safe.

    Concurrent appends share fsyncs (group commit): each returns once an fsync that began after its
    record was written has finished, so one disk flush can acknowledge several requests.
    """

    def __init__(self, inbox: Path, max_bytes: int, max_age_seconds: float) -> None:
        self.inbox, self.max_bytes, self.max_age = inbox, max_bytes, max_age_seconds
        self.open_dir = inbox / OPEN_DIR
        self.open_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # the open segment, its size, the count of records written
        self._sync = threading.Lock()  # fsyncs and closes; taken before _lock
        self._fd: int | None = None
        self._path: Path | None = None
        self._size = 0
        self._opened = 0.0
        self._written = self._synced = 0  # records written, and made durable, over the writer's life

    def append(self, kind: int, source: str, payload: bytes) -> None:
        """Write one record and fsync it: once this returns, the request survives a crash."""
        record = encode_record(kind, source, payload)
        with self._lock:
            if self._fd is None:
                self._open()
            assert self._fd is not None
            try:
                os.write(self._fd, record)
            except OSError:
                os.ftruncate(self._fd, self._size)  # nothing half-written stays behind an unacknowledged request
                raise
            self._size += len(record)
            self._written += 1
            mine = self._written
        with self._sync:
            if self._synced < mine:  # no fsync since this record: one now covers every record written so far
                with self._lock:
                    fd, upto = self._fd, self._written
                assert fd is not None  # closing needs _sync, which this thread holds
                os.fsync(fd)
                self._synced = max(self._synced, upto)
            if self._size >= self.max_bytes:
                with self._lock:
                    if self._fd is not None and self._size >= self.max_bytes:
                        self._close()

    def roll_if_old(self) -> None:
        """Close the open segment once it is older than the age limit, so the ingester gets it."""
        with self._sync, self._lock:
            if self._fd is not None and time.monotonic() - self._opened >= self.max_age:
                self._close()

    def close(self) -> None:
        """Close the open segment, if any (on shutdown)."""
        with self._sync, self._lock:
            if self._fd is not None:
                self._close()

    def _open(self) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{stamp}-{os.getpid()}-{next(_counter)}"
        tmp = self.open_dir / f"{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # held until closed: recovery leaves a live writer's segment alone
        os.write(fd, MAGIC)
        os.fsync(fd)
        self._path = self.open_dir / f"{name}{SUFFIX}"
        os.rename(tmp, self._path)
        _fsync_dir(self.open_dir)
        self._fd, self._size, self._opened = fd, len(MAGIC), time.monotonic()

    def _close(self) -> None:
        assert self._fd is not None and self._path is not None
        os.fsync(self._fd)
        self._synced = self._written
        os.rename(self._path, self.inbox / self._path.name)
        _fsync_dir(self.inbox)
        _fsync_dir(self.open_dir)
        os.close(self._fd)  # releases the lock
        self._fd = self._path = None


def recover_abandoned(inbox: Path) -> list[Path]:
    """Close the open segments of writers that died: cut a torn tail, then rename into the inbox.

    Returns the segments closed. Segments holding no record are removed.
    """
    open_dir = inbox / OPEN_DIR
    closed = []
    for path in sorted(open_dir.glob("*")) if open_dir.is_dir() else []:
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:  # closed by its writer meanwhile
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live writer holds it
            if not path.exists():  # renamed by its writer after we opened it
                continue
            data = os.pread(fd, os.fstat(fd).st_size, 0)
            end = len(MAGIC)
            for record in _records(data):
                end = record.offset if isinstance(record, DamagedSegment) else record.end
            if path.suffix != SUFFIX or end <= len(MAGIC):
                path.unlink()
                continue
            os.ftruncate(fd, end)
            os.fsync(fd)
            os.rename(path, inbox / path.name)
            closed.append(inbox / path.name)
        finally:
            os.close(fd)
    if closed:
        _fsync_dir(inbox)
    return closed

