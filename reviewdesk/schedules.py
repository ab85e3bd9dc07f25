"""Deployments: which flow runs when, with the queue files as the one source of every queue's schedule.

Each queue in `queues/` gets a `review_cycle` deployment named after it, on its YAML `schedule:` (a
queue without one can still be run by hand); the flows that are not per queue (ingest-inbox, collect,
retrain, promote, push-feedback) are listed once, in `FIXED`. Two ways to run them on their schedules read this:
`reviewdesk deployments write` turns it into `prefect.yaml` for `prefect deploy` and a worker (a test
keeps the committed file in step with `queues/`), and `reviewdesk serve-flows` serves it straight
from this process with `prefect.serve` (`flows/serve.py`), with no work pool or worker.
"""

from __future__ import annotations

from collections.abc import Iterable
from copy import deepcopy
from pathlib import Path
from typing import Any

import yaml

from reviewdesk.stores.files import write_text
from schemas.queue import QueueConfig

PREFECT_VERSION = "3.9.1"
WORK_POOL = {"name": "reviewdesk", "work_queue_name": "default"}
TIMEZONE = "UTC"
REVIEW_CYCLE = "flows/sample.py:review_cycle"
HEADER = """\
# Deployments of reviewdesk's flows, generated from queues/ by `reviewdesk deployments write`: edit a queue's
# `schedule:` (or `FIXED` in reviewdesk/schedules.py), then write this file again. See README, "Running on a schedule":
#   prefect server start --host 127.0.0.1          (then export PREFECT_API_URL=http://127.0.0.1:4200/api)
#   prefect work-pool create reviewdesk --type process
#   prefect --no-prompt deploy --all
#   prefect worker start --pool reviewdesk
# Or, with no work pool or worker: `reviewdesk serve-flows`.
"""

# The flows that are not per queue; a deployment added here reaches prefect.yaml and serve-flows alike.
# Every one writes DuckDB, which allows one writer: concurrency 1 each.
FIXED: list[dict[str, Any]] = [
    {
        "name": "ingest-inbox",
        "description": "Ingest closed receiver segments and files dropped into data/inbox/, each once.",
        "entrypoint": "flows/inbox.py:ingest_inbox_flow",
        "cron": "* * * * *",
    },
    {
        "name": "collect-submissions",
        "description": "Collect reviewers' submissions into the warehouse, resolve consensus and refresh each "
        "queue's quality report.",
        "entrypoint": "flows/collect.py:collect_submissions",
        "cron": "*/15 * * * *",
    },
    {
        "name": "retrain-models",
        "description": "Retrain each queue's pre-scoring models on its consensus labels (a no-op without new labels).",
        "entrypoint": "flows/train.py:retrain_models",
        "cron": "0 3 * * *",
    },
    {
        "name": "promote-datasets",
        "description": "Promote reviewed items into versioned datasets per each queue's promotion rules, and write "
        "the flagged reports.",
        "entrypoint": "flows/promote.py:promote_datasets",
        "cron": "50 * * * *",
    },
    {
        "name": "push-feedback",
        "description": "Write each queue's trusted consensus back to the runs' tracing tool as feedback (set `to` "
        "and its env vars).",
        "entrypoint": "flows/feedback.py:push_verdicts",
        "parameters": {"to": "phoenix"},
        "cron": "55 * * * *",
    },
]


def queue_deployment(queue: QueueConfig) -> dict[str, Any]:
    """The review-cycle deployment of one queue, on its schedule (none: run by hand only)."""
    out: dict[str, Any] = {
        "name": queue.name,
        "description": f"Sample, pre-score and publish a batch of the {queue.name} queue, on its file's schedule.",
        "entrypoint": REVIEW_CYCLE,
        "parameters": {"queue": queue.name},
    }
    if queue.schedule:
        out["cron"] = queue.schedule
    return out


def deployments(queues: Iterable[QueueConfig]) -> list[dict[str, Any]]:
    """Every deployment: name, description, entrypoint, and `parameters` and `cron` where it has them."""
    return [*deepcopy(FIXED), *(queue_deployment(q) for q in queues)]


def _prefect_entry(d: dict[str, Any]) -> dict[str, Any]:
    out = {k: d[k] for k in ("name", "description", "entrypoint", "parameters") if k in d}
    if "cron" in d:
        out["schedules"] = [{"cron": d["cron"], "timezone": TIMEZONE}]
    return out | {"concurrency_limit": 1, "work_pool": dict(WORK_POOL)}


def prefect_yaml(queues: Iterable[QueueConfig]) -> str:
    """`prefect.yaml` for these queues: a work pool per deployment, each run from the project folder."""
    document = {
        "name": "reviewdesk",
        "prefect-version": PREFECT_VERSION,
        "pull": [{"prefect.deployments.steps.set_working_directory": {"directory": "{{ $PWD }}"}}],
        "deployments": [_prefect_entry(d) for d in deployments(queues)],
    }
    return HEADER + yaml.safe_dump(document, sort_keys=False, width=120, allow_unicode=True)


def write_prefect_yaml(queues: Iterable[QueueConfig], path: Path) -> bool:
    """Write `prefect_yaml(queues)` to `path` whole; returns whether its content changed."""
    text = prefect_yaml(queues)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    write_text(path, text)
    return True


__all__ = ["FIXED", "deployments", "prefect_yaml", "queue_deployment", "write_prefect_yaml"]
