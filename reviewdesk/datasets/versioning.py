"""Writing dataset versions: immutable folders, content-hashed, indexed in `warehouse.dataset_versions`.

A version is built in a hidden temporary folder next to its final place, its files made read-only,
then renamed to `v<N>` in one step while its index row is inserted in the same warehouse
transaction: a crash leaves either a hidden temporary folder or a complete version. The next promotion
cleans up both: it removes the temporary folders (`.v<N>-*`), and adopts a complete folder that lacks
its index row (a crash between the rename and the commit) after its hashes check out. An existing
version folder is never written again.

A writer holds an exclusive `flock` on the dataset's folder while it writes, and cleaning takes the same
lock, so a temporary folder found under it belongs to a writer that died (the kernel drops a dead
process's locks); a live writer's is never touched. Where flock is missing, leftovers stay.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from reviewdesk.datasets.formats import COLUMNS
from reviewdesk.datasets.read import (
    JSONL,
    MANIFEST,
    PARQUET,
    content_hash,
    dataset_folder,
    file_sha256,
    jsonl_line,
    manifest_text,
    row_hash,
    verify,
    versions,
)
from reviewdesk.errors import ReviewdeskError
from reviewdesk.stores.files import WriteFailed
from reviewdesk.stores.warehouse import Warehouse

try:
    import fcntl
except ImportError:  # not on Windows
    fcntl = None  # type: ignore[assignment]

FORMAT_VERSION = 1
TEMP_PREFIX = ".v{version}-"  # a version being written: `.v3-<random>` beside the versions
_TEMP = re.compile(r"^\.v[1-9][0-9]*-[A-Za-z0-9_]+$")
MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
TYPES: dict[str, pa.DataType | None] = {
    "input": MESSAGES,
    "reference_output": pa.string(),
    "criteria": None,
    "run_id": pa.string(),
    "tags": pa.list_(pa.string()),
    "messages": MESSAGES,
    "prompt": MESSAGES,
    "chosen": MESSAGES,
    "rejected": MESSAGES,
    "text": pa.string(),
    "label": pa.string(),
    "criterion": pa.string(),
}  # None: inferred, the criteria struct follows the rubric


@dataclass
class CandidateVersion:
    """A candidate version: rows sorted by id with their lineage, and what produced them."""

    name: str
    kind: str
    description: str
    rows: list[dict[str, Any]]  # id, split, then COLUMNS[kind]
    lineage: list[dict[str, Any]]  # one per row, same order
    rules: dict[str, dict[str, Any]]  # queue -> the promotion rule and agreement gate applied
    test_fraction: float
    content_hash: str = ""
    table: pa.Table | None = field(default=None, repr=False)
    lines: list[str] = field(default_factory=list, repr=False)  # data.jsonl, one per row


def _criteria_array(values: list[Any]) -> pa.Array:
    """The consensus labels as a struct column; as text if one criterion's values mix types."""
    if values and any(values):
        try:
            return pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return pa.array([{k: None if v is None else str(v) for k, v in d.items()} for d in values])
    return pa.array(values, pa.map_(pa.string(), pa.string()))  # no labels at all: an empty map


