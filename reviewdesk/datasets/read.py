"""Dataset versions for their consumers: find, load, verify and compare them.

A version is a folder `data/datasets/<name>/v<N>/` holding `data.parquet` (every column: `id`,
`split`, then the kind's format columns), `data.jsonl` (the same rows in the same order, with only
the format columns, so the file is what a trainer or an upload expects) and `manifest.json`
(content hash, file hashes, sources, rules, parent and per-example lineage). Versions are written
by `reviewdesk.datasets.promotion` and never rewritten.

Everything here reads files only, never the warehouse: DuckDB lets one process hold it, and a
notebook must be able to load a dataset while a flow runs.

The content hash is sha256 over one line per example, `id <TAB> split <TAB> data.jsonl line`, in id
order: it names the examples, not the file encoding, so two promotions that find the same
examples give the same hash (and no new version). The manifest keeps its per-example lineage last,
one entry a line, so readers that need only the summary stop before it.

    from reviewdesk import datasets
    df = datasets.load("support-sft", split="train")          # the latest version, as pandas
    folder = datasets.path("support-sft", 3)                  # .../datasets/support-sft/v3
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from reviewdesk.config import Settings
from reviewdesk.datasets.formats import COLUMNS
from reviewdesk.errors import ConfigError, NotFound, ReviewdeskError
from reviewdesk.stores.files import within
from schemas.promotion import DATASET_NAME_RULE, is_dataset_name

MANIFEST, PARQUET, JSONL = "manifest.json", "data.parquet", "data.jsonl"
SPLITS = ("train", "test")
_VERSION_DIR = re.compile(r"^v([1-9][0-9]*)$")


class DatasetTampered(ReviewdeskError):
    """A version's files no longer match the hashes recorded when it was written."""


def datasets_dir(data_dir: Path | str | None = None) -> Path:
    """Where datasets live: `<data dir>/datasets` ($REVIEWDESK_DATA_DIR or ./data by default)."""
    return Settings.load(data_dir).datasets_dir


def parse_version(version: int | str | None) -> int | None:
    """3, "3" or "v3" -> 3; None stays None (the latest)."""
    if version is None or (isinstance(version, int) and not isinstance(version, bool)):
        return version
    text = str(version).strip().lower().removeprefix("v")
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"Version {version!r} is not a version number: give 1, 2, ... (or v1, v2, ...).")
    return int(text)


def dataset_folder(name: str, data_dir: Path | str | None = None) -> Path:
    """`<datasets dir>/<name>`, once `name` is a dataset name and the folder (symlinks resolved) lies inside."""
    if not is_dataset_name(name):
        raise ConfigError(
            f"{name!r} is not a dataset name: a name is {DATASET_NAME_RULE}. `reviewdesk datasets list` names them."
        )
    root = datasets_dir(data_dir)
    folder = root / name
    if not within(folder, root):
        raise ConfigError(
            f"{folder} is a link that leads outside {root}: a dataset lives in its own folder there. Move the "
            "dataset in, or remove the link."
        )
    return folder


def names(data_dir: Path | str | None = None) -> list[str]:
    """Datasets that have at least one version, by name (folders that are not dataset names are passed over)."""
    root = datasets_dir(data_dir)
    if not root.is_dir():
        return []
    return sorted(
        p.name for p in root.iterdir() if is_dataset_name(p.name) and within(p, root) and versions(p.name, data_dir)
    )


def versions(name: str, data_dir: Path | str | None = None) -> list[int]:
    """The version numbers of a dataset, oldest first (a folder counts once its manifest is there, and only
    while it and its files stay inside the dataset's folder)."""
    folder = dataset_folder(name, data_dir)
    if not folder.is_dir():
        return []
    found = [int(m.group(1)) for p in folder.iterdir() if (m := _VERSION_DIR.match(p.name))]
    return sorted(v for v in found if _complete(folder, folder / f"v{v}"))


def _complete(home: Path, folder: Path) -> bool:
    """A version folder with its manifest, neither of them (nor its data files) leading out of `home`."""
    files = [folder / f for f in (MANIFEST, PARQUET, JSONL)]
    return (folder / MANIFEST).is_file() and all(within(p, home) for p in (folder, *files))


def path(name: str, version: int | str | None = None, data_dir: Path | str | None = None) -> Path:
    """The folder of a version (the latest by default): data.parquet, data.jsonl and manifest.json."""
    have = versions(name, data_dir)
    if not have:
        known = ", ".join(names(data_dir)) or "none yet"
        raise NotFound(f"No dataset {name!r} (datasets: {known}). Promote a queue first: `reviewdesk promote QUEUE`.")
    wanted = parse_version(version)
    if wanted is None:
        wanted = have[-1]
    if wanted not in have:
        raise NotFound(f"Dataset {name!r} has no v{wanted}; its versions: {', '.join(f'v{v}' for v in have)}.")
    return dataset_folder(name, data_dir) / f"v{wanted}"


