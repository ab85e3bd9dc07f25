"""OpenTelemetry GenAI spans as OTLP/JSON: `resourceSpans[].scopeSpans[].spans[]` with `gen_ai.*` attributes.

Reads JSONL of ExportTraceServiceRequest objects (what the Collector's file exporter writes) in a
stream, or a single pretty-printed request. Every span becomes a record, GenAI or not, so that no
part of a trace is silently dropped; spans that are not model calls get run_type 'chain'.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from reviewdesk.ingest.canonical import COLUMNS, INVALID_JSON
from reviewdesk.ingest.lines import Reject, read_lines
from reviewdesk.ingest.stage import Stage

BATCH = 20_000
MAX_DOCUMENT_BYTES = 256 << 20
LLM_OPERATIONS = {"chat", "text_completion", "generate_content"}
RUN_TYPES = {"execute_tool": "tool", "embeddings": "embedding", "invoke_agent": "chain", "create_agent": "chain"}
TAG_KEYS = ("tags", "app.tags")


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
    return {a["key"]: any_value(a.get("value", {})) for a in items}


def _json_attr(value: Any) -> Any:
    """GenAI message attributes are JSON encoded in a string."""
    if isinstance(value, str):
        try:
            return json.loads(value)
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
        n = int(nanos)
    except (TypeError, ValueError):
        return str(nanos)  # left for the typed stage to reject with its value
    return datetime.fromtimestamp(n // 1000 / 1e6, UTC).isoformat()


def span_to_run(span: dict, resource: dict[str, Any]) -> dict[str, Any]:
    """Map one span to canonical run values."""
    attrs = attributes(span.get("attributes", []))
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
    return {
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


def _is_jsonl(path: Path) -> bool:
    """A file whose first line is a whole JSON object is JSONL; anything else is one document."""
    with open(path, "rb") as f:
        first = f.readline(1 << 20).strip()
    try:
        return isinstance(json.loads(first.decode("utf-8-sig")), dict)
    except ValueError:
        return False


def _requests(path: Path, stage: Stage) -> Iterator[tuple[int | None, str, Any]]:
    """Yield (line_no, raw, parsed request); a pretty-printed file is one request from line 1."""
    if _is_jsonl(path):
        for chunk in read_lines(path):
            stage.reject(chunk.rejects)
            lines = zip(chunk.table["line_no"].to_pylist(), chunk.table["raw"].to_pylist(), strict=True)
            yield from ((n, raw, _parse(raw)) for n, raw in lines if raw.strip())
    elif path.stat().st_size > MAX_DOCUMENT_BYTES:
        reason = "a single OTLP/JSON document over 256 MiB; export it as JSONL, one request a line"
        stage.reject([Reject(None, "file", b"", reason)])
    else:
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            stage.reject([Reject(1, "file", data, f"not valid UTF-8 at byte {e.start}")])
            return
        if text.strip():
            yield 1, text, _parse(text)


def _parse(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as e:
        return e


def _records(path: Path, stage: Stage) -> Iterator[dict[str, Any]]:
    """One record per span, or per request line that holds no readable spans."""
    seq = 0
    for line_no, raw, request in _requests(path, stage):
        seq += 1
        if isinstance(request, Exception) or not isinstance(request, dict) or not isinstance(request.get("resourceSpans"), list):
            problem = f"{INVALID_JSON}: {request}" if isinstance(request, Exception) else "no resourceSpans list in this request"
            yield {"seq": seq, "line_no": line_no, "locator": f"line {line_no}", "raw": raw, "problem": problem}
            continue
        for i, rs in enumerate(request["resourceSpans"]):
            resource = attributes(rs.get("resource", {}).get("attributes", []))
            for j, ss in enumerate(rs.get("scopeSpans", [])):
                for k, span in enumerate(ss.get("spans", [])):
                    seq += 1
                    record = {"seq": seq, "line_no": line_no, "raw": json.dumps(span), "problem": None}
                    record["locator"] = f"line {line_no} resourceSpans[{i}].scopeSpans[{j}].spans[{k}]"
                    try:
                        run = span_to_run(span, resource)
                    except (AttributeError, TypeError, ValueError) as e:
                        record["problem"] = f"malformed span: {e}"
                        run = {}
                    yield record | {f"c_{c}": None if run.get(c) is None else json.dumps(run[c]) for c in COLUMNS}


def _table(records: list[dict]) -> pa.Table:
    names = ["seq", "line_no", "locator", "raw", "problem", *(f"c_{c}" for c in COLUMNS)]
    types = [pa.int64(), pa.int64(), *([pa.string()] * (len(names) - 2))]
    return pa.table({n: pa.array([r.get(n) for r in records], t) for n, t in zip(names, types, strict=True)})


RELATION = "SELECT seq, line_no, locator, raw, problem, " + ", ".join(f"c_{c}::JSON AS c_{c}" for c in COLUMNS) + " FROM spans"


def stage_file(path: Path, stage: Stage) -> None:
    """Stage the spans of an OTLP/JSON file in batches, keeping each span's raw JSON."""
    batch: list[dict] = []
    for record in _records(path, stage):
        batch.append(record)
        if len(batch) >= BATCH:
            stage.add(RELATION, keep_raw=True, spans=_table(batch))
            batch = []
    if batch:
        stage.add(RELATION, keep_raw=True, spans=_table(batch))
