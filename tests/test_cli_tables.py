"""CLI tables never cut an identifier: at 80 columns a 40-character queue name and 36-character run ids
are shown whole (wrapped or folded inside their cell), never with an ellipsis."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import yaml
from process_support import REVIEWDESK
from typer.testing import CliRunner

from reviewdesk.cli import app

ROOT = Path(__file__).resolve().parents[1]
QUEUE = "support-quality-" + "x" * 23 + "9"  # 40 characters


def at_80_columns(*args: str) -> str:
    """The command's output as a user at an 80-column terminal sees it."""
    env = {**os.environ, "COLUMNS": "80", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([REVIEWDESK, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def column(output: str, index: int) -> str:
    """Column `index` of the table's body rows, its cells' lines joined: what the cells hold, unfolded."""
    rows = [line.split("│") for line in output.splitlines() if line.startswith("│")]
    return "".join(r[index + 1].strip() for r in rows if len(r) > index + 1)


def test_identifiers_are_whole_at_80_columns(tmp_path: Path):
    assert len(QUEUE) == 40
    queues = tmp_path / "queues"
    queues.mkdir()
    raw = yaml.safe_load((ROOT / "queues" / "support-quality.yaml").read_text())
    (queues / f"{QUEUE}.yaml").write_text(yaml.safe_dump({**raw, "name": QUEUE}))
    base = ["--data-dir", str(tmp_path / "d"), "--queues-dir", str(queues)]
    runner = CliRunner()
    logs = tmp_path / "runs.jsonl"
    assert runner.invoke(app, ["demo-data", "--runs", "300", "--out", str(logs)]).exit_code == 0
    assert runner.invoke(app, [*base, "ingest", str(logs)]).exit_code == 0
    drawn = runner.invoke(app, [*base, "sample", QUEUE, "--size", "3", "--seed", "1", "--json"])
    assert drawn.exit_code == 0, drawn.output
    batch = json.loads(drawn.stdout)

    listed = at_80_columns(*base, "queues", "list")
    assert "…" not in listed and column(listed, 0) == QUEUE
    batches = at_80_columns(*base, "batches", "list")
    assert "…" not in batches and column(batches, 1) == QUEUE and column(batches, 0) == batch["batch_id"]
    shown = at_80_columns(*base, "batches", "show", batch["batch_id"])
    runs = [i["run_id"] for i in batch["items"]]
    assert "…" not in shown and all(len(r) >= 36 for r in runs)
    assert column(shown, 1) == "".join(runs)
