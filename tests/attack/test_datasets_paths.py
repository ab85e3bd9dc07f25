"""Datasets stay inside their tree: names that are paths, symlinks out, exports over immutable versions or
existing files, a full disk under an export, and a promotion killed halfway (issue 12, items 7, 9 and 11)."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reviewdesk import datasets
from reviewdesk.cli import app
from reviewdesk.datasets.versioning import CandidateVersion, adopt, write_version
from reviewdesk.errors import ReviewdeskError
from reviewdesk.stores.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
CHANGE = {"added": 5, "removed": 0, "changed": 0}


def draft(name: str) -> CandidateVersion:
    """A small classification version: five examples, three train and two test."""
    rows = [{"id": f"{i:016x}", "split": "test" if i % 3 == 0 else "train", "text": f"text {i}", "label": "yes",
             "criterion": "correctness"} for i in range(5)]  # fmt: skip
    lineage = [{"id": r["id"], "split": r["split"], "queue": "q", "item_id": f"i{i}", "batch_id": "b-1",
                "rubric_version": "r1", "run_ids": [f"run-{i}"], "models": [], "prompt_versions": [],
                "reviewers": ["reviewer1"], "methods": {}} for i, r in enumerate(rows)]  # fmt: skip
    return CandidateVersion(name, "classification", "", rows, lineage, {}, 0.3)


def write(data: Path, name: str) -> Path:
    with Warehouse(data / "warehouse.duckdb") as wh:
        write_version(wh, data, draft(name), None, CHANGE)
    return data / "datasets" / name / "v1"


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """`<tmp>/d/data` with dataset `ok` v1, and a dataset-shaped folder outside it at `<tmp>/x/name`."""
    data = tmp_path / "d" / "data"
    write(data, "ok")
    outside = write(tmp_path / "elsewhere", "name").parent
    shutil.move(outside, tmp_path / "x" / "name")
    return data


def run(data: Path, *args: str):
    return runner.invoke(app, ["--data-dir", str(data), *args])


def refused(result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output


@pytest.mark.parametrize("command", [
    ["datasets", "show", "../../../x/name"],
    ["datasets", "show", "../../../x/name", "--json"],
    ["datasets", "diff", "../../../x/name", "1", "1"],
    ["datasets", "export", "../../../x/name", "--format", "jsonl", "--out", "OUT"],
])  # fmt: skip
def test_the_cli_refuses_a_dataset_name_that_is_a_path(data: Path, tmp_path: Path, command: list[str]):
    out = tmp_path / "out.jsonl"
    result = run(data, *[str(out) if a == "OUT" else a for a in command])
    refused(result, "'../../../x/name' is not a dataset name")
    assert "content_hash" not in result.output and not out.exists()


@pytest.mark.parametrize("name", ["../../../x/name", "/abs/path", "TMP_ABS", "..", ".", "", "ok/v1", "ok/../ok",
                                  "Ok", ".hidden", "ok\n", "ok\x00", "-x", "a" * 64])  # fmt: skip
def test_the_api_refuses_names_that_are_not_names(data: Path, tmp_path: Path, name: str):
    name = str(tmp_path / "x" / "name") if name == "TMP_ABS" else name
    for call in (datasets.load, datasets.path, datasets.manifest, datasets.lineage, datasets.versions):
        with pytest.raises(ReviewdeskError, match="is not a dataset name"):
            call(name, data_dir=data)
    with pytest.raises(ReviewdeskError, match="is not a dataset name"):
        datasets.export(name, "jsonl", tmp_path / "out.jsonl", data_dir=data)
    assert not (tmp_path / "out.jsonl").exists()


def test_a_version_is_never_written_outside_the_datasets_folder(data: Path, tmp_path: Path):
    with Warehouse(None) as wh, pytest.raises(ReviewdeskError, match="is not a dataset name"):
        write_version(wh, data, draft("../../../escaped"), None, CHANGE)
    assert not (tmp_path / "escaped").exists()


def test_symlinks_out_of_the_datasets_folder_are_not_followed(data: Path, tmp_path: Path):
    outside = tmp_path / "x" / "name"
    (data / "datasets" / "evil").symlink_to(outside, target_is_directory=True)
    (data / "datasets" / "ok" / "v2").symlink_to(outside / "v1", target_is_directory=True)
    v3 = data / "datasets" / "ok" / "v3"
    shutil.copytree(data / "datasets" / "ok" / "v1", v3)
    (v3 / "manifest.json").unlink()
    (v3 / "manifest.json").symlink_to(outside / "v1" / "manifest.json")
    with pytest.raises(ReviewdeskError, match="leads outside"):
        datasets.load("evil", data_dir=data)
    assert datasets.names(data) == ["ok"] and datasets.versions("ok", data) == [1]
    refused(run(data, "datasets", "show", "evil"), "leads outside")
    refused(run(data, "datasets", "show", "ok", "--version", "2"), "Dataset 'ok' has no v2")
    assert [d["name"] for d in json.loads(run(data, "datasets", "list", "--json").stdout)] == ["ok"]


@pytest.mark.parametrize("extra", [[], ["--split", "train"], ["--force"], ["--split", "test", "--force"]])
@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_an_export_never_writes_into_the_datasets_folder(data: Path, fmt: str, extra: list[str]):
    version = data / "datasets" / "ok" / "v1"
    before = digest(version)
    for out in (version / "data.jsonl", version / "data.parquet", version / "manifest.json",
                data / "datasets" / "ok" / "v2" / "x.jsonl", data / "datasets" / "new.jsonl",
                data / "elsewhere" / ".." / "datasets" / "ok" / "v1" / "data.jsonl"):  # fmt: skip
        result = run(data, "datasets", "export", "ok", "--format", fmt, "--out", str(out), *extra)
        refused(result, "is inside the datasets folder")
    assert digest(version) == before and datasets.verify("ok", 1, data) == []
    assert sorted(p.name for p in (data / "datasets").iterdir()) == ["ok"]
    assert sorted(p.name for p in (data / "datasets" / "ok").iterdir()) == ["v1"]


def test_an_export_through_a_symlink_into_the_datasets_folder_is_refused(data: Path, tmp_path: Path):
    version = data / "datasets" / "ok" / "v1"
    before = digest(version)
    (tmp_path / "link.jsonl").symlink_to(version / "data.jsonl")
    (tmp_path / "dir").symlink_to(version, target_is_directory=True)
    for out in (tmp_path / "link.jsonl", tmp_path / "dir" / "data.jsonl", tmp_path / "dir" / "new.jsonl"):
        refused(run(data, "datasets", "export", "ok", "--format", "jsonl", "--out", str(out), "--force"),
                "is inside the datasets folder")  # fmt: skip
    assert digest(version) == before


def test_an_export_replaces_an_existing_file_only_with_force(data: Path, tmp_path: Path):
    out = tmp_path / "keep.jsonl"
    out.write_text("precious\n")
    refused(run(data, "datasets", "export", "ok", "--format", "jsonl", "--out", str(out)), "exists already")
    assert out.read_text() == "precious\n"
    with pytest.raises(ReviewdeskError, match="exists already"):
        datasets.export("ok", "jsonl", out, data_dir=data)
    result = run(data, "datasets", "export", "ok", "--format", "jsonl", "--out", str(out), "--force")
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == (data / "datasets" / "ok" / "v1" / "data.jsonl").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "elsewhere", "keep.jsonl", "x"]


def test_force_replaces_a_linked_file_but_never_the_link_or_a_device(data: Path, tmp_path: Path):
    (tmp_path / "real.jsonl").write_text("old\n")
    (tmp_path / "link.jsonl").symlink_to(tmp_path / "real.jsonl")
    (tmp_path / "broken.jsonl").symlink_to(tmp_path / "missing.jsonl")
    assert run(data, "datasets", "export", "ok", "--format", "jsonl", "--out", str(tmp_path / "link.jsonl"),
               "--force").exit_code == 0  # fmt: skip
    assert (tmp_path / "link.jsonl").is_symlink() and (tmp_path / "real.jsonl").read_text().count("\n") == 5
    for out in ("/dev/null", str(tmp_path / "broken.jsonl")):
        refused(run(data, "datasets", "export", "ok", "--format", "jsonl", "--out", out, "--force"),
                "is not a regular file")  # fmt: skip
    assert Path("/dev/null").is_char_device() and not (tmp_path / "missing.jsonl").exists()


def _file_size_limit(limit: int):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def _cli(*args: str, limit: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "200"}  # fmt: skip
    command = [sys.executable, "-c", "from reviewdesk.cli import app; app(prog_name='reviewdesk')", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, preexec_fn=_file_size_limit(limit),
                          timeout=120)  # fmt: skip


@pytest.mark.parametrize(("fmt", "split"), [("jsonl", None), ("jsonl", "train"), ("parquet", None),
                                            ("parquet", "train")])  # fmt: skip
def test_a_full_disk_under_an_export_leaves_nothing_behind_and_says_so(data: Path, tmp_path: Path, fmt, split):
    """The disk fills after 100 bytes (RLIMIT_FSIZE: writes past it fail with EFBIG, as on a full disk)."""
    out = tmp_path / "exports" / f"all.{fmt}"
    out.parent.mkdir()
    args = ["--data-dir", str(data), "datasets", "export", "ok", "--format", fmt, "--out", str(out)]
    result = _cli(*args, *(["--split", split] if split else []), limit=100)
    assert result.returncode == 2, result.stderr
    assert "Could not write" in result.stderr and "Nothing was written" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) <= 6
    assert list(out.parent.iterdir()) == []


FULL = textwrap.dedent("""
    import resource, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from test_datasets_paths import CHANGE, draft
    from reviewdesk.datasets.versioning import write_version
    from reviewdesk.errors import ReviewdeskError
    from reviewdesk.stores.warehouse import Warehouse
    with Warehouse(None) as wh:
        resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))
        try:
            write_version(wh, Path(sys.argv[1]), draft("fresh"), None, CHANGE)
        except ReviewdeskError as e:
            print(e)
