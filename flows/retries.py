"""When a flow's task is retried: only for failures that can pass by themselves."""

from __future__ import annotations

from reviewdesk.errors import WarehouseLocked


def transient(task, task_run, state) -> bool:
    """The warehouse held by another process, or an OS-level hiccup (a file still being written)."""
    try:
        state.result()
    except (WarehouseLocked, OSError):
        return True
    except Exception:
        return False
    return False
