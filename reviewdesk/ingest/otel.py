"""OpenTelemetry GenAI spans as OTLP/JSON: `resourceSpans[].scopeSpans[].spans[]` with `gen_ai.*` attributes.

Reads JSONL of ExportTraceServiceRequest objects (what the Collector's file exporter writes) in a
stream, or a single pretty-printed request. Every span becomes a record, GenAI or not, so that no
part of a trace is silently dropped; spans that are not model calls get run_type 'chain'.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from reviewdesk.ingest import lines
from reviewdesk.ingest.canonical import COLUMNS, INVALID_JSON, NOT_AN_OBJECT
from reviewdesk.ingest.lines import Reject, read_lines
from reviewdesk.ingest.openinference import is_openinference, openinference_fields
from reviewdesk.ingest.stage import Stage
from reviewdesk.stores.payloads import json_depth, too_deep

BATCH = 20_000
MAX_DOCUMENT_BYTES = 256 << 20
LLM_OPERATIONS = {"chat", "text_completion", "generate_content"}
RUN_TYPES = {"execute_tool": "tool", "embeddings": "embedding", "invoke_agent": "chain", "create_agent": "chain"}
TAG_KEYS = ("tags", "app.tags")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Request = tuple[int | None, str, str, Any]  # line number, locator, raw text, the parsed request (or its error)
MALFORMED = (AttributeError, LookupError, TypeError, ValueError)  # what a span of the wrong shape raises


def _malformed(e: Exception) -> str:
    return f"missing key {e}" if isinstance(e, KeyError) else str(e)


def any_value(v: dict) -> Any:
    """Decode an OTLP AnyValue; int64 arrives as a decimal string in OTLP/JSON."""
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        return int(v["intValue"])
    if "doubleValue" in v:
        return float(v["doubleValue"])
    if "boolValue" in v:
        return bool(v["boolValue"])
    if "arrayValue" in v:
        return [any_value(x) for x in v["arrayValue"].get("values", [])]
    if "kvlistValue" in v:
        return attributes(v["kvlistValue"].get("values", []))
    return v.get("bytesValue")


def attributes(items: list[dict]) -> dict[str, Any]:
    """Decode OTLP KeyValues; a value that cannot be decoded names its key in the error."""
    found = {}
    for a in items:
        key = a["key"]
        try:
            found[key] = any_value(a.get("value", {}))
        except MALFORMED as e:
            raise ValueError(f"attribute {key}: {_malformed(e)}") from e
    return found


def _json_attr(value: Any) -> Any:
    """GenAI message attributes are JSON encoded in a string (one too deep to parse makes the span malformed)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except RecursionError:
            raise ValueError(f"a JSON attribute {too_deep(json_depth(value))}") from None
        except ValueError:
            return value
    return value


def _indexed_messages(attrs: dict[str, Any], prefix: str) -> list[dict]:
    """OpenLLMetry-style flattened messages: `gen_ai.prompt.0.role`, `gen_ai.prompt.0.content`, ..."""
    found: dict[int, dict] = {}
    for key, value in attrs.items():
        if key.startswith(prefix):
            index, _, field = key[len(prefix) :].partition(".")
            if index.isdigit() and field:
                found.setdefault(int(index), {})[field] = value
    return [found[i] for i in sorted(found)]


def _messages(attrs: dict[str, Any], events: list[dict], side: str) -> Any:
    """Prompt or completion from the current attribute, the older span events, or indexed attributes."""
    current = "gen_ai.input.messages" if side == "prompt" else "gen_ai.output.messages"
    if current in attrs:
        return _json_attr(attrs[current])
    for event in events:
        if event.get("name") == f"gen_ai.content.{side}":
            return _json_attr(attributes(event.get("attributes", [])).get(f"gen_ai.{side}"))
    return _indexed_messages(attrs, f"gen_ai.{side}.") or None


