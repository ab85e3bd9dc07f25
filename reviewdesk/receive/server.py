"""The OTLP/HTTP receiver: an ASGI app (starlette, on uvicorn) that makes accepted requests durable.

`POST /v1/traces` (and `/v1/logs`, where GenAI instrumentations put message content) checks the
token, the content type, the size and the inbox's room before reading the body, then decodes and
checks it, appends it to this process's inbox segment with an fsync, and only then answers 200.
It never opens DuckDB: the inbox flow ingests closed segments later. `/healthz` says it is up,
`/metrics` counts requests and spans (Prometheus text, per worker process).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from reviewdesk.config import Settings
from reviewdesk.errors import ConfigError
from reviewdesk.receive.decoding import PROTOBUF, Refused, decode, media_type, response_body, status_body
from reviewdesk.receive.segments import LOGS, OPEN_DIR, TRACES, SegmentWriter, recover_abandoned
from reviewdesk.receive.tokens import load_tokens, match_source

SIGNALS = {TRACES: "traces", LOGS: "logs"}
TOKENS_FILE = "receive-tokens.json"


class ReceiverLimits(BaseSettings):
    """How much the receiver takes at once and in all; read from REVIEWDESK_RECEIVE_* variables."""

    model_config = SettingsConfigDict(env_prefix="REVIEWDESK_RECEIVE_", frozen=True)

    max_body_bytes: int = Field(default=16 << 20, gt=0, description="Largest body, before and after gzip.")
    inbox_max_bytes: int = Field(default=4 << 30, gt=0, description="Inbox size past which requests get 503.")
    segment_max_bytes: int = Field(default=64 << 20, gt=0, description="A segment is closed at this size...")
    segment_max_age_seconds: float = Field(default=20, gt=0, description="...or at this age.")
    retry_after_seconds: int = Field(default=5, gt=0, description="Retry-After sent with 503.")


def tokens_path(settings: Settings) -> Path:
    """Where the hashed receiver tokens live."""
    return settings.data_dir / TOKENS_FILE


def inbox_bytes(inbox: Path) -> int:
    """Bytes waiting in the inbox: closed and open segments and dropped files, not done/ or failed/."""
    total = 0
    for folder in (inbox, inbox / OPEN_DIR):
        with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
            for entry in entries:
                with contextlib.suppress(FileNotFoundError):
                    if entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
    return total


class Receiver:
    """The state one worker process shares between requests: writer, tokens, counters, inbox size."""

    def __init__(self, settings: Settings, limits: ReceiverLimits) -> None:
        self.settings, self.limits = settings, limits
        self.inbox = settings.inbox_dir
        self.writer = SegmentWriter(self.inbox, limits.segment_max_bytes, limits.segment_max_age_seconds)
        self.tokens_file = tokens_path(settings)
        self.tokens: dict[str, dict] = {}
        self.tokens_seen: float | None = None
        self.inbox_size = 0
        self.counts: Counter[tuple[str, ...]] = Counter()
        self.lock = threading.Lock()

    def refresh(self) -> None:
        """Roll an old segment, re-read the inbox size and, if the file changed, the tokens."""
        self.writer.roll_if_old()
        self.inbox_size = inbox_bytes(self.inbox)
        try:
            seen = self.tokens_file.stat().st_mtime
        except FileNotFoundError:
            seen = None
        if seen != self.tokens_seen:
            with contextlib.suppress(ConfigError):  # a damaged file: keep the tokens read before
                self.tokens = load_tokens(self.tokens_file) if seen else {}
            self.tokens_seen = seen

    def count(self, *key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] += n

    def source(self, request: Request) -> str:
        """The source a request's token belongs to; 401 without one, 403 for a token that is not ours."""
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else request.headers.get("x-api-key", "").strip()
        if not token:
            raise Refused(401, "No token: send `Authorization: Bearer TOKEN` (or `x-api-key: TOKEN`).")
        source = match_source(self.tokens, token)
        if source is None:
            raise Refused(403, "This token is not valid: `reviewdesk tokens add SOURCE` issues one.")
        return source

    async def body(self, request: Request) -> bytes:
        """The raw body, refused (413) as soon as it passes the size limit."""
        limit = self.limits.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise Refused(413, f"The body is {int(declared):,} bytes, over the {limit:,}-byte limit: send less.")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Refused(413, f"The body is over the {limit:,}-byte limit: send smaller batches.")
            chunks.append(chunk)
        return b"".join(chunks)

    def store(self, kind: int, source: str, body: bytes, content_type: str, encoding: str | None) -> bytes:
        """Decode, check and append one request (fsynced); return the response body. Runs in a worker thread."""
        decoded = decode(kind, body, content_type, encoding, self.limits.max_body_bytes)
        if decoded.accepted:
            try:
                self.writer.append(kind, source, decoded.payload())
            except OSError as e:  # e.g. a full disk: nothing was acknowledged, the exporter retries
                raise Refused(503, f"The inbox cannot be written ({e.strerror or e}): retry later.") from None
        signal = SIGNALS[kind]
        self.count(signal, "accepted", n=decoded.accepted)
        self.count(signal, "rejected", n=decoded.rejected)
        return response_body(kind, decoded, media_type(content_type))

    async def export(self, request: Request, kind: int) -> Response:
        """One OTLP/HTTP export request, answered per the spec."""
        content_type = request.headers.get("content-type")
        try:
            media = PROTOBUF
            source = self.source(request)
            media = media_type(content_type)
            if self.inbox_size > self.limits.inbox_max_bytes:
                raise Refused(503, "The inbox is full until the inbox flow catches up: retry later.")
            body = await self.body(request)
            encoding = request.headers.get("content-encoding")
            answer = await asyncio.to_thread(self.store, kind, source, body, content_type or "", encoding)
        except Refused as e:
            self.count(SIGNALS[kind], "requests", str(e.status))
            headers = {"Retry-After": str(self.limits.retry_after_seconds)} if e.status in (429, 503) else None
            return Response(status_body(e.status, str(e), media), e.status, headers, media)
        self.count(SIGNALS[kind], "requests", "200")
        return Response(answer, 200, media_type=media)

    def metrics(self) -> str:
        """Prometheus text: requests by signal and code, items accepted and rejected, inbox bytes."""
        lines = ["# TYPE reviewdesk_receive_requests_total counter"]
        with self.lock:
            counts = dict(self.counts)
        pid = os.getpid()
        for (signal, what, *code), n in sorted(counts.items()):
            if what == "requests":
                lines.append(f'reviewdesk_receive_requests_total{{signal="{signal}",code="{code[0]}",pid="{pid}"}} {n}')
        for what in ("accepted", "rejected"):
            lines.append(f"# TYPE reviewdesk_receive_items_{what}_total counter")
            for signal in SIGNALS.values():
                n = counts.get((signal, what), 0)
                lines.append(f'reviewdesk_receive_items_{what}_total{{signal="{signal}",pid="{pid}"}} {n}')
        lines += ["# TYPE reviewdesk_receive_inbox_bytes gauge", f"reviewdesk_receive_inbox_bytes {self.inbox_size}"]
        return "\n".join(lines) + "\n"


