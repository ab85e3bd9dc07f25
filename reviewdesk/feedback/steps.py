"""One push of verdicts: every named queue (or every queue) to one target, as the flow and the CLI run it.

Opens the warehouse from `Settings`, makes the target once, and pushes queue after queue; safe to
repeat, since only new and changed verdicts are sent (see reviewdesk.feedback.delivery).
"""

from __future__ import annotations

from collections.abc import Sequence

from reviewdesk.config import Settings
from reviewdesk.feedback.delivery import PushResult, push_feedback
from reviewdesk.feedback.factory import get_target
from reviewdesk.stores.warehouse import Warehouse


def push_step(settings: Settings, queues: Sequence[str], to: str, url: str | None = None) -> list[PushResult]:
    """Push the trusted consensus of each queue to the target `to`; one result per queue."""
    target = get_target(to, url)
    try:
        with Warehouse(settings.warehouse_path, settings.memory_limit) as wh:
            return [push_feedback(wh, queue, target, settings.app_url) for queue in queues]
    finally:
        target.close()


__all__ = ["push_step"]