def _time(nanos: Any) -> str | None:
    if nanos in (None, "", "0", 0):
        return None
    try:
        return (EPOCH + timedelta(microseconds=int(nanos) // 1000)).isoformat()  # exact, unlike a float
    except (TypeError, ValueError, OverflowError):
        return str(nanos)  # left for the typed stage to reject with its value


def span_to_run(span: dict, resource: dict[str, Any]) -> dict[str, Any]:
    """Map one span to canonical run values."""
    attrs = attributes(_as_list(_as_object(span).get("attributes", []), "attributes"))
    events = span.get("events", [])
    op = attrs.get("gen_ai.operation.name")
    is_genai = any(k.startswith("gen_ai.") for k in attrs)
    run_type = RUN_TYPES.get(op, "llm" if op in LLM_OPERATIONS or (is_genai and op is None) else "chain")
    status = span.get("status", {})
    failed = status.get("code") in (2, "STATUS_CODE_ERROR")
    inputs, outputs = _messages(attrs, events, "prompt"), _messages(attrs, events, "completion")
    if run_type == "tool":
        inputs = _json_attr(attrs.get("gen_ai.tool.call.arguments", inputs))
        outputs = _json_attr(attrs.get("gen_ai.tool.call.result", outputs))
    run = {
        "run_id": span.get("spanId"),
        "trace_id": span.get("traceId"),
        "parent_run_id": span.get("parentSpanId") or None,
        "session_id": attrs.get("gen_ai.conversation.id", attrs.get("session.id")),
        "project": resource.get("service.name"),
        "name": span.get("name"),
        "run_type": run_type,
        "model": attrs.get("gen_ai.response.model", attrs.get("gen_ai.request.model")),
        "start_time": _time(span.get("startTimeUnixNano")),
        "end_time": _time(span.get("endTimeUnixNano")),
        "prompt_tokens": attrs.get("gen_ai.usage.input_tokens", attrs.get("gen_ai.usage.prompt_tokens")),
        "completion_tokens": attrs.get("gen_ai.usage.output_tokens", attrs.get("gen_ai.usage.completion_tokens")),
        "status": "error" if failed else "success",
        "error": (status.get("message") or attrs.get("error.type") or "error") if failed else None,
        "inputs": {"messages": inputs} if isinstance(inputs, list) else inputs,
        "outputs": {"messages": outputs} if isinstance(outputs, list) else outputs,
        "tags": next((attrs[k] for k in TAG_KEYS if k in attrs), None),
        "metadata": {
            **{k: v for k, v in attrs.items() if not k.startswith("gen_ai.") and k not in TAG_KEYS},
            "otel.resource": resource,
        },
    }
    if not is_genai and is_openinference(attrs):
        fields = openinference_fields(attrs)
        run.update(fields, metadata={**fields["metadata"], "otel.resource": resource})
    return run


def _is_jsonl(path: Path) -> bool:
    """JSONL unless the file is one pretty-printed document.

    A JSONL file's first non-blank line is a whole JSON value or, when damaged, is followed by a
    line that opens the next request; a pretty-printed document's second line is inside the first.
    """
    found: list[bytes] = []
    with open(path, "rb") as f:
        while len(found) < 2 and (line := f.readline(lines.MAX_LINE_BYTES + 1)):
            line = line.removeprefix(b"\xef\xbb\xbf") if not found else line
            if line.strip():
                found.append(line)
    if not found or len(found[0]) > lines.MAX_LINE_BYTES:
        return True
    try:
        json.loads(found[0])
        return True
    except RecursionError:  # a whole value, nested too deeply: quarantined as such
        return True
    except ValueError:
        return len(found) > 1 and found[1].startswith(b"{")


def _requests(path: Path, stage: Stage) -> Iterator[Request]:
    """Yield (line_no, locator, raw, parsed request) per request: a line of JSONL, or the whole document."""
    if _is_jsonl(path):
        for chunk in read_lines(path):
            stage.reject(chunk.rejects)
            rows = zip(chunk.table["line_no"].to_pylist(), chunk.table["raw"].to_pylist(), strict=True)
            yield from ((n, f"line {n}", raw, _parse(raw)) for n, raw in rows if raw.strip())
        return
    data = path.read_bytes() if path.stat().st_size <= MAX_DOCUMENT_BYTES else None
    if data is None:
        with open(path, "rb") as f:
            prefix = f.read(lines.KEPT_PREFIX)
        reason = "a single OTLP/JSON document over 256 MiB; export it as JSONL, one request a line"
        stage.reject([Reject(None, "file", prefix, reason)])
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        stage.reject([Reject(None, "file", data, f"not valid UTF-8 at byte {e.start} of the file")])
        return
    if text.strip():
        yield None, "file", text, _parse(text)


def _parse(raw: str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as e:
        return e


def _as_list(value: Any, name: str) -> list:
    if not isinstance(value, list):
        raise TypeError(f"{name} is {type(value).__name__}, not a list")
    return value


def _as_object(value: Any) -> dict:
    if not isinstance(value, dict):
        raise TypeError(f"{type(value).__name__}, not an object")
    return value


def _spans(request: dict, prefix: str) -> Iterator[tuple[str, Any, dict[str, Any] | None, str | None]]:
    """(locator, span, resource attributes, problem) per span; a malformed level is one record, whole."""
    for i, rs in enumerate(request["resourceSpans"]):
        where = f"{prefix}resourceSpans[{i}]"
        try:
            resource = attributes(_as_list(_as_object(rs).get("resource", {}).get("attributes", []), "attributes"))
            scopes = _as_list(rs.get("scopeSpans", []), "scopeSpans")
        except MALFORMED as e:
            yield where, rs, None, f"malformed resourceSpans[{i}]: {_malformed(e)}"
            continue
        for j, ss in enumerate(scopes):
            try:
                spans = _as_list(_as_object(ss).get("spans", []), "spans")
            except MALFORMED as e:
                yield f"{where}.scopeSpans[{j}]", ss, None, f"malformed scopeSpans[{j}]: {_malformed(e)}"
                continue
            for k, span in enumerate(spans):
                yield f"{where}.scopeSpans[{j}].spans[{k}]", span, resource, None


def _records(requests: Iterable[Request]) -> Iterator[dict[str, Any]]:
    """One record per span, or per request (or part of one) that holds no readable spans."""
    seq = 0
    for line_no, at, raw, request in requests:
        seq += 1
        if not isinstance(request, dict) or not isinstance(request.get("resourceSpans"), list):
            problem = "no resourceSpans list" if isinstance(request, dict) else NOT_AN_OBJECT
            if isinstance(request, RecursionError):
                problem = too_deep(json_depth(raw))
            elif isinstance(request, Exception):
                problem = INVALID_JSON  # Stage adds the parser's message
            yield {"seq": seq, "line_no": line_no, "locator": at, "raw": raw, "problem": problem}
            continue
        for locator, span, resource, problem in _spans(request, "" if line_no is None else f"{at} "):
            seq += 1
            record = {"seq": seq, "line_no": line_no, "locator": locator, "raw": json.dumps(span), "problem": problem}
            if problem is None:
                try:
                    run = span_to_run(span, resource or {})
                    record["canon"] = json.dumps({c: run[c] for c in COLUMNS if run.get(c) is not None})
                except MALFORMED as e:
                    record["problem"] = f"malformed span: {_malformed(e)}"
            yield record


def _table(records: list[dict]) -> pa.Table:
    names = ["seq", "line_no", "locator", "raw", "problem", "canon"]
    types = [pa.int64(), pa.int64(), *([pa.string()] * (len(names) - 2))]
    return pa.table({n: pa.array([r.get(n) for r in records], t) for n, t in zip(names, types, strict=True)})


# The canonical record as one JSON object, the shape `staged_select` types like a native line.
RELATION = "SELECT seq, line_no, locator, raw, problem, canon FROM spans"


def stage_file(path: Path, stage: Stage) -> None:
    """Stage the spans of an OTLP/JSON file in batches, keeping each span's raw JSON."""
    stage_requests(_requests(path, stage), stage)


def stage_requests(requests: Iterable[Request], stage: Stage) -> None:
    """Stage the spans of OTLP/JSON-shaped requests in batches (a file's, or an inbox segment's)."""
    batch: list[dict] = []
    for record in _records(requests):
        batch.append(record)
        if len(batch) >= BATCH:
            stage.add(RELATION, spans=_table(batch))
            batch = []
    if batch:
        stage.add(RELATION, spans=_table(batch))
