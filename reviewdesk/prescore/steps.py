"""One retraining cycle of a queue's pre-scoring models, on its consensus labels.

The step the nightly retrain-models flow runs as one retried task per queue, and the demo runs once
its simulated reviews are resolved. A criterion without new labels is a no-op, so a rerun trains nothing.
"""

from __future__ import annotations

from reviewdesk.config import Settings
from reviewdesk.prescore.training import TrainResult, train_queue
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig


def train_step(settings: Settings, queue: QueueConfig, seed: int = 0) -> list[TrainResult]:
    """Train a new model version per criterion of the queue whose consensus labels changed since the last one."""
    with Warehouse(settings.warehouse_path, memory_limit=settings.memory_limit) as wh:
        return train_queue(wh, queue, settings.models_dir, seed=seed)
