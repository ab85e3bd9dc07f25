"""Prefect flow: promote reviewed items into versioned datasets, per each queue's promotion rules.

For every queue with a `promotion:` section (or the ones named), a new dataset version is written
only when its examples changed, an agreement gate may block a dataset (the result says why), and
the queue's flagged report for product owners is rewritten. Running it again changes nothing. A thin
shell over `reviewdesk.datasets.steps.promote_step`, run as one retried task.

Requires: REVIEWDESK_DATA_DIR (optional), REVIEWDESK_QUEUES_DIR (optional), REVIEWDESK_REVIEW_STORE_URL (optional).
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from flows.retries import transient
from reviewdesk.config import Settings
from reviewdesk.datasets.steps import promote_step
from reviewdesk.queues import get_queue, load_queues


@task(retries=3, retry_delay_seconds=10, retry_condition_fn=transient)
def promote_task(queues: list[str] | None, data_dir: str | None, queues_dir: str | None) -> list[dict]:
    """Promote the queues in one warehouse session (DuckDB has one writer); safe to retry: versions are
    written whole or not at all, and an unchanged dataset gets no new version."""
    settings = Settings.load(data_dir, queues_dir)
    configs = [get_queue(q, settings.queues_dir) for q in queues] if queues else load_queues(settings.queues_dir)
    return [r.as_dict() for r in promote_step(settings, configs)]


@flow(name="promote-datasets")
def promote_datasets(
    queues: list[str] | None = None, data_dir: str | None = None, queues_dir: str | None = None
) -> dict:
    """Promote every queue with promotion rules (or `queues`); report what each dataset got."""
    results = promote_task(queues, data_dir, queues_dir)
    datasets = [d for r in results for d in r["datasets"]]
    summary = {
        "promoted": results,
        "created": [f"{d['dataset']} v{d['version']}" for d in datasets if d["status"] == "created"],
        "blocked": {d["dataset"]: d["reason"] for d in datasets if d["status"] == "blocked"},
    }
    logger = get_run_logger()
    logger.info("new versions: %s", ", ".join(summary["created"]) or "none")
    for name, reason in summary["blocked"].items():
        logger.warning("%s blocked: %s", name, reason)
    return summary
