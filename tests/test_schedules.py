"""One source for schedules: prefect.yaml is generated from queues/ and kept in step, `serve-flows` serves the same
deployments, and the demo runs with any extra queue file, skipping one with nothing to sample."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from typer.testing import CliRunner

from flows.serve import runner_deployments
from reviewdesk.cli import app
from reviewdesk.config import Settings
from reviewdesk.demo.run import run_demo
from reviewdesk.queues import load_queues
from reviewdesk.schedules import FIXED, prefect_yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ["support-ab", "support-quality", "support-sessions", "support-traces"]  # queues/, by name
runner = CliRunner()
NOTHING = """\
name: nothing-new
description: A queue whose filter matches no demo run.
rubric:
  instructions: Judge the answer.
  criteria:
    - {key: correctness, type: categorical, options: [correct, incorrect], required: true}
sampling:
  filter: "project = 'no-such-project'"
  size: 5
assignees: [reviewer1]
schedule: "15 */2 * * *"
"""


def test_the_committed_prefect_yaml_is_generated_from_the_queue_files():
    assert (ROOT / "prefect.yaml").read_text() == prefect_yaml(load_queues(ROOT / "queues")), (
        "prefect.yaml is out of step with queues/: run `reviewdesk deployments write`"
    )


def test_a_new_queue_file_gets_its_own_deployment_on_its_schedule(tmp_path: Path):
    queues = tmp_path / "queues"
    shutil.copytree(ROOT / "queues", queues)
    (queues / "nothing-new.yaml").write_text(NOTHING)
    out = tmp_path / "prefect.yaml"
    written = runner.invoke(app, ["--queues-dir", str(queues), "deployments", "write", "--out", str(out), "--json"])
    assert written.exit_code == 0, written.output
    assert json.loads(written.stdout)["queues"] == ["nothing-new", *EXAMPLES]
    deployments = {d["name"]: d for d in yaml.safe_load(out.read_text())["deployments"]}
    assert set(deployments) == {d["name"] for d in FIXED} | {"nothing-new", *EXAMPLES}
    new = deployments["nothing-new"]
    assert new["entrypoint"] == "flows/sample.py:review_cycle" and new["parameters"] == {"queue": "nothing-new"}
    assert new["schedules"] == [{"cron": "15 */2 * * *", "timezone": "UTC"}] and new["concurrency_limit"] == 1
    check = ["--queues-dir", str(queues), "deployments", "write", "--out", str(out), "--check"]
    assert runner.invoke(app, check).exit_code == 0
    (queues / "nothing-new.yaml").write_text(NOTHING.replace("15 */2", "45 */3"))
    stale = runner.invoke(app, check)
    assert stale.exit_code == 1 and "out of date" in stale.output


def test_serve_flows_serves_the_same_deployments_with_their_schedules():
    served = {d.name: d for d in runner_deployments(ROOT / "queues")}
    for queue in load_queues(ROOT / "queues"):
        d = served[queue.name]
        assert d.parameters == {"queue": queue.name} and d.entrypoint.endswith("sample.py:review_cycle")
        assert [s.schedule.cron for s in d.schedules] == [queue.schedule]
    assert [s.schedule.cron for s in served["collect-submissions"].schedules] == ["*/15 * * * *"]
    assert [s.schedule.cron for s in served["ingest-inbox"].schedules] == ["* * * * *"]  # issue 16: every minute
    assert "ingest-logs" not in served  # the hard-coded file path went with issue 16


def test_the_demo_skips_a_queue_with_nothing_to_sample_and_says_so(tmp_path: Path):
    queues = tmp_path / "queues"
    shutil.copytree(ROOT / "queues", queues)
    (queues / "nothing-new.yaml").write_text(NOTHING)
    data = tmp_path / "data"
    result = runner.invoke(app, ["--data-dir", str(data), "--queues-dir", str(queues), "demo", "--runs", "400",
                                 "--no-simulate", "--no-serve"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Skipped nothing-new: Nothing to sample: no runs match the filter" in " ".join(result.output.split())
    again = run_demo(Settings.load(data, queues), runs=400, simulate=False)  # the same logs: little is new
    assert "nothing-new" in [s.split(":")[0] for s in again.skipped]
    # support-quality left its first batch open (210 items, max_open_items 300): the rerun adds what fits
    assert any(why.startswith("support-quality: drawing ") and why.endswith("items are open and max_open_items is 300")
               for why in again.capped + again.skipped)  # fmt: skip
    assert {b.queue for b in again.batches} | {s.split(":")[0] for s in again.skipped} == {"nothing-new", *EXAMPLES}
