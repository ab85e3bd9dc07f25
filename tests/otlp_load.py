"""An exporter process for load and durability runs: the real OTLPSpanExporter sends batches of GenAI spans.

    python tests/otlp_load.py URL TOKEN WORKER BATCHES SIZE ACKS [--gzip] [--prebuilt] [--start-at T] [--stop-at T]

Spans are built before the clock starts (and, with --start-at, the first batch waits for that
moment, so that several processes start together; with --stop-at, no batch starts after that
moment, so that a slow receiver cannot hold a run up for ever). The real OTLPSpanExporter sends them, encoding
each batch as an app would; with --prebuilt, each batch is encoded by the same SDK encoder (and
gzipped) before the clock starts and POSTed as the exporter would, so that a load run measures the
receiver rather than the SDK's pure-Python encoder. After each batch the process appends to ACKS
one line (see `read_acks`): whether it was acknowledged (after retries) or given up, the call's
seconds, the wall-clock time it returned, and the span ids. Span ids are unique per (worker, batch, i).
"""

from __future__ import annotations

import gzip
import sys
import time
from pathlib import Path
from typing import NamedTuple

import requests
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import SpanContext, SpanKind

RESOURCE = Resource.create({"service.name": "load"})
MESSAGES = '[{"role": "user", "parts": [{"type": "text", "content": "Where is my order A%d?"}]}]'


def span_id(worker: int, batch: int, i: int) -> int:
    return (worker << 40) | (batch << 16) | (i + 1)


def batch_of(worker: int, batch: int, size: int) -> list[ReadableSpan]:
    """`size` chat spans of one trace, as the GenAI instrumentation makes them."""
    trace_id = (worker << 32) | (batch + 1)
    start = time.time_ns()
    return [
        ReadableSpan(
            name="chat gpt-4o-mini",
            context=SpanContext(trace_id, span_id(worker, batch, i), is_remote=False),
            kind=SpanKind.CLIENT,
            resource=RESOURCE,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 20 + i % 50,
                "gen_ai.usage.output_tokens": 5 + i % 30,
                "gen_ai.input.messages": MESSAGES % i,
            },
            start_time=start,
            end_time=start + 1_000_000,
        )
        for i in range(size)
    ]


class Ack(NamedTuple):
    """One batch's outcome."""

    ok: bool
    seconds: float
    end: float
    span_ids: list[str]


def read_acks(path: Path) -> list[Ack]:
    """The outcomes an exporter process wrote, in order (none if it wrote nothing yet)."""
    found = []
    for line in path.read_text().splitlines() if path.exists() else []:
        verdict, seconds, end, *ids = line.split()
        found.append(Ack(verdict == "ok", float(seconds), float(end), ids))
    return found


def post(session: requests.Session, url: str, body: bytes, headers: dict[str, str]) -> bool:
    """POST one prebuilt request, retrying refusals the OTLP spec calls transient (as the exporter does)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            answer = session.post(url, data=body, headers=headers, timeout=30)
        except requests.ConnectionError:
            time.sleep(0.5)
            continue
        if answer.status_code == 200:
            return True
        if answer.status_code not in (429, 502, 503, 504):
            return False
        time.sleep(float(answer.headers.get("retry-after", 1)))
    return False


def main(url: str, token: str, worker: int, batches: int, size: int, acks: str, zipped: bool, prebuilt: bool,
         start: float, stop: float) -> None:  # fmt: skip
    compression = Compression.Gzip if zipped else Compression.NoCompression
    headers = {"Authorization": f"Bearer {token}"}
    exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", headers=headers, timeout=60, compression=compression)
    prepared = [batch_of(worker, b, size) for b in range(batches)]
    bodies = [encode_spans(spans).SerializeToString() for spans in prepared] if prebuilt else []
    bodies = [gzip.compress(b, 6) for b in bodies] if zipped else bodies
    session = requests.Session()
    headers |= {"Content-Type": "application/x-protobuf"} | ({"Content-Encoding": "gzip"} if zipped else {})
    time.sleep(max(0.0, start - time.time()))
    with open(acks, "a", buffering=1) as out:
        for i, spans in enumerate(prepared):
            if stop and time.time() > stop:
                break
            started = time.perf_counter()
            if prebuilt:
                ok = post(session, f"{url}/v1/traces", bodies[i], headers)
            else:
                ok = exporter.export(spans) is SpanExportResult.SUCCESS
            took = time.perf_counter() - started
            ids = " ".join(format(s.context.span_id, "016x") for s in spans)
            out.write(f"{'ok' if ok else 'failed'} {took:.6f} {time.time():.6f} {ids}\n")
    exporter.shutdown()


if __name__ == "__main__":
    args = sys.argv[1:]
    start_at = float(args[args.index("--start-at") + 1]) if "--start-at" in args else 0.0
    stop_at = float(args[args.index("--stop-at") + 1]) if "--stop-at" in args else 0.0
    flags = ("--gzip" in args, "--prebuilt" in args, start_at, stop_at)
    main(args[0], args[1], int(args[2]), int(args[3]), int(args[4]), args[5], *flags)
