"""Verdicts as LangSmith feedback, through LangSmith's own SDK (`langsmith.Client`).

The first push creates the feedback with the verdict's id (`create_feedback(feedback_id=...)`); a
changed consensus updates that feedback (`update_feedback`), and a create that finds the id taken (a
push cut short after LangSmith stored it) updates it instead, so there is never a second one. Only
runs with LangSmith run ids (UUIDs) can carry it. The client is made without background batching or
retries of its own, so each call returns once LangSmith answered and the push counts every attempt;
the project id is sent when the run's project is one.
"""

from __future__ import annotations

import uuid
from typing import Any

from reviewdesk.feedback.contracts import Delivery, PushFailed, Run, Verdict


def _uuid(value: str | None) -> str | None:
    try:
        return str(uuid.UUID(value)) if value else None
    except ValueError:
        return None


class LangSmithTarget:
    """Feedback on LangSmith runs, at `api_url` with `api_key`."""

    name = "langsmith"

    def __init__(self, api_url: str, api_key: str, timeout: float = 30.0) -> None:
        from langsmith import Client
        from urllib3.util.retry import Retry

        # No retries inside the SDK's session: the push retries with backoff and counts each attempt.
        self.client = Client(api_url=api_url, api_key=api_key, auto_batch_tracing=False, timeout_ms=int(timeout * 1000),
                             retry_config=Retry(total=0, raise_on_status=False, raise_on_redirect=False))  # fmt: skip

    def address(self, run: Run) -> str | None:
        return None if _uuid(run.run_id) else f"run {run.run_id} is not a LangSmith run id (a UUID)"

    def send(self, verdict: Verdict, delivery: Delivery) -> None:
        from langsmith import utils

        fields: dict[str, Any] = {"score": verdict.score, "value": verdict.label, "comment": verdict.comment}
        try:
            if delivery.delivered:
                self.client.update_feedback(verdict.id, **fields)
                return
            try:
                self.client.create_feedback(
                    run_id=verdict.run.run_id, key=verdict.criterion, trace_id=_uuid(verdict.run.trace_id),
                    session_id=_uuid(verdict.run.project), feedback_id=verdict.id, source_info=verdict.metadata,
                    feedback_source_type="api", stop_after_attempt=1, **fields,
                )  # fmt: skip
            except utils.LangSmithConflictError:
                self.client.update_feedback(verdict.id, **fields)
        except (utils.LangSmithAPIError, utils.LangSmithRateLimitError, utils.LangSmithConnectionError,
                utils.LangSmithRequestTimeout) as e:  # fmt: skip
            raise PushFailed(f"LangSmith: {e}", retry=True) from e
        except (utils.LangSmithError, ValueError) as e:
            raise PushFailed(f"LangSmith refused it: {e}", retry=False) from e

    def close(self) -> None:
        self.client.close()


__all__ = ["LangSmithTarget"]
