"""Verdicts as Arize Phoenix span annotations, through Phoenix's own client (`arize-phoenix-client`).

An annotation is keyed by (name, span_id, identifier) and Phoenix updates the one it has under the
same key, so the verdict's id as `identifier` makes a push idempotent and a changed consensus an
update. The annotation is `HUMAN`, named after the criterion, with the label and/or score, the
consensus sentence as explanation and the verdict's details as metadata. Each call is synchronous
(`sync=True`): Phoenix answers once the annotation is stored.
"""

from __future__ import annotations

import re

import httpx

from reviewdesk.feedback.contracts import Delivery, PushFailed, Run, Verdict, transient_status

SPAN_ID = re.compile(r"[0-9a-f]{16}")


def annotation(v: Verdict) -> dict:
    """The verdict as Phoenix's `SpanAnnotationData`."""
    return {
        "name": v.criterion, "span_id": v.run.run_id, "annotator_kind": "HUMAN", "identifier": v.id,
        "result": {"label": v.label, "score": v.score, "explanation": v.comment}, "metadata": v.metadata,
    }  # fmt: skip


class PhoenixTarget:
    """Span annotations on a Phoenix server at `url` (PHOENIX_API_KEY when auth is on)."""

    name = "phoenix"

    def __init__(self, url: str, api_key: str | None = None, timeout: float = 30.0) -> None:
        from phoenix.client import Client

        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)
        self.client = Client(http_client=self.http)

    def address(self, run: Run) -> str | None:
        if SPAN_ID.fullmatch(run.run_id or ""):
            return None
        return f"run {run.run_id} is not an OpenTelemetry span id (16 hex digits): Phoenix annotates spans"

    def send(self, verdict: Verdict, delivery: Delivery) -> None:
        try:
            self.client.spans.log_span_annotations(span_annotations=[annotation(verdict)], sync=True)
        except httpx.HTTPStatusError as e:
            status = e.response.status_code
            raise PushFailed(f"Phoenix answered {status}: {e.response.text[:300]}", transient_status(status)) from e
        except httpx.HTTPError as e:
            raise PushFailed(f"Phoenix could not be reached: {e}", retry=True) from e

    def close(self) -> None:
        self.http.close()


__all__ = ["PhoenixTarget", "annotation"]