def arrow_table(kind: str, rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Rows as an Arrow table with the kind's column types (so an empty version still has its schema)."""
    arrays = {
        "id": pa.array([r["id"] for r in rows], pa.string()),
        "split": pa.array([r["split"] for r in rows], pa.string()),
    }
    for col in COLUMNS[kind]:
        values = [r[col] for r in rows]
        arrays[col] = _criteria_array(values) if TYPES[col] is None else pa.array(values, TYPES[col])
    return pa.table(arrays)


def seal(draft: CandidateVersion) -> CandidateVersion:
    """Fix the draft's Arrow table, its data.jsonl lines, each lineage entry's row hash and the content
    hash. Lines come from the rows as Parquet gives them back (inferred columns are read from the table)."""
    draft.table = arrow_table(draft.kind, draft.rows)
    columns = COLUMNS[draft.kind]
    back = {c: draft.table[c].to_pylist() for c in columns if TYPES[c] is None}
    draft.lines = [
        jsonl_line({c: back[c][i] if c in back else row[c] for c in columns}) for i, row in enumerate(draft.rows)
    ]
    ids, splits = [r["id"] for r in draft.rows], [r["split"] for r in draft.rows]
    for entry, args in zip(draft.lineage, zip(ids, splits, draft.lines, strict=True), strict=True):
        entry["row_hash"] = row_hash(*args)
    draft.content_hash = content_hash(ids, splits, draft.lines)
    return draft


def _sources(lineage: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """What the examples came from: queues, batches, rubric versions, models and prompt versions."""
    single = {"queue": set(), "batch_id": set(), "rubric_version": set()}
    lists = {"models": set(), "prompt_versions": set()}
    for entry in lineage:
        for key, found in single.items():
            found.add(entry[key])
        for key, found in lists.items():
            found.update(entry[key])
    named = {"queues": single["queue"], "batch_ids": single["batch_id"], "rubric_versions": single["rubric_version"],
             **lists}  # fmt: skip
    return {k: sorted(x for x in found if x is not None) for k, found in named.items()}


def changes(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """How many examples were added, removed and changed from `old` lineage to `new` (by id and row hash)."""
    a = {e["id"]: e["row_hash"] for e in old}
    b = {e["id"]: e["row_hash"] for e in new}
    return {
        "added": len(b.keys() - a.keys()),
        "removed": len(a.keys() - b.keys()),
        "changed": sum(a[k] != b[k] for k in a.keys() & b.keys()),
    }


def build_manifest(
    draft: CandidateVersion,
    version: int,
    parent: Mapping[str, Any] | None,
    change: Mapping[str, int],
    files: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:
    splits = Counter(r["split"] for r in draft.rows)
    return {
        "format": FORMAT_VERSION,
        "name": draft.name,
        "version": version,
        "kind": draft.kind,
        "description": draft.description,
        "content_hash": draft.content_hash,
        "rows": len(draft.rows),
        "splits": {s: splits.get(s, 0) for s in ("train", "test")},
        "test_fraction": draft.test_fraction,
        "columns": ["id", "split", *COLUMNS[draft.kind]],
        "created_at": now.isoformat(),
        "parent": None if parent is None else {"version": parent["version"], "content_hash": parent["content_hash"]},
        "changes": dict(change),
        "sources": _sources(draft.lineage),
        "rules": draft.rules,
        "files": dict(files),
        "lineage": draft.lineage,
    }


def _index_row(meta: Mapping[str, Any], manifest_sha256: str, where: str) -> list[Any]:
    parent = meta["parent"]["version"] if meta["parent"] else None
    return [
        meta["name"],
        meta["version"],
        meta["kind"],
        meta["content_hash"],
        manifest_sha256,
        meta["rows"],
        meta["splits"]["train"],
        meta["splits"]["test"],
        parent,
        meta["sources"]["queues"],
        where,
        datetime.fromisoformat(meta["created_at"]),
    ]


INSERT = "INSERT INTO dataset_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def indexed(wh: Warehouse, name: str) -> dict[int, dict[str, Any]]:
    """The dataset's rows of `warehouse.dataset_versions`, by version."""
    cur = wh.con.execute("SELECT * FROM dataset_versions WHERE name = ? ORDER BY version", [name])
    cols = [d[0] for d in cur.description]
    return {row[1]: dict(zip(cols, row, strict=True)) for row in cur.fetchall()}


@contextmanager
def writing(home: Path) -> Iterator[list[str]]:
    """Hold the dataset folder `home`'s writer lock, after removing the temporary folders that writers which
    died left there; yields their names. Raises if another process is writing this dataset now."""
    fd = os.open(home, os.O_RDONLY)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ReviewdeskError(
                    f"Dataset {home.name!r} is being written by another promotion right now: "
                    "let it finish, then promote again."
                ) from None
        yield _remove_leftovers(home) if fcntl is not None else []
    finally:
        os.close(fd)  # releases the lock


def _remove_leftovers(home: Path) -> list[str]:
    stale = sorted(p for p in home.iterdir() if _TEMP.match(p.name) and p.is_dir() and not p.is_symlink())
    for folder in stale:
        shutil.rmtree(folder)
    return [p.name for p in stale]


def adopt(wh: Warehouse, data_dir: Path, name: str) -> list[int]:
    """Clean up after crashed promotions: remove their temporary folders, and index complete version folders
    that lack their row (a crash after the rename); return the versions adopted."""
    home = dataset_folder(name, data_dir)
    if not home.is_dir():
        return []
    with writing(home):
        return _adopt(wh, data_dir, name)


def _adopt(wh: Warehouse, data_dir: Path, name: str) -> list[int]:
    known = indexed(wh, name)
    adopted = []
    for v in versions(name, data_dir):
        if v in known:
            continue
        folder = dataset_folder(name, data_dir) / f"v{v}"
        if problems := verify(name, v, data_dir):
            raise ReviewdeskError(
                f"{folder} is not indexed and fails its checks ({'; '.join(problems)}): "
                "move it aside, then promote again."
            )
        meta = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        sha = hashlib.sha256((folder / MANIFEST).read_bytes()).hexdigest()
        wh.execute(INSERT, _index_row(meta, sha, f"datasets/{name}/v{v}"))
        adopted.append(v)
    return adopted


def _data_files(tmp: Path, draft: CandidateVersion) -> dict[str, dict[str, Any]]:
    """Write data.parquet and data.jsonl into the temporary folder; return their sha256 and sizes."""
    pq.write_table(draft.table, tmp / PARQUET, compression="zstd")
    with (tmp / JSONL).open("w", encoding="utf-8", newline="\n") as f:
        f.writelines(line + "\n" for line in draft.lines)
    return {f: {"sha256": file_sha256(tmp / f), "bytes": (tmp / f).stat().st_size} for f in (PARQUET, JSONL)}


def write_version(
    wh: Warehouse,
    data_dir: Path,
    draft: CandidateVersion,
    parent: Mapping[str, Any] | None,
    change: Mapping[str, int],
    now: datetime | None = None,
) -> dict[str, Any]:
    """Write the sealed draft as the dataset's next version and index it; return its manifest."""
    now = now or datetime.now(UTC)
    if draft.table is None:
        seal(draft)
    home = dataset_folder(draft.name, data_dir)
    home.mkdir(parents=True, exist_ok=True)
    with writing(home):
        version = max([0, *versions(draft.name, data_dir), *indexed(wh, draft.name)]) + 1
        tmp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX.format(version=version), dir=home))
        try:
            meta = build_manifest(draft, version, parent, change, _data_files(tmp, draft), now)
            text = manifest_text(meta).encode("utf-8")
            (tmp / MANIFEST).write_bytes(text)
            for f in (PARQUET, JSONL, MANIFEST):
                (tmp / f).chmod(0o444)  # read-only: a version is never rewritten
            tmp.chmod(0o755)  # mkdtemp made it private
            where = f"datasets/{draft.name}/v{version}"
            with wh.transaction() as con:
                con.execute(INSERT, _index_row(meta, hashlib.sha256(text).hexdigest(), where))
                os.rename(tmp, home / f"v{version}")  # fails if the folder exists: never over a version
        except OSError as e:
            raise WriteFailed(
                f"Could not write {draft.name} v{version} in {home}: {e.strerror or e}. Nothing was kept: free "
                "some disk space, then promote again."
            ) from e
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return meta


__all__ = ["CandidateVersion", "adopt", "arrow_table", "changes", "indexed", "seal", "write_version", "writing"]