def create_app(settings: Settings | None = None, limits: ReceiverLimits | None = None) -> Starlette:
    """The receiver's ASGI app; settings and limits come from the environment unless given."""
    receiver = Receiver(settings or Settings.load(), limits or ReceiverLimits())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        receiver.inbox.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(recover_abandoned, receiver.inbox)  # segments left open by a killed receiver
        await asyncio.to_thread(receiver.refresh)

        async def tick() -> None:
            while True:
                await asyncio.sleep(1)
                await asyncio.to_thread(receiver.refresh)

        ticker = asyncio.create_task(tick())
        try:
            yield
        finally:
            ticker.cancel()
            await asyncio.to_thread(receiver.writer.close)

    async def traces(request: Request) -> Response:
        return await receiver.export(request, TRACES)

    async def logs(request: Request) -> Response:
        return await receiver.export(request, LOGS)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(receiver.metrics(), media_type="text/plain; version=0.0.4")

    routes = [
        Route("/v1/traces", traces, methods=["POST"]),
        Route("/v1/logs", logs, methods=["POST"]),
        Route("/healthz", healthz),
        Route("/metrics", metrics),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.receiver = receiver
    return app


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    """Run the receiver under uvicorn until SIGINT or SIGTERM; each worker closes its segment on the way out."""
    import uvicorn

    os.environ["REVIEWDESK_DATA_DIR"] = str(settings.data_dir)  # the workers build the app from the environment
    uvicorn.run(
        "reviewdesk.receive.server:create_app", factory=True, host=host, port=port, workers=workers,
        log_level="warning", access_log=False, timeout_graceful_shutdown=10,
    )  # fmt: skip
