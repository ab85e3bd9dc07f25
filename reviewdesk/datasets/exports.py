"""Exports: a dataset version (or one split of it) copied to a file of the consumer's choosing.

An export never writes into the datasets folder (versions are immutable, and root ignores their
read-only mode), never replaces an existing file unless asked to, and writes whole or not at all:
a temporary file beside the target, renamed when complete (`reviewdesk.stores.files`).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow.parquet as pq

from reviewdesk.datasets.formats import COLUMNS
from reviewdesk.datasets.read import (
    JSONL,
    PARQUET,
    check_file,
    check_split,
    datasets_dir,
    path,
    read_manifest,
    read_table,
)
from reviewdesk.errors import AlreadyExists, ConfigError
from reviewdesk.stores.files import replacing, within

FORMATS = ("parquet", "jsonl")


def export_target(out: Path, example: str, root: Path, force: bool) -> Path:
    """The file to write for `out`: a path outside the datasets folder `root`, new or (with `force`) an
    existing regular file; through a symlink, the file it points to (never the link, a device or a pipe)."""
    if out.is_dir():
        raise ConfigError(f"{out} is a folder: give a file path, e.g. {out / example}")
    if within(out, root) or within(out.parent, root):
        raise ConfigError(
            f"{out} is inside the datasets folder {root.resolve()}, where versions are never rewritten: "
            "give an --out path outside it."
        )
    if not (out.exists() or out.is_symlink()):
        return out
    if not force:
        raise AlreadyExists(f"{out} exists already: give another --out path, or --force to replace it.")
    if not out.is_file():
        raise ConfigError(f"{out} is not a regular file (a device, a pipe or a broken link): give a file path.")
    return out.resolve()


def export(
    name: str,
    fmt: str,
    out: Path | str,
    version: int | str | None = None,
    split: str | None = None,
    data_dir: Path | str | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Write a version (or one split of it) to `out` as parquet (every column) or jsonl (the format
    columns, as in data.jsonl). `out` may not lie in the datasets folder, nor be an existing file
    unless `force`. Returns the path, format, version and row count."""
    if fmt not in FORMATS:
        raise ConfigError(f"Format {fmt!r} is not supported: give parquet or jsonl.")
    check_split(split)
    folder = path(name, version, data_dir)
    meta = read_manifest(folder, with_lineage=False)
    source = folder / (PARQUET if fmt == "parquet" else JSONL)
    check_file(folder, meta, source.name)
    out = export_target(Path(out), f"{name}.{fmt}", datasets_dir(data_dir), force)
    with replacing(out) as f:
        if split is None:
            with source.open("rb") as src:
                shutil.copyfileobj(src, f)
        elif fmt == "parquet":
            pq.write_table(read_table(name, meta["version"], split, data_dir), f)
        else:
            _jsonl_split(folder, split, f)
    columns = (["id", "split"] if fmt == "parquet" else []) + COLUMNS[meta["kind"]]
    return {
        "name": name,
        "version": meta["version"],
        "format": fmt,
        "split": split,
        "rows": meta["rows"] if split is None else meta["splits"].get(split, 0),
        "path": str(out),
        "columns": columns,
    }


def _jsonl_split(folder: Path, split: str, dst: BinaryIO) -> None:
    """The lines of data.jsonl whose row is in `split` (data.parquet, in the same order, says which)."""
    keep = pq.read_table(folder / PARQUET, columns=["split"])["split"].to_pylist()
    with (folder / JSONL).open("rb") as src:
        dst.writelines(line for line, s in zip(src, keep, strict=True) if s == split)


__all__ = ["FORMATS", "export", "export_target"]
