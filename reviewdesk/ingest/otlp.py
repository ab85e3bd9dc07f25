"""OTLP protobuf messages (what the receiver keeps in inbox segments) in the OTLP/JSON shape `otel` reads.

The messages were decoded and checked by the receiver with the official `opentelemetry-proto`
classes; here they are walked field by field (faster than protobuf's generic JSON printer) into
the shape of the Collector's file exporter: hex ids, int64 as decimal strings, camelCase keys.
Trace and span ids are kept, so a verdict can later reach the span it came from.

GenAI instrumentations may put a call's messages on log records instead of the span (content
capture `EVENT_ONLY`, or the older per-message events). `log_messages` pulls those out, keyed by
span id, for the run of that span.
"""

from __future__ import annotations

import base64
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from reviewdesk.ingest.otel import attributes

SOURCE_ATTRIBUTE = "receiver.source"  # the receiver's name for the sender, kept in the run's metadata
DETAILS_EVENT = "gen_ai.client.inference.operation.details"
ROLE_EVENTS = {f"gen_ai.{role}.message": role for role in ("system", "user", "assistant", "tool")}
CHOICE_EVENT = "gen_ai.choice"


def any_value(v: AnyValue) -> dict[str, Any]:
    """An AnyValue in OTLP/JSON: int64 as a decimal string, bytes as base64."""
    kind = v.WhichOneof("value")
    if kind == "string_value":
        return {"stringValue": v.string_value}
    if kind == "int_value":
        return {"intValue": str(v.int_value)}
    if kind == "double_value":
        return {"doubleValue": v.double_value}
    if kind == "bool_value":
        return {"boolValue": v.bool_value}
    if kind == "array_value":
        return {"arrayValue": {"values": [any_value(x) for x in v.array_value.values]}}
    if kind == "kvlist_value":
        return {"kvlistValue": {"values": key_values(v.kvlist_value.values)}}
    if kind == "bytes_value":
        return {"bytesValue": base64.b64encode(v.bytes_value).decode("ascii")}
    return {}


def key_values(items: Any) -> list[dict[str, Any]]:
    """Repeated KeyValues in OTLP/JSON."""
    return [{"key": kv.key, "value": any_value(kv.value)} for kv in items]


def _span(span: Any, source: str) -> dict[str, Any]:
    found: dict[str, Any] = {
        "traceId": span.trace_id.hex(),
        "spanId": span.span_id.hex(),
        "name": span.name,
        "kind": span.kind,
        "startTimeUnixNano": str(span.start_time_unix_nano),
        "endTimeUnixNano": str(span.end_time_unix_nano),
        "attributes": [*key_values(span.attributes), {"key": SOURCE_ATTRIBUTE, "value": {"stringValue": source}}],
        "status": {"code": span.status.code, "message": span.status.message},
    }
    if span.parent_span_id:
        found["parentSpanId"] = span.parent_span_id.hex()
    if span.events:
        found["events"] = [
            {"name": e.name, "timeUnixNano": str(e.time_unix_nano), "attributes": key_values(e.attributes)}
            for e in span.events
        ]
    return found


def trace_request(payload: bytes, source: str) -> dict[str, Any]:
    """A stored ExportTraceServiceRequest as OTLP/JSON, each span tagged with the source that sent it."""
    request = ExportTraceServiceRequest.FromString(payload)
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": key_values(rs.resource.attributes)},
                "scopeSpans": [{"spans": [_span(s, source) for s in ss.spans]} for ss in rs.scope_spans],
            }
            for rs in request.resource_spans
        ]
    }


def _event_name(record: Any) -> str:
    if record.event_name:
        return record.event_name
    named = [kv.value.string_value for kv in record.attributes if kv.key == "event.name"]
    return named[0] if named else ""


def _decoded(items: list[KeyValue]) -> dict[str, Any]:
    return attributes(key_values(items))


def log_messages(payload: bytes) -> dict[str, dict[str, Any]]:
    """Span id (hex) -> {trace_id, inputs, outputs} from the GenAI log records of a stored logs request."""
    request = ExportLogsServiceRequest.FromString(payload)
    found: dict[str, dict[str, Any]] = {}
    for rl in request.resource_logs:
        for sl in rl.scope_logs:
            for record in sl.log_records:
                name = _event_name(record)
                if not record.span_id or not (name in (DETAILS_EVENT, CHOICE_EVENT) or name in ROLE_EVENTS):
                    continue
                entry = found.setdefault(record.span_id.hex(), {"trace_id": record.trace_id.hex() or None})
                if name == DETAILS_EVENT:
                    attrs = _decoded(list(record.attributes))
                    for key, side in (("gen_ai.input.messages", "inputs"), ("gen_ai.output.messages", "outputs")):
                        if key in attrs:
                            entry[side] = attrs[key]
                    continue
                body = attributes([{"key": "body", "value": any_value(record.body)}]).get("body")
                body = body if isinstance(body, dict) else {"content": body}
                if name == CHOICE_EVENT:
                    entry.setdefault("outputs", []).append(body.get("message", body))
                else:
                    entry.setdefault("inputs", []).append({"role": ROLE_EVENTS[name], **body})
    return found
