"""Inputs to the bias controls that could break them: a bad `min_seconds`, bias sizes out of range on the
command line, and queues with nothing (or nothing timed) to measure."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from reviewdesk.cli import app
from reviewdesk.quality.bias_fatigue import fatigue
from reviewdesk.quality.bias_runs import straight_lining
from reviewdesk.quality.bias_speed import fast_answers
from reviewdesk.queues import QueueFileError, load_queue_file

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("value", "message"), [
    (0, "greater than 0"), (-5, "greater than 0"), ("fast", "valid number"), (86400, "less than or equal to 3600"),
    (float("nan"), "min_seconds"),
])  # fmt: skip
def test_a_bad_min_seconds_names_the_field(tmp_path: Path, value: object, message: str):
    data = yaml.safe_load((ROOT / "queues" / "support-ab.yaml").read_text()) | {"min_seconds": value}
    path = tmp_path / "support-ab.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(QueueFileError, match=message):
        load_queue_file(path)
    assert CliRunner().invoke(app, ["queues", "validate", str(path)]).exit_code == 2


@pytest.mark.parametrize("option", [["--length-bias", "2"], ["--fatigue", "-0.1"], ["--drift", "3"],
                                    ["--biased-reviewers", "-1"]])  # fmt: skip
def test_bias_sizes_out_of_range_are_usage_errors(tmp_path: Path, option: list[str]):
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "simulate-reviews", "q", *option])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_nothing_to_measure_gives_notes_not_errors():
    empty = pd.DataFrame({"reviewer": [], "submission_id": [], "submitted_at": pd.to_datetime([], utc=True),
                          "criterion": [], "answer": [], "correct": [], "agree": [], "seconds": []})  # fmt: skip
    assert fatigue(empty)["accuracy"]["queue"]["note"].startswith("needs 20+")
    assert straight_lining(empty)["queue"]["estimate"] is None
    untimed = pd.DataFrame({"reviewer": ["a"] * 30, "submission_id": range(30), "seconds": [float("nan")] * 30})
    assert fast_answers(untimed, 8.0)["reviewers"]["a"]["note"] == "needs 20+ timed submissions, has 0"
