"""Pull spans from an Arize Phoenix server into `warehouse.runs`, after a watermark.

Phoenix's REST API lists a project's spans in insertion order (`GET /v1/projects/{project}/spans?sort=id
&order=asc`), each with a cursor of its own; the last one ingested is kept in `warehouse.pulls` and
advances in the same transaction as the runs it brought, so a pull never skips or repeats a span
(and a failed one leaves nothing behind). Each span is turned back into OTLP/JSON and staged by the
OpenTelemetry mapping (`reviewdesk.ingest.otel`), so a run keeps its trace and span ids (`run_id` is
the span id) and gets model, tokens and messages as a span sent straight to reviewdesk would, and a
malformed span is quarantined with its reason.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from reviewdesk.errors import ConfigError, InputFileError
from reviewdesk.ingest import otel
from reviewdesk.ingest.openinference import KIND
from reviewdesk.ingest.stage import IngestReport, Stage
from reviewdesk.stores.warehouse import Warehouse

PAGE = 1000  # the API's largest page
STATUS_CODES = {"UNSET": 0, "OK": 1, "ERROR": 2}
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def any_value(value: Any) -> dict:
    """A JSON value as an OTLP/JSON AnyValue (the inverse of `otel.any_value`; null is the empty AnyValue)."""
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": key_values(value)}}
    return {"stringValue": value if isinstance(value, str) else json.dumps(value)}


def key_values(attributes: dict[str, Any]) -> list[dict]:
    return [{"key": k, "value": any_value(v)} for k, v in attributes.items() if v is not None]


def _nanos(stamp: str | None) -> str | None:
    if not stamp:
        return None
    try:
        t = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return str(stamp)  # left for the typed stage to quarantine with its value
    return str(int(t.timestamp()) * 1_000_000_000 + t.microsecond * 1000)  # exact, unlike a float


def _event(event: dict) -> dict:
    return {"name": event.get("name"), "timeUnixNano": _nanos(event.get("timestamp")),
            "attributes": key_values(event.get("attributes") or {})}  # fmt: skip


def _attributes(span: dict) -> dict[str, Any]:
    """The span's attributes, with the OpenInference kind put back: Phoenix lists it apart (`span_kind`), and
    without it a tool or retriever span would read as a chain step. A GenAI span keeps its own semantics."""
    attrs = dict(span.get("attributes") or {})
    kind = span.get("span_kind")
    if kind and kind != "UNKNOWN" and not any(k.startswith("gen_ai.") for k in attrs):
        attrs.setdefault(KIND, kind)
    return attrs


def otlp_span(span: dict) -> dict:
    """One span of Phoenix's REST API (`Span`) as an OTLP/JSON span."""
    context = span.get("context") or {}
    return {
        "traceId": context.get("trace_id"),
        "spanId": context.get("span_id"),
        "parentSpanId": span.get("parent_id") or "",
        "name": span.get("name"),
        "startTimeUnixNano": _nanos(span.get("start_time")),
        "endTimeUnixNano": _nanos(span.get("end_time")),
        "attributes": key_values(_attributes(span)),
        "events": [_event(e) for e in span.get("events") or []],
        "status": {"code": STATUS_CODES.get(span.get("status_code"), 0), "message": span.get("status_message") or ""},
    }


def source_name(url: str, project: str) -> str:
    """The pull's name in `ingests` and `pulls`: the server and the project."""
    return f"phoenix:{url.rstrip('/')}/projects/{project}"


def watermark(wh: Warehouse, source: str) -> str | None:
    """The cursor of the last span ingested from `source`, if any."""
    return wh.scalar("SELECT cursor FROM pulls WHERE source = ?", [source])


def _page(response: httpx.Response) -> dict:
    """A page of spans as Phoenix documents it (`SpansResponseBody`), or an InputFileError saying what came."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not (isinstance(body, dict) and isinstance(body.get("data"), list)
            and all(isinstance(s, dict) and s.get("id") for s in body["data"])):  # fmt: skip
        raise InputFileError(f"{response.url} did not answer with a page of spans ({response.text[:200]!r}): "
                             "is it a Phoenix server? Nothing was ingested.")  # fmt: skip
    return body


def pages(client: httpx.Client, project: str, after: str | None, page: int = PAGE) -> Iterator[tuple[list[dict], str]]:
    """Pages of spans inserted after the span `after` (its cursor), oldest first, each with its last cursor."""
    cursor = after
    path = f"/v1/projects/{quote(project, safe='')}/spans"
    while True:
        params = {"sort": "id", "order": "asc", "limit": page, **({"cursor": cursor} if cursor else {})}
        response = client.get(path, params=params)
        if response.status_code == 404:
            raise ConfigError(f"Phoenix has no project {project!r} at {client.base_url}: check --project.")
        response.raise_for_status()
        body = _page(response)
        spans = [s for s in body["data"] if s.get("id") != after]  # the cursor is inclusive
        if spans:
            yield spans, spans[-1]["id"]
        cursor = body.get("next_cursor")
        if not cursor:
            return


def pull_phoenix(
    wh: Warehouse,
    url: str,
    project: str,
    api_key: str | None = None,
    client: httpx.Client | None = None,
    page: int = PAGE,
) -> IngestReport:
    """Ingest the project's spans added since the last pull, in one transaction with the new watermark."""
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"Not a Phoenix URL: {url!r}. Give the server's address, e.g. http://127.0.0.1:6006.")
    source = source_name(url, project)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    own = client is None
    client = client or httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=TIMEOUT)
    try:
        with tempfile.TemporaryDirectory(prefix="reviewdesk-phoenix-") as tmp:
            path = Path(tmp) / "spans.jsonl"
            cursor, count = _download(client, project, watermark(wh, source), path, page)
            with Stage(wh, source, "otel") as stage:
                otel.stage_file(path, stage)
                if count:
                    wh.execute(
                        """INSERT INTO pulls VALUES (?, ?, ?, now()) ON CONFLICT (source) DO UPDATE
                           SET cursor = excluded.cursor, spans = pulls.spans + excluded.spans,
                               updated_at = excluded.updated_at""",
                        [source, cursor, count],
                    )
            return stage.report
    except httpx.HTTPError as e:
        raise InputFileError(f"Cannot read spans from Phoenix at {url}: {e}. Check the URL and that it is up.") from e
    finally:
        if own:
            client.close()


def _download(client: httpx.Client, project: str, after: str | None, path: Path, page: int) -> tuple[str | None, int]:
    """Write the new spans to `path` as OTLP/JSON, one request a page; the last cursor and the span count."""
    cursor, count = after, 0
    with path.open("w", encoding="utf-8") as out:
        for spans, last in pages(client, project, after, page):
            request = {"resourceSpans": [{
                "resource": {"attributes": key_values({"service.name": project})},
                "scopeSpans": [{"scope": {"name": "phoenix"}, "spans": [otlp_span(s) for s in spans]}],
            }]}  # fmt: skip
            out.write(json.dumps(request) + "\n")
            cursor, count = last, count + len(spans)
    return cursor, count


__all__ = ["any_value", "otlp_span", "pull_phoenix", "source_name", "watermark"]
