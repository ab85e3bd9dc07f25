"""Turn an OTLP/HTTP request body into a checked OTLP message, or into the status code that refuses it.

Bodies are decoded with the official `opentelemetry-proto` messages, never by hand. OTLP/JSON
differs from protobuf's JSON mapping in one place, ids: they are hex, not base64, so they are
converted before parsing. gzip is inflated in bounded steps, so a small bomb is refused (413)
after at most the size limit, never inflated whole. Spans (and log records) with ids of the
wrong length are dropped and reported as a partial success, as the OTLP spec asks.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from reviewdesk.receive.segments import LOGS, TRACES

PROTOBUF, JSON = "application/x-protobuf", "application/json"
REQUESTS: dict[int, type[Message]] = {
    TRACES: trace_service_pb2.ExportTraceServiceRequest,
    LOGS: logs_service_pb2.ExportLogsServiceRequest,
}
ID_KEYS = {"traceId": 16, "spanId": 8, "parentSpanId": 8}
MAX_GZIP_MEMBERS = 64


class Refused(Exception):
    """A request refused as a whole, with its HTTP status code."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Decoded:
    """A checked request: the message to keep, how many items it held, and how many were dropped and why."""

    message: Message
    accepted: int
    rejected: int = 0
    error: str = ""
    body: bytes = b""  # the inflated body

    def payload(self) -> bytes:
        """The protobuf bytes to keep: the body itself when it is protobuf and nothing was dropped."""
        if self.body and not self.rejected:
            return self.body
        return self.message.SerializeToString()


def media_type(content_type: str | None) -> str:
    """The OTLP encoding named by a Content-Type header (parameters ignored); 415 for anything else."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in (PROTOBUF, JSON):
        raise Refused(415, f"Content-Type {kind or '(none)'!r} is not supported: send {PROTOBUF} or {JSON}.")
    return kind


def inflate(body: bytes, encoding: str | None, limit: int) -> bytes:
    """The body with its Content-Encoding undone, refusing (413) anything that inflates past `limit`."""
    encoding = (encoding or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding != "gzip":
        raise Refused(415, f"Content-Encoding {encoding!r} is not supported: send gzip or none.")
    data, rest, members = bytearray(), body, 0
    while rest:  # gzip may hold several members, one after another (RFC 1952)
        members += 1
        if members > MAX_GZIP_MEMBERS:
            raise Refused(400, f"The gzip body has over {MAX_GZIP_MEMBERS} members: send one.")
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            data += inflater.decompress(rest, limit + 1 - len(data))  # never more than the limit allows
        except zlib.error as e:
            raise Refused(400, f"The gzip body is damaged: {e}.") from None
        if len(data) > limit or inflater.unconsumed_tail:
            raise Refused(413, f"The body inflates past the {limit:,}-byte limit: send smaller batches.")
        if not inflater.eof:
            raise Refused(400, "The gzip body is truncated.")
        rest = inflater.unused_data
    return bytes(data)


def _hex_ids_to_base64(value: Any) -> Any:
    """OTLP/JSON's hex ids, as protobuf's JSON parser expects bytes: base64 (a bad id is left to fail)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in ID_KEYS and isinstance(item, str):
                try:
                    item = base64.b64encode(bytes.fromhex(item)).decode("ascii")
                except ValueError:
                    raise Refused(400, f"{key} {item[:40]!r} is not hex.") from None
            out[key] = _hex_ids_to_base64(item)
        return out
    if isinstance(value, list):
        return [_hex_ids_to_base64(v) for v in value]
    return value


def parse(kind: int, body: bytes, media: str) -> Message:
    """The OTLP request message of `body`; 400 with the parser's reason when it does not decode."""
    message = REQUESTS[kind]()
    try:
        if media == PROTOBUF:
            message.ParseFromString(body)
        else:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise Refused(400, "The JSON body is not an object.")
            json_format.ParseDict(_hex_ids_to_base64(data), message, ignore_unknown_fields=True)
    except (DecodeError, json_format.ParseError, ValueError, RecursionError, binascii.Error) as e:
        reason = str(e)[:200] or type(e).__name__
        raise Refused(400, f"The body is not a valid OTLP {media} request: {reason}.") from None
    return message


def _bad_ids(item: Any, required: bool) -> str | None:
    """Why an item's ids are unusable, or None; ids are all-zero or absent only where optional."""
    trace, span = item.trace_id, item.span_id
    if not required and not trace and not span:
        return None
    if len(trace) != 16 or trace == bytes(16):
        return f"trace_id must be 16 bytes, not all zero (got {len(trace)} bytes)"
    if len(span) != 8 or span == bytes(8):
        return f"span_id must be 8 bytes, not all zero (got {len(span)} bytes)"
    parent = getattr(item, "parent_span_id", b"")
    if parent and len(parent) != 8:
        return f"parent_span_id must be 8 bytes (got {len(parent)})"
    return None


def check(kind: int, message: Message) -> Decoded:
    """Drop the spans (or log records) whose ids are unusable; count what is kept and what is not."""
    kept = rejected = 0
    first_error = ""
    traces = kind == TRACES
    for resource in message.resource_spans if traces else message.resource_logs:
        for scope in resource.scope_spans if traces else resource.scope_logs:
            items = scope.spans if traces else scope.log_records
            bad = [i for i, item in enumerate(items) if _bad_ids(item, traces)]
            if bad:
                first_error = first_error or f"{_bad_ids(items[bad[0]], traces)}; such items were dropped"
                for i in reversed(bad):
                    del items[i]
            kept += len(items)
            rejected += len(bad)
    return Decoded(message, kept, rejected, first_error)


def decode(kind: int, body: bytes, content_type: str | None, encoding: str | None, limit: int) -> Decoded:
    """Decode, parse and check one request body."""
    media = media_type(content_type)
    body = inflate(body, encoding, limit)
    decoded = check(kind, parse(kind, body, media))
    decoded.body = body if media == PROTOBUF else b""
    return decoded


def response_body(kind: int, decoded: Decoded, media: str) -> bytes:
    """The Export*ServiceResponse, with partial_success when something was dropped, in the request's encoding."""
    if kind == TRACES:
        response: Message = trace_service_pb2.ExportTraceServiceResponse()
        if decoded.rejected:
            response.partial_success.rejected_spans = decoded.rejected
    else:
        response = logs_service_pb2.ExportLogsServiceResponse()
        if decoded.rejected:
            response.partial_success.rejected_log_records = decoded.rejected
    if decoded.rejected:
        response.partial_success.error_message = decoded.error
    return _encode(response, media)


def status_body(code: int, message: str, media: str) -> bytes:
    """The google.rpc.Status body that OTLP/HTTP sends with every 4xx and 5xx answer."""
    grpc_codes = {400: 3, 401: 16, 403: 7, 413: 8, 415: 3, 429: 8, 503: 14}  # the nearest gRPC status codes
    return _encode(status_pb2.Status(code=grpc_codes.get(code, 2), message=message), media)


def _encode(message: Message, media: str) -> bytes:
    if media == JSON:
        return json.dumps(json_format.MessageToDict(message)).encode("utf-8")
    return message.SerializeToString()
