"""Prefect flow: write each queue's trusted consensus back to the runs' tracing tool, as feedback.

A thin shell over `reviewdesk.feedback.steps.push_step`, run as one retried task. Only new and
changed verdicts are sent, under fixed ids, so a run after a failure or a retry adds nothing twice;
verdicts a tool refused stay recorded in `warehouse.feedback_pushes` and are tried again next run.

Requires: the target's own env vars (LangSmith: LANGSMITH_API_KEY, LANGSMITH_ENDPOINT; Langfuse:
LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY, LANGFUSE_HOST; Phoenix: PHOENIX_COLLECTOR_ENDPOINT,
PHOENIX_API_KEY), REVIEWDESK_APP_URL (links back to items), REVIEWDESK_DATA_DIR and
REVIEWDESK_QUEUES_DIR (optional).
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from flows.retries import transient
from reviewdesk.config import Settings
from reviewdesk.feedback.steps import push_step
from reviewdesk.queues import load_queues


@task(retries=3, retry_delay_seconds=10, retry_condition_fn=transient)
def push_task(
    to: str, queues: list[str] | None, url: str | None, data_dir: str | None, queues_dir: str | None
) -> list[dict]:
    """Push every queue (or `queues`) in one warehouse session; safe to retry: only unsent verdicts go."""
    settings = Settings.load(data_dir, queues_dir)
    names = queues or [q.name for q in load_queues(settings.queues_dir)]
    return [r.as_dict() for r in push_step(settings, names, to, url)]


@flow(name="push-feedback")
def push_verdicts(
    to: str,
    queues: list[str] | None = None,
    url: str | None = None,
    data_dir: str | None = None,
    queues_dir: str | None = None,
) -> dict:
    """Send new and changed verdicts of every queue (or `queues`) to `to`: langsmith, langfuse or phoenix."""
    results = push_task(to, queues, url, data_dir, queues_dir)
    logger = get_run_logger()
    for r in results:
        logger.info("%s -> %s: %d created, %d updated, %d unchanged, %d failed, %d unaddressable, %d runs gone",
                    r["queue"], to, r["created"], r["updated"], r["unchanged"], r["failed"], r["unaddressable"],
                    r["runs_gone"])  # fmt: skip
        if r["failed"]:
            logger.warning("%s: %d verdicts failed (recorded; the next run tries them again): %s", r["queue"],
                           r["failed"], r["failures"][:3])  # fmt: skip
    return {"to": to, "pushed": results, "failed": sum(r["failed"] for r in results)}
