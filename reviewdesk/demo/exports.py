"""Demo runs written as log files: native (JSONL, Parquet, CSV), a LangSmith export or OTLP/JSON.

Each format reviewdesk ingests gets a writer, so that every importer can be exercised on the same
demo runs: `to_langsmith` shapes a run as the LangSmith SDK serializes it, `to_otel_request` as an
OpenTelemetry GenAI export, and `write_runs` streams any of them to a file.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import groupby, islice
from operator import itemgetter
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from reviewdesk.demo.script import MODELS
from reviewdesk.ingest.canonical import COLUMNS

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
OTEL_SPANS_PER_REQUEST, COLUMNAR_BATCH = 50, 50_000
RUN_KEYS = tuple(COLUMNS)  # the canonical run record, in order
JSON_COLUMNS = ("inputs", "outputs", "tags", "metadata")
# The GenAI operation of a span by run type (semconv names where there is one; a model call is "chat").
OPERATIONS = {"tool": "execute_tool", "chain": "invoke_agent", "retriever": "retrieval"}
_ARROW_TYPES = {
    "latency_ms": pa.float64(),
    "cost_usd": pa.float64(),
    "user_feedback": pa.int8(),
    **dict.fromkeys(("prompt_tokens", "completion_tokens", "total_tokens"), pa.int64()),
}
COLUMNAR_SCHEMA = pa.schema([(k, _ARROW_TYPES.get(k, pa.string())) for k in RUN_KEYS])


def to_langsmith(run: dict, parent_dotted_order: str | None = None) -> dict:
    """The run as the LangSmith SDK serializes a Run to JSON, to exercise the LangSmith importer.

    A child's dotted_order extends its parent's, which write_runs passes along.
    """
    model, metadata = run["model"], dict(run["metadata"])
    extra: dict = {"metadata": metadata}
    if run["session_id"]:
        metadata["thread_id"] = run["session_id"]
    usd_in = usd_out = 0.0
    if model:
        usd_in, usd_out = MODELS[model].usd_per_m_in, MODELS[model].usd_per_m_out
        metadata.update(ls_model_name=model, ls_provider=MODELS[model].provider)
        extra["invocation_params"] = {"model": model}
    dotted = f"{datetime.fromisoformat(run['start_time']):%Y%m%dT%H%M%S%fZ}{run['run_id']}"
    feedback = run["user_feedback"]
    return {
        "id": run["run_id"],
        "name": run["name"],
        "run_type": run["run_type"],
        "start_time": run["start_time"],
        "end_time": run["end_time"],
        "inputs": run["inputs"],
        "outputs": run["outputs"],
        "error": run["error"],
        "tags": run["tags"],
        "extra": extra,
        "trace_id": run["trace_id"],
        "parent_run_id": run["parent_run_id"],
        "session_id": str(uuid.uuid5(uuid.NAMESPACE_URL, run["project"])),
        "session_name": run["project"],
        "prompt_tokens": run["prompt_tokens"],
        "completion_tokens": run["completion_tokens"],
        "total_tokens": run["total_tokens"],
        "total_cost": f"{run['cost_usd']:.8f}",
        "prompt_cost": f"{run['prompt_tokens'] * usd_in / 1e6:.8f}",
        "completion_cost": f"{run['completion_tokens'] * usd_out / 1e6:.8f}",
        "status": run["status"],
        "feedback_stats": {} if feedback is None else {"user_score": {"n": 1, "avg": feedback, "values": {}}},
        "dotted_order": f"{parent_dotted_order}.{dotted}" if parent_dotted_order else dotted,
        "child_run_ids": None,
        "events": [],
        "serialized": None,
        "reference_example_id": None,
    }


def to_otel_request(runs: list[dict]) -> dict:
    """One OTLP/JSON ExportTraceServiceRequest of GenAI-semconv spans, a resource per project."""
    spans: dict[str, list[dict]] = {}
    for run in runs:
        spans.setdefault(run["project"], []).append(_span(run))
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [_attr("service.name", project)]},
                "scopeSpans": [{"scope": {"name": "reviewdesk.demo", "version": "1"}, "spans": items}],
            }
            for project, items in spans.items()
        ]
    }


def _span(run: dict) -> dict:
    tool, model, meta, error = run["run_type"] == "tool", run["model"], run["metadata"], run["error"]
    op = OPERATIONS.get(run["run_type"], "chat")
    attrs: dict = {"gen_ai.operation.name": op}
    if tool:
        attrs["gen_ai.tool.name"] = run["name"]
        attrs["gen_ai.tool.call.arguments"] = json.dumps(run["inputs"])
        attrs["gen_ai.tool.call.result"] = json.dumps(run["outputs"])
    elif op != "chat":  # an agent's chain or a retrieval (the demo's traces): its inputs and outputs as JSON
        attrs["app.inputs"], attrs["app.outputs"] = json.dumps(run["inputs"]), json.dumps(run["outputs"])
    else:
        attrs["gen_ai.provider.name"], attrs["gen_ai.request.model"] = MODELS[model].provider, model
        if run["outputs"]:
            attrs["gen_ai.response.model"] = model
        attrs["gen_ai.usage.input_tokens"] = run["prompt_tokens"]
        attrs["gen_ai.usage.output_tokens"] = run["completion_tokens"]
        attrs["gen_ai.input.messages"] = json.dumps(_parts(run["inputs"]["messages"], False))
        if run["outputs"]:
            attrs["gen_ai.output.messages"] = json.dumps(_parts(run["outputs"]["messages"], True))
    if run["session_id"]:
        attrs["gen_ai.conversation.id"] = run["session_id"]
    if error:
        attrs["error.type"] = error.split(":", 1)[0]
    attrs.update({f"app.{k}": meta[k] for k in ("prompt_version", "channel", "locale", "customer_tier")})
    attrs["app.tags"] = run["tags"]
    if run["user_feedback"] is not None:
        attrs["app.user_feedback"] = run["user_feedback"]
    if "demo_truth" in meta:
        attrs["app.demo_truth"] = json.dumps(meta["demo_truth"])
    span = {"traceId": uuid.UUID(run["trace_id"]).hex, "spanId": uuid.UUID(run["run_id"]).hex[:16]}
    if run["parent_run_id"]:
        span["parentSpanId"] = uuid.UUID(run["parent_run_id"]).hex[:16]
    return {
        **span,
        "name": f"chat {model}" if op == "chat" else f"{op} {run['name']}",
        "kind": 3 if op == "chat" else 1,  # CLIENT / INTERNAL
        "startTimeUnixNano": _nanos(run["start_time"]),
        "endTimeUnixNano": _nanos(run["end_time"]),
        "attributes": [_attr(k, v) for k, v in attrs.items()],
        "status": {"code": 2, "message": error} if error else {"code": 1},
    }


def _parts(messages: list[dict], output: bool) -> list[dict]:
    """OpenAI chat messages in the GenAI semconv role/parts shape."""
    result = []
    for m in messages:
        if m["role"] == "tool":
            parts = [{"type": "tool_call_response", "id": m["tool_call_id"], "response": m["content"]}]
        else:
            parts = [{"type": "text", "content": m["content"]}] if m["content"] else []
            parts += [
                {
                    "type": "tool_call",
                    "id": c["id"],
                    "name": c["function"]["name"],
                    "arguments": json.loads(c["function"]["arguments"]),
                }
                for c in m.get("tool_calls", ())
            ]
        message = {"role": m["role"], "parts": parts}
        if output and m["role"] == "assistant":
            message["finish_reason"] = "tool_call" if "tool_calls" in m else "stop"
        result.append(message)
    return result


def _attr(key: str, value: object) -> dict:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}  # OTLP/JSON writes int64 as string
    if isinstance(value, list):
        return {"key": key, "value": {"arrayValue": {"values": [{"stringValue": v} for v in value]}}}
    return {"key": key, "value": {"stringValue": value}}


def _nanos(iso: str) -> str:
    return str((datetime.fromisoformat(iso) - EPOCH) // timedelta(microseconds=1) * 1000)


def write_runs(runs: Iterable[dict], path: Path, fmt: str = "native") -> int:
    """Write runs to path in fmt: 'native' (JSONL, or .parquet / .csv by suffix), 'langsmith'
    (JSONL), 'otel' (OTLP/JSON, JSONL). Return number of runs written.

    JSONL is streamed and columnar files are written in batches, so memory stays flat for any n.
    """
    path = Path(path)
    if fmt == "native" and path.suffix in (".parquet", ".csv"):
        return _write_columnar(runs, path)
    encoders = {
        "native": lambda rs: ((json.dumps(r), 1) for r in rs),
        "langsmith": _langsmith_lines,
        "otel": _otel_lines,
    }
    if fmt not in encoders:
        raise ValueError(f"unknown format {fmt!r}; expected one of: {', '.join(encoders)}")
    written = 0
    with path.open("w", encoding="utf-8") as f:
        for line, count in encoders[fmt](runs):
            f.write(line + "\n")
            written += count
    return written


def _langsmith_lines(runs: Iterable[dict]) -> Iterator[tuple[str, int]]:
    for _, trace in groupby(runs, itemgetter("trace_id")):
        dotted: dict[str, str] = {}
        for run in trace:
            record = to_langsmith(run, dotted.get(run["parent_run_id"]))
            dotted[run["run_id"]] = record["dotted_order"]
            yield json.dumps(record), 1


def _otel_lines(runs: Iterable[dict]) -> Iterator[tuple[str, int]]:
    batch: list[dict] = []
    for _, group in groupby(runs, itemgetter("trace_id")):  # a request never splits a trace
        trace = list(group)
        if batch and len(batch) + len(trace) > OTEL_SPANS_PER_REQUEST:
            yield json.dumps(to_otel_request(batch)), len(batch)
            batch = []
        batch += trace
    if batch:
        yield json.dumps(to_otel_request(batch)), len(batch)


def _write_columnar(runs: Iterable[dict], path: Path) -> int:
    """Parquet or CSV in batches; nested fields become JSON text and None stays null."""
    writer_type = pq.ParquetWriter if path.suffix == ".parquet" else pacsv.CSVWriter
    written, it = 0, iter(runs)
    with writer_type(path, COLUMNAR_SCHEMA) as writer:
        while batch := list(islice(it, COLUMNAR_BATCH)):
            columns = {k: [run[k] for run in batch] for k in RUN_KEYS}
            for k in JSON_COLUMNS:
                columns[k] = [None if v is None else json.dumps(v) for v in columns[k]]
            writer.write_table(pa.table(columns, schema=COLUMNAR_SCHEMA))
            written += len(batch)
    return written