LINEAGE_MARK = ' "lineage": ['


def read_manifest(folder: Path, with_lineage: bool = True) -> dict[str, Any]:
    """A version folder's manifest; without lineage it reads only the summary at the top of the file."""
    file = folder / MANIFEST
    if with_lineage:
        return json.loads(file.read_text(encoding="utf-8"))
    head = []
    with file.open(encoding="utf-8") as f:
        for line in f:
            if line.rstrip("\n") == LINEAGE_MARK:
                try:
                    return json.loads("".join(head).rstrip().rstrip(",") + "\n}")
                except json.JSONDecodeError:
                    break  # not as written: fall back to reading all of it
            head.append(line)
    return summary(json.loads(file.read_text(encoding="utf-8")))


def manifest(
    name: str, version: int | str | None = None, data_dir: Path | str | None = None, lineage: bool = True
) -> dict[str, Any]:
    """A version's manifest: hashes, counts, sources, rules, parent and (unless `lineage=False`) per-example lineage."""
    return read_manifest(path(name, version, data_dir), lineage)


def manifest_text(meta: Mapping[str, Any]) -> str:
    """The manifest as written: the summary indented, then the lineage last, one compact entry a line."""
    head = json.dumps(summary(meta), ensure_ascii=False, indent=1, default=str)
    entries = [json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in meta["lineage"]]
    body = ("\n" + ",\n".join(entries) + "\n ]") if entries else "]"
    return head[: -len("\n}")] + ",\n" + LINEAGE_MARK + body + "\n}\n"


def file_sha256(file: Path) -> str:
    h = hashlib.sha256()
    with file.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def jsonl_line(values: Mapping[str, Any]) -> str:
    """One example's format columns as its data.jsonl line (compact, UTF-8, columns in schema order)."""
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def row_key(example_id: str, split: str, line: str) -> bytes:
    return f"{example_id}\t{split}\t{line}\n".encode()


def row_hash(example_id: str, split: str, line: str) -> str:
    """An example's hash (16 hex digits): what diffs compare."""
    return hashlib.sha256(row_key(example_id, split, line)).hexdigest()[:16]


def content_hash(ids: Sequence[str], splits: Sequence[str], lines: Sequence[str]) -> str:
    """sha256 over the examples' `id TAB split TAB line` rows, in order (rows are kept sorted by id)."""
    h = hashlib.sha256()
    for row in zip(ids, splits, lines, strict=True):
        h.update(row_key(*row))
    return "sha256:" + h.hexdigest()


def table_lines(table: pa.Table, kind: str) -> list[str]:
    """The data.jsonl lines of an Arrow table of a version."""
    return [jsonl_line(row) for row in table.select(COLUMNS[kind]).to_pylist()]


def check_file(folder: Path, meta: Mapping[str, Any], file: str) -> None:
    """Raise DatasetTampered unless the version's `file` still has the sha256 its manifest recorded."""
    recorded = meta["files"][file]["sha256"]
    if file_sha256(folder / file) != recorded:
        raise DatasetTampered(
            f"{folder / file} changed after it was written (its sha256 differs from the manifest's). A version is "
            "never rewritten: restore the file from a backup, or use another version."
        )


def check_split(split: str | None) -> None:
    """Raise ConfigError unless `split` is train, test or None (both)."""
    if split is not None and split not in SPLITS:
        raise ConfigError(f"Split {split!r} does not exist: give train or test (or none for both).")


def _split(table: pa.Table, split: str | None) -> pa.Table:
    check_split(split)
    return table if split is None else table.filter(pc.equal(table["split"], split))


def read_table(
    name: str, version: int | str | None = None, split: str | None = None, data_dir: Path | str | None = None
) -> pa.Table:
    """A version's rows as an Arrow table, after checking the Parquet file against its manifest."""
    folder = path(name, version, data_dir)
    check_file(folder, read_manifest(folder, with_lineage=False), PARQUET)
    return _split(pq.read_table(folder / PARQUET), split)


def load(
    name: str, version: int | str | None = None, split: str | None = None, data_dir: Path | str | None = None
) -> pd.DataFrame:
    """A version (the latest by default) as a pandas DataFrame: `id`, `split`, then the kind's columns.

    `split` is "train", "test" or None for both. Nested columns (messages, criteria, tags) stay
    Arrow-backed (`pd.ArrowDtype`), so loading costs no per-row conversion; each cell still reads
    as plain Python lists and dicts. Raises DatasetTampered if the Parquet file was changed."""
    table = read_table(name, version, split, data_dir)
    return table.to_pandas(types_mapper=lambda t: pd.ArrowDtype(t) if pa.types.is_nested(t) else None)


