"""Prefect flow: promote reviewed items into versioned datasets.

Declared now so that its deployment exists; promotion rules and dataset versions arrive with the
datasets issue, and until then a run only reports the batches that reviewers have been sent.

Requires: REVIEWDESK_DATA_DIR (optional).
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from reviewdesk.batches import list_batches
from reviewdesk.config import Settings
from reviewdesk.warehouse import Warehouse


@flow(name="promote-datasets")
def promote_datasets(data_dir: str | None = None) -> dict:
    """Report published batches (nothing is promoted before the datasets issue)."""
    settings = Settings.load(data_dir)
    with Warehouse(settings.warehouse_path) as wh:
        published = [b["batch_id"] for b in list_batches(wh) if b["published_at"] is not None]
    get_run_logger().info("%d published batches; no promotion rules exist yet", len(published))
    return {"published_batches": published, "promoted": 0}
