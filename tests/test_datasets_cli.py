"""`reviewdesk promote` and `reviewdesk datasets list|show|diff|export` over promoted demo data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from promotion_support import QUALITY, build_reviewed
from typer.testing import CliRunner

from reviewdesk.cli import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(scope="module")
def promoted(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = build_reviewed(demo_template, tmp_path_factory.mktemp("datasets-cli") / "data", quality_limit=400)
    result = runner.invoke(app, ["--data-dir", str(data), "--queues-dir", str(ROOT / "queues"), "promote", "--json"])
    assert result.exit_code == 0, result.output
    return data


@pytest.fixture
def data(promoted: Path, tmp_path: Path) -> Path:
    shutil.copytree(promoted, tmp_path / "data")
    return tmp_path / "data"


def run(data: Path, *args: str):
    return runner.invoke(app, ["--data-dir", str(data), "--queues-dir", str(ROOT / "queues"), *args])


def test_promote_json_then_again_changes_nothing(data: Path):
    result = run(data, "promote", QUALITY, "--json")
    assert result.exit_code == 0, result.output
    [queue] = json.loads(result.stdout)
    assert queue["queue"] == QUALITY and queue["flagged"]["csv"].endswith("flagged-support-quality.csv")
    statuses = {d["dataset"]: (d["status"], d["version"]) for d in queue["datasets"]}
    assert statuses == dict.fromkeys(["support-regression", "support-sft", "support-judge"], ("unchanged", 1))
    text = run(data, "promote", QUALITY, "--dataset", "support-sft")
    assert text.exit_code == 0 and "support-sft" in text.output and "support-judge" not in text.output


def test_a_blocked_promotion_exits_1_and_says_why(data: Path):
    from reviewdesk.stores.warehouse import Warehouse

    with Warehouse(data / "warehouse.duckdb") as wh:
        wh.execute("UPDATE agreement SET value = 0.1 WHERE queue = ? AND criterion = 'correctness'", [QUALITY])
    result = run(data, "promote", QUALITY)
    assert result.exit_code == 1
    assert "blocked: agreement gate: krippendorff_alpha of 'correctness' is 0.10" in " ".join(result.output.split())


@pytest.mark.parametrize(("args", "message"), [
    (["promote", "nope"], "No queue 'nope'"),
    (["promote", QUALITY, "--dataset", "nope"], "has no dataset 'nope' in its promotion rules"),
    (["datasets", "show", "nope"], "No dataset 'nope' (datasets: support-judge, support-preference"),
    (["datasets", "show", "support-sft", "--version", "v9"], "Dataset 'support-sft' has no v9; its versions: v1"),
    (["datasets", "show", "support-sft", "--version", "latest"], "is not a version number"),
    (["datasets", "export", "support-sft", "--format", "csv", "--out", "x.csv"], "give parquet or jsonl"),
    (["datasets", "export", "support-sft", "--format", "jsonl", "--out", "x", "--split", "dev"], "give train or test"),
])  # fmt: skip
def test_errors_exit_2_and_say_what_to_do(data: Path, args: list[str], message: str):
    result = run(data, *args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_list_and_show(data: Path):
    listed = json.loads(run(data, "datasets", "list", "--json").stdout)
    assert [(d["name"], d["kind"], d["version"]) for d in listed] == [
        ("support-judge", "classification", 1), ("support-preference", "preference", 1),
        ("support-regression", "regression", 1), ("support-sft", "sft", 1)]  # fmt: skip
    assert "support-preference" in run(data, "datasets", "list").output
    shown = run(data, "datasets", "show", "support-sft", "--json")
    assert shown.exit_code == 0
    meta = json.loads(shown.stdout)
    assert meta["problems"] == [] and meta["index_note"] is None and "lineage" not in meta
    assert meta["rows"] == listed[3]["rows"] and meta["sources"]["queues"] == [QUALITY]
    assert meta["rules"][QUALITY]["agreement"]["correctness"]["value"] == pytest.approx(1.0)
    with_lineage = json.loads(run(data, "datasets", "show", "support-sft", "--lineage", "--json").stdout)
    assert len(with_lineage["lineage"]) == meta["rows"]
    text = run(data, "datasets", "show", "support-sft", "--version", "1")
    assert text.exit_code == 0 and "Files match their hashes. The index agrees." in " ".join(text.output.split())


def test_diff_and_export(data: Path, tmp_path: Path):
    same = json.loads(run(data, "datasets", "diff", "support-judge", "1", "v1", "--json").stdout)
    assert (same["added"], same["removed"], same["changed"]) == ([], [], [])
    meta = json.loads(run(data, "datasets", "show", "support-judge", "--json").stdout)
    out = tmp_path / "exports" / "train.jsonl"
    args = ["export", "support-judge", "--format", "jsonl", "--split", "train", "--out", str(out), "--json"]
    result = run(data, "datasets", *args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == meta["splits"]["train"] == len(out.read_text().splitlines())
    assert all(set(json.loads(line)) == {"text", "label", "criterion"} for line in out.read_text().splitlines())
    whole = tmp_path / "all.parquet"
    assert run(data, "datasets", "export", "support-judge", "--format", "parquet", "--out", str(whole)).exit_code == 0
    assert whole.read_bytes() == (data / "datasets" / "support-judge" / "v1" / "data.parquet").read_bytes()