def lineage(name: str, version: int | str | None = None, data_dir: Path | str | None = None) -> pd.DataFrame:
    """Where each example came from: id, split, queue, item, batch, runs, rubric version, reviewers, methods."""
    return pd.DataFrame(manifest(name, version, data_dir)["lineage"])


def summary(meta: Mapping[str, Any]) -> dict[str, Any]:
    """A manifest without its per-example lineage: what `datasets list/show` print."""
    return {k: v for k, v in meta.items() if k != "lineage"}


def list_datasets(data_dir: Path | str | None = None) -> list[dict[str, Any]]:
    """Every dataset's latest version: name, kind, version, rows, splits, created_at, content hash, queues."""
    out = []
    for name in names(data_dir):
        meta = manifest(name, None, data_dir, lineage=False)
        out.append(
            {
                "name": name,
                "kind": meta["kind"],
                "version": meta["version"],
                "versions": len(versions(name, data_dir)),
                "rows": meta["rows"],
                "splits": meta["splits"],
                "created_at": meta["created_at"],
                "content_hash": meta["content_hash"],
                "queues": meta["sources"]["queues"],
                "path": str(path(name, None, data_dir)),
            }
        )
    return out


def verify(
    name: str,
    version: int | str | None = None,
    data_dir: Path | str | None = None,
    indexed: Mapping[str, Any] | None = None,
) -> list[str]:
    """Every way the version differs from what was written (empty: intact). `indexed` is its
    `warehouse.dataset_versions` row, which also vouches for the manifest itself."""
    folder = path(name, version, data_dir)
    text = (folder / MANIFEST).read_bytes()
    meta = json.loads(text)
    problems = []
    for file, recorded in meta["files"].items():
        if not (folder / file).is_file():
            problems.append(f"{file} is missing")
        elif file_sha256(folder / file) != recorded["sha256"]:
            problems.append(f"{file}: sha256 differs from the manifest")
    if not problems:
        table = pq.read_table(folder / PARQUET)
        lines = table_lines(table, meta["kind"])
        ids, splits = table["id"].to_pylist(), table["split"].to_pylist()
        if content_hash(ids, splits, lines) != meta["content_hash"] or len(lines) != meta["rows"]:
            problems.append("data.parquet: content hash differs from the manifest")
        elif [e["id"] for e in meta["lineage"]] != ids:
            problems.append("the manifest's lineage does not list the examples in data.parquet")
        elif (folder / JSONL).read_text(encoding="utf-8").splitlines() != lines:
            problems.append("data.jsonl does not hold the rows of data.parquet")
    if indexed is not None:
        if indexed["manifest_sha256"] != hashlib.sha256(text).hexdigest():
            problems.append("manifest.json differs from the one recorded in warehouse.dataset_versions")
        if indexed["content_hash"] != meta["content_hash"]:
            problems.append("the content hash differs from warehouse.dataset_versions")
    return problems


@dataclass(frozen=True)
class DatasetDiff:
    """Examples of `new` that `old` lacks, examples it dropped, and examples whose row changed (by id)."""

    name: str
    old: int
    new: int
    added: list[str]
    removed: list[str]
    changed: list[str]

    def as_dict(self) -> dict:
        return asdict(self)


def row_hashes(meta: Mapping[str, Any]) -> dict[str, str]:
    """Example id -> row hash, from a manifest's lineage."""
    return {e["id"]: e["row_hash"] for e in meta["lineage"]}


def diff(name: str, old: int | str, new: int | str, data_dir: Path | str | None = None) -> DatasetDiff:
    """Added, removed and changed examples between two versions, by example id."""
    a = row_hashes(manifest(name, old, data_dir))
    b = row_hashes(manifest(name, new, data_dir))
    return DatasetDiff(
        name,
        parse_version(old),  # type: ignore[arg-type]
        parse_version(new),  # type: ignore[arg-type]
        added=sorted(b.keys() - a.keys()),
        removed=sorted(a.keys() - b.keys()),
        changed=sorted(k for k in a.keys() & b.keys() if a[k] != b[k]),
    )


__all__ = [
    "DatasetDiff",
    "DatasetTampered",
    "content_hash",
    "dataset_folder",
    "datasets_dir",
    "diff",
    "jsonl_line",
    "lineage",
    "list_datasets",
    "load",
    "manifest",
    "names",
    "path",
    "read_manifest",
    "read_table",
    "row_hash",
    "summary",
    "verify",
    "versions",
]
