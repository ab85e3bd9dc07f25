"""Prefect flow: retrain the pre-scoring models of every queue that asks for them, nightly.

A thin shell over `reviewdesk.prescore.steps.train_step`, one retried task per single queue whose
`prescore.scorer` is sklearn (the default): a new model version per criterion whose consensus labels
changed since the last one; unchanged criteria are a no-op, so a rerun trains nothing. Queues train
one after the other: DuckDB allows one writer, and the deployment runs with concurrency 1.

Requires: REVIEWDESK_DATA_DIR, REVIEWDESK_QUEUES_DIR (optional; ./data and ./queues by default).
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from flows.retries import transient
from reviewdesk.config import Settings
from reviewdesk.prescore.steps import train_step
from reviewdesk.prescore.training import wants_models
from reviewdesk.queues import load_queues
from schemas.queue import QueueConfig


@task(retries=2, retry_delay_seconds=30, retry_condition_fn=transient)
def train(queue: QueueConfig, settings: Settings) -> list[dict]:
    """Train the queue's models; safe to retry (a version is registered only once its files are written)."""
    return [r.as_dict() for r in train_step(settings, queue)]


@flow(name="retrain-models")
def retrain_models(
    queues: list[str] | None = None, data_dir: str | None = None, queues_dir: str | None = None
) -> dict[str, list[dict]]:
    """Retrain every single queue's models on its consensus labels (or only `queues`)."""
    settings = Settings.load(data_dir, queues_dir)
    settings.ensure_dirs()
    chosen = [q for q in load_queues(settings.queues_dir) if wants_models(q) and q.name in (queues or [q.name])]
    results = {q.name: train(q, settings) for q in chosen}
    for name, criteria in results.items():
        for r in criteria:
            get_run_logger().info("%s/%s: %s %s; serving %s", name, r["criterion"], r["status"], r["reason"],
                                  r["serving"])  # fmt: skip
    return results
