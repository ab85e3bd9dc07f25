"""Helpers for the receiver tests: a running `reviewdesk receive`, OTLP requests built with the official
messages, and a small OpenAI-compatible server for real instrumented clients to call."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import uvicorn
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from process_support import free_port, healthy
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from reviewdesk.config import Settings
from reviewdesk.receive.server import tokens_path
from reviewdesk.receive.tokens import add_token

REVIEWDESK = str(Path(sys.executable).parent / "reviewdesk")
ANSWER = "Refunds take 5 business days."


class Receiving(NamedTuple):
    """A `reviewdesk receive` process, its URL and a valid token."""

    process: subprocess.Popen
    url: str
    token: str


def start_receiver(data_dir: Path, port: int, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`reviewdesk receive` on 127.0.0.1:port, returned once /healthz answers."""
    command = [REVIEWDESK, "--data-dir", str(data_dir), "receive", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=os.environ | (env or {}))
    deadline = time.monotonic() + 30
    while not healthy(f"http://127.0.0.1:{port}", "/healthz"):
        assert process.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
        time.sleep(0.1)
    return process


@contextmanager
def receiver(data_dir: Path, log: Path, env: dict[str, str] | None = None) -> Iterator[Receiving]:
    """A receiver with one source, `app`, stopped (SIGTERM) afterwards."""
    token = add_token(tokens_path(Settings(data_dir=data_dir)), "app")
    port = free_port()
    process = start_receiver(data_dir, port, log, env)
    try:
        yield Receiving(process, f"http://127.0.0.1:{port}", token)
    finally:
        process.terminate()
        process.wait(timeout=20)


def spans_request(n: int, trace: int = 1, start: int = 1, name: str = "chat gpt-4o") -> ExportTraceServiceRequest:
    """A request of `n` GenAI chat spans of one trace, span ids start, start+1, ..."""
    request = ExportTraceServiceRequest()
    resource = request.resource_spans.add()
    attr = resource.resource.attributes.add()
    attr.key, attr.value.string_value = "service.name", "support-bot"
    scope = resource.scope_spans.add()
    for i in range(start, start + n):
        span = scope.spans.add()
        span.trace_id, span.span_id, span.name = trace.to_bytes(16, "big"), i.to_bytes(8, "big"), name
        span.start_time_unix_nano, span.end_time_unix_nano = 1_700_000_000_000_000_000, 1_700_000_001_000_000_000
        for key, value in (("gen_ai.operation.name", "chat"), ("gen_ai.request.model", "gpt-4o")):
            a = span.attributes.add()
            a.key, a.value.string_value = key, value
        a = span.attributes.add()
        a.key, a.value.int_value = "gen_ai.usage.input_tokens", i % 1000
    return request


def _chat_completion(request_json: dict) -> dict:
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000, "model": request_json["model"],
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": ANSWER}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
    }  # fmt: skip


async def _completions(request: Request) -> JSONResponse:
    return JSONResponse(_chat_completion(await request.json()))


@contextmanager
def openai_server() -> Iterator[str]:
    """A local OpenAI-compatible server answering every chat completion with ANSWER; yields its base URL."""
    app = Starlette(routes=[Route("/v1/chat/completions", _completions, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(10)
