"""The ingest flow against a real Prefect test API, and prefect.yaml's entrypoints."""

from pathlib import Path

import yaml

from flows.ingest import ingest_logs, ingest_path
from reviewdesk.demo import generate_runs, write_runs

ROOT = Path(__file__).resolve().parents[1]


def test_ingest_flow_loads_runs_and_is_idempotent(prefect_api, tmp_path: Path):
    logs = tmp_path / "runs.jsonl"
    write_runs(generate_runs(50, seed=2), logs)
    data_dir = str(tmp_path / "d")
    first = ingest_logs([str(logs)], data_dir=data_dir)
    assert [(r["read"], r["inserted"], r["duplicates"]) for r in first] == [(50, 50, 0)]
    second = ingest_logs([str(logs)], data_dir=data_dir)
    assert [(r["inserted"], r["duplicates"]) for r in second] == [(0, 50)]


def test_ingest_task_retries_only_transient_failures():
    assert ingest_path.retries == 3
    assert ingest_path.retry_condition_fn is not None


def test_prefect_yaml_entrypoints_exist():
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    for deployment in config["deployments"]:
        module, _, func = deployment["entrypoint"].partition(":")
        source = (ROOT / module).read_text()
        assert f"def {func}(" in source, deployment["entrypoint"]
