"""Verdicts as Langfuse scores, through Langfuse's own SDK (its API client, `langfuse.api.LangfuseAPI`).

A score carries the verdict's id, and Langfuse updates a score sent again with the same id and the
same timestamp, so every push of a verdict sends the time of its first attempt: a rerun or a changed
consensus updates the one score. `Langfuse.create_score` sends the same request from a background
queue and only logs failures; the push calls the endpoint underneath it (`scores.create`) so that it
knows, per verdict, whether the score was taken. The score goes on the run's observation (its span id)
in its trace; a run without a trace id cannot carry one.
"""

from __future__ import annotations

from reviewdesk.feedback.contracts import Delivery, PushFailed, Run, Verdict, transient_status


class LangfuseTarget:
    """Scores on a Langfuse project at `host`, with its public and secret keys."""

    name = "langfuse"

    def __init__(self, host: str, public_key: str, secret_key: str, timeout: float = 30.0) -> None:
        import httpx
        from langfuse import __version__
        from langfuse.api import LangfuseAPI

        self.http = httpx.Client(timeout=timeout)
        self.api = LangfuseAPI(
            base_url=host.rstrip("/"), username=public_key, password=secret_key, x_langfuse_public_key=public_key,
            x_langfuse_sdk_name="python", x_langfuse_sdk_version=__version__, httpx_client=self.http,
        )  # fmt: skip

    def address(self, run: Run) -> str | None:
        return None if run.trace_id else f"run {run.run_id} has no trace id: Langfuse scores traces and observations"

    def send(self, verdict: Verdict, delivery: Delivery) -> None:
        import httpx
        from langfuse.api.core import ApiError
        from langfuse.api.scores.types.create_score_batch_results import CreateScoreBatchResults
        from langfuse.api.scores.types.create_score_request import CreateScoreRequest

        run = verdict.run
        score = CreateScoreRequest(
            id=verdict.id, trace_id=run.trace_id, observation_id=run.run_id if run.run_id != run.trace_id else None,
            name=verdict.criterion, value=verdict.label if verdict.kind == "CATEGORICAL" else verdict.score,
            data_type=verdict.kind, comment=verdict.comment, metadata=verdict.metadata,
            timestamp=delivery.first_attempt_at,
        )  # fmt: skip
        try:
            answer = self.api.scores.create(request=[score], request_options={"max_retries": 0})
        except ApiError as e:
            raise PushFailed(f"Langfuse answered {e.status_code}: {e.body}", transient_status(e.status_code)) from e
        except httpx.HTTPError as e:
            raise PushFailed(f"Langfuse could not be reached: {e}", retry=True) from e
        if isinstance(answer, CreateScoreBatchResults) and answer.rejected:
            reasons = "; ".join(err.message for err in answer.errors) or "no reason given"
            raise PushFailed(f"Langfuse rejected the score: {reasons}", retry=False)

    def close(self) -> None:
        self.http.close()


__all__ = ["LangfuseTarget"]
