"""The pre-scoring commands end to end over a copy of the demo: models train / list, prescore, batches show."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reviewdesk.cli import app

ROOT = Path(__file__).resolve().parents[1]
QUEUE = "support-quality"
runner = CliRunner()


@pytest.fixture
def cli(demo_template: Path, tmp_path: Path):
    """`reviewdesk --data-dir <a copy of the demo> ...`, returning the result."""
    data = tmp_path / "data"
    shutil.copytree(demo_template, data)

    def run(*args: str):
        return runner.invoke(app, ["--data-dir", str(data), "--queues-dir", str(ROOT / "queues"), *args])

    return run


def batch_of(cli, queue: str) -> str:
    return next(b["batch_id"] for b in json.loads(cli("batches", "list", "--json").stdout) if b["queue"] == queue)


def test_every_pre_scoring_command_has_help():
    for cmd in (["models"], ["models", "train"], ["models", "list"], ["prescore"]):
        result = runner.invoke(app, [*cmd, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, cmd


def test_train_help_states_the_library_minimum_of_labels():
    from reviewdesk.prescore.training import MIN_LABELS

    result = runner.invoke(app, ["models", "train", "--help"], terminal_width=200)
    assert f"(default {MIN_LABELS})" in " ".join(result.output.split())


def test_train_list_and_prescore_a_new_batch(cli):
    cold = cli("models", "train", QUEUE, "--json")
    assert cold.exit_code == 0, cold.output
    assert [c["status"] for c in json.loads(cold.stdout)["criteria"]] == ["skipped", "skipped"]
    assert "No models yet" in cli("models", "list").output
    for step in (["simulate-reviews", QUEUE, "--reviewers", "3", "--seed", "1"], ["collect"], ["consensus", QUEUE]):
        assert cli(*step).exit_code in (0, 1), step  # collect exits 1 if a random answer was rejected

    trained = cli("models", "train", QUEUE, "--json")
    assert trained.exit_code == 0, trained.output
    criteria = json.loads(trained.stdout)["criteria"]
    assert [(c["criterion"], c["status"], c["model"]["version"]) for c in criteria] == [
        ("correctness", "trained", 1), ("helpfulness", "trained", 1)]  # fmt: skip
    listed = json.loads(cli("models", "list", "--json").stdout)
    assert [(m["queue"], m["criterion"], m["version"]) for m in listed] == [(QUEUE, "correctness", 1),
                                                                            (QUEUE, "helpfulness", 1)]  # fmt: skip
    assert {"n_train", "label_distribution", "metrics", "train_seconds", "beats_baseline"} <= set(listed[0])
    table = cli("models", "list")
    assert table.exit_code == 0 and "Models" in table.output and "yes" in table.output
    again = cli("models", "train", QUEUE)
    assert again.exit_code == 0 and again.output.count("no new labels since this version") == 2

    batch_id = json.loads(cli("sample", QUEUE, "--size", "40", "--seed", "9", "--json").stdout)["batch_id"]
    scored = cli("prescore", batch_id, "--json")
    assert scored.exit_code == 0, scored.output
    report = json.loads(scored.stdout)
    assert report["scorer"] == "sklearn" and report["items"] >= 40 and report["pushed"] == 0
    served = {m["criterion"]: m["model_version"] for m in listed if m["beats_baseline"]}
    assert {k: v for k, v in report["versions"].items() if k in served} == served
    shown = json.loads(cli("batches", "show", batch_id, "--json").stdout)
    with_suggestions = [i for i in shown["items"] if i["suggestions"]]
    assert len(with_suggestions) == report["scored"]
    first = with_suggestions[0]["suggestions"]["correctness"]
    assert first["value"] in ("correct", "partially_correct", "incorrect") and 0 <= first["confidence"] <= 1
    human = cli("prescore", batch_id, "--scorer", "heuristic")
    assert human.exit_code == 0 and "Next: reviewdesk publish" in " ".join(human.output.split())
    assert "suggestions" in cli("batches", "show", batch_id).output


def test_prescoring_a_published_batch_updates_the_review_store(cli):
    batch_id = batch_of(cli, QUEUE)
    result = cli("prescore", batch_id, "--scorer", "heuristic", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["pushed"] == report["items"] and report["kept"] == 0
    pairwise = cli("prescore", batch_of(cli, "support-ab"))  # the pairwise heuristic suggests a preference
    said = " ".join(pairwise.output.split())
    assert pairwise.exit_code == 0 and "preference: pairwise-heuristic-1" in said
    assert "items got none: the rules do not separate the two runs" in said


@pytest.mark.parametrize(("args", "message"), [
    (["prescore", "nope"], "No batch 'nope'"),
    (["models", "train", "support-ab"], "models are trained for single queues"),
    (["models", "train", "nope"], "No queue 'nope'"),
    (["prescore", "<quality>", "--scorer", "http_judge"], "no judge endpoint"),
    (["prescore", "<quality>", "--scorer", "gpt"], "Unknown scorer 'gpt'"),
])  # fmt: skip
def test_errors_exit_2_and_say_what_to_do(cli, args: list[str], message: str):
    args = [batch_of(cli, QUEUE) if a == "<quality>" else a for a in args]
    result = cli(*args)
    assert result.exit_code == 2 and message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output
