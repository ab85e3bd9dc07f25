"""Prefect: serve every deployment from this process with `prefect.serve`: the queues' review cycles on
their YAML `schedule:`, and the fixed flows (ingest, collect, retrain, promote) on theirs.

The other way to run on a schedule is `prefect.yaml` (`reviewdesk deployments write`) with a work pool
and a worker; both read `reviewdesk.schedules`, so they never disagree. `reviewdesk serve-flows` runs
this module; it serves until stopped.

Requires: PREFECT_API_URL (a Prefect server; without one Prefect starts a temporary local one),
REVIEWDESK_DATA_DIR and REVIEWDESK_QUEUES_DIR (optional; ./data and ./queues by default).
"""

from __future__ import annotations

from pathlib import Path

from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.flows import load_flow_from_entrypoint

from reviewdesk.config import Settings
from reviewdesk.queues import load_queues
from reviewdesk.schedules import deployments

ROOT = Path(__file__).resolve().parents[1]


def runner_deployments(queues_dir: Path) -> list[RunnerDeployment]:
    """Every deployment of `reviewdesk.schedules` for the queues in `queues_dir`, ready for `prefect.serve`."""
    out = []
    for d in deployments(load_queues(queues_dir)):
        flow = load_flow_from_entrypoint(str(ROOT / d["entrypoint"]), use_placeholder_flow=False)
        out.append(flow.to_deployment(name=d["name"], cron=d.get("cron"), parameters=d.get("parameters"),
                                      description=d["description"], concurrency_limit=1,
                                      _sync=True))  # fmt: skip  (sync even where an event loop runs)
    return out


if __name__ == "__main__":
    serve(*runner_deployments(Settings.load().queues_dir))
