"""The CLI end to end in a subprocess-free way: typer's runner over a real data dir."""

import json
from pathlib import Path

from typer.testing import CliRunner

from reviewdesk.cli import app
from reviewdesk.warehouse import MIGRATIONS

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_every_command_has_help():
    for cmd in ([], ["init"], ["demo-data"], ["ingest"], ["quarantine"], ["demo"]):
        result = run(*cmd, "--help")
        assert result.exit_code == 0, cmd
        assert "Usage" in result.output


def test_init_creates_data_dir_and_reports_migrations(tmp_path: Path):
    result = run("--data-dir", str(tmp_path / "d"), "init", "--json")
    assert result.exit_code == 0
    info = json.loads(result.stdout)
    assert info["migrations"] == list(MIGRATIONS)
    assert (tmp_path / "d" / "warehouse.duckdb").exists()
    for sub in ("datasets", "models", "reports"):
        assert (tmp_path / "d" / sub).is_dir()


def test_demo_data_then_ingest_json_counts_and_rerun_duplicates(tmp_path: Path):
    logs = tmp_path / "runs.jsonl"
    made = run("demo-data", "--runs", "200", "--seed", "3", "--out", str(logs), "--json")
    assert made.exit_code == 0 and json.loads(made.stdout)["runs"] == 200
    assert sum(1 for _ in logs.open()) == 200
    first = run("--data-dir", str(tmp_path / "d"), "ingest", str(logs), "--json")
    assert first.exit_code == 0
    counts = json.loads(first.stdout)
    assert {k: counts[k] for k in ("read", "inserted", "duplicates", "rejected")} == {
        "read": 200, "inserted": 200, "duplicates": 0, "rejected": 0}  # fmt: skip
    assert "quarantine" in counts
    again = json.loads(run("--data-dir", str(tmp_path / "d"), "ingest", str(logs), "--json").stdout)
    assert (again["inserted"], again["duplicates"]) == (0, 200)


def test_ingest_with_rejects_exits_1_and_quarantine_shows_them(tmp_path: Path):
    logs = tmp_path / "bad.jsonl"
    logs.write_bytes(b'{"run_id": "a", "status": "success"}\n{"run_id": \n{"run_id": "b", "prompt_tokens": "x"}\n')
    result = run("--data-dir", str(tmp_path / "d"), "ingest", str(logs), "--json")
    assert result.exit_code == 1
    counts = json.loads(result.stdout)
    assert (counts["read"], counts["inserted"], counts["rejected"]) == (3, 1, 2)
    shown = json.loads(run("--data-dir", str(tmp_path / "d"), "quarantine", "--json").stdout)
    assert sorted(r["locator"] for r in shown) == ["line 2", "line 3"]
    assert any("prompt_tokens" in r["reason"] for r in shown)


def test_missing_file_is_a_short_error_with_exit_2(tmp_path: Path):
    result = run("--data-dir", str(tmp_path / "d"), "ingest", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 2
    assert "No such file" in result.output and "Traceback" not in result.output


def test_unknown_format_is_a_usage_error(tmp_path: Path):
    logs = tmp_path / "x.jsonl"
    logs.write_text('{"run_id": "a"}\n')
    result = run("--data-dir", str(tmp_path / "d"), "ingest", str(logs), "--format", "xml")
    assert result.exit_code == 2
    assert "Unknown format" in result.output


def test_demo_generates_ingests_and_summarises(tmp_path: Path):
    result = run("--data-dir", str(tmp_path / "d"), "demo", "--runs", "300", "--json")
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert summary["ingest"]["inserted"] == 300
    assert summary["warehouse"]["runs"] == 300
    assert summary["warehouse"]["pair_inputs"] > 0
    assert len(summary["warehouse"]["models"]) >= 4
