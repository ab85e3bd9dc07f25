"""An exporter process for load and durability runs: the real OTLPSpanExporter sends batches of GenAI spans.

    python tests/otlp_load.py URL TOKEN WORKER BATCHES SIZE ACKS [--gzip]

Spans are built before the clock starts. After each batch the process appends to ACKS one line:
`ok SECONDS SPAN_ID...` when the receiver acknowledged it (after the exporter's own retries), or
`failed SECONDS SPAN_ID...` when the exporter gave up. Span ids are unique per (worker, batch, i).
"""

from __future__ import annotations

import sys
import time

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


def main(url: str, token: str, worker: int, batches: int, size: int, acks: str, zipped: bool) -> None:
    compression = Compression.Gzip if zipped else Compression.NoCompression
    headers = {"Authorization": f"Bearer {token}"}
    exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", headers=headers, timeout=60, compression=compression)
    prepared = [batch_of(worker, b, size) for b in range(batches)]
    with open(acks, "a", buffering=1) as out:
        for spans in prepared:
            started = time.perf_counter()
            result = exporter.export(spans)
            took = time.perf_counter() - started
            ids = " ".join(format(s.context.span_id, "016x") for s in spans)
            out.write(f"{'ok' if result is SpanExportResult.SUCCESS else 'failed'} {took:.6f} {ids}\n")
    exporter.shutdown()


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[0], args[1], int(args[2]), int(args[3]), int(args[4]), args[5], "--gzip" in args)