""")


def test_a_full_disk_under_a_promotion_keeps_nothing_and_says_so(data: Path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    args = [sys.executable, "-c", FULL, str(data), str(Path(__file__).parent)]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "Could not write fresh v1" in result.stdout and "free some disk space" in result.stdout
    assert list((data / "datasets" / "fresh").iterdir()) == []


KILLED = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from test_datasets_paths import CHANGE, draft
    from reviewdesk.datasets.versioning import write_version
    from reviewdesk.stores.warehouse import Warehouse
    real = os.rename
    def rename(*args):  # the moment between writing the files and the rename
        if sys.argv[3] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        print("writing", flush=True)
        sys.stdin.readline()
        real(*args)
    os.rename = rename
    data = Path(sys.argv[1])
    with Warehouse(data / "warehouse.duckdb") as wh:
        write_version(wh, data, draft("fresh"), None, CHANGE)
""")


def _promotion(data: Path, how: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    args = [sys.executable, "-c", KILLED, str(data), str(Path(__file__).parent), how]
    return subprocess.Popen(args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def _temp_folders(home: Path) -> list[str]:
    return sorted(p.name for p in home.iterdir() if p.name.startswith("."))


def test_a_killed_promotions_leftovers_are_cleaned_by_the_next_one(data: Path, tmp_path: Path):
    home = data / "datasets" / "fresh"
    killed = _promotion(data, "kill")
    assert killed.wait(timeout=120) == -9
    [leftover] = _temp_folders(home)
    assert leftover.startswith(".v1-") and datasets.versions("fresh", data) == []
    (home / ".v7-bait").symlink_to(tmp_path / "x", target_is_directory=True)  # cleaning never follows a link out
    with Warehouse(data / "warehouse.duckdb") as wh:
        assert adopt(wh, data, "fresh") == []
        assert _temp_folders(home) == [".v7-bait"] and (tmp_path / "x" / "name" / "v1" / "manifest.json").is_file()
        (home / ".v7-bait").unlink()
        write_version(wh, data, draft("fresh"), None, CHANGE)
    assert datasets.versions("fresh", data) == [1] and datasets.verify("fresh", 1, data) == []


def test_a_live_promotions_temporary_folder_is_left_alone(data: Path):
    home = data / "datasets" / "fresh"
    live = _promotion(data, "wait")
    try:
        assert live.stdout.readline() == "writing\n"
        [temporary] = _temp_folders(home)
        with Warehouse(None) as wh, pytest.raises(ReviewdeskError, match="being written by another promotion"):
            adopt(wh, data, "fresh")
        assert _temp_folders(home) == [temporary]
    finally:
        live.communicate("\n", timeout=120)
    assert live.returncode == 0 and datasets.versions("fresh", data) == [1] and _temp_folders(home) == []
