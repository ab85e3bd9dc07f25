"""Local stand-ins for LangSmith's and Langfuse's feedback endpoints, for the SDK-shape tests.

Neither server can run here, so the real SDKs talk to a small Starlette app under uvicorn on loopback
that checks every request body against the vendor's published API shapes (tests/shapes/*.json: JSON
schemas taken from their OpenAPI documents, which name the source) and the auth header, keeps what a
real server would keep (feedback and scores by id), and records each request. `fail_next` makes the
next requests answer 500, to see the push retry.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import uvicorn
from conftest import free_port
from jsonschema import Draft202012Validator, FormatChecker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SHAPES = Path(__file__).resolve().parent / "shapes"
FORMATS = FormatChecker()


@FORMATS.checks("uuid", raises=ValueError)
def _uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(uuid.UUID(value))


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None


def validator(vendor: str, schema: str) -> Draft202012Validator:
    """A validator of one request schema of tests/shapes/<vendor>.json, formats (uuid, date-time) checked."""
    return Draft202012Validator(json.loads((SHAPES / f"{vendor}.json").read_text())["schemas"][schema],
                                format_checker=FORMATS)  # fmt: skip


@dataclass
class Fake:
    """What the stand-in received and keeps."""

    url: str
    requests: list[tuple[str, str, Any]] = field(default_factory=list)  # (method, path, body) of accepted requests
    refused: list[str] = field(default_factory=list)  # why requests that broke the published shape were refused
    stored: dict[str, dict] = field(default_factory=dict)  # feedback / scores by id
    failing: int = 0  # answer this many next requests with 500

    def fail_next(self, n: int) -> None:
        self.failing = n

    def writes(self) -> list[tuple[str, str, Any]]:
        return [r for r in self.requests if r[0] in ("POST", "PATCH")]


def _checked(fake: Fake, body: Any, check: Draft202012Validator) -> list[str]:
    problems = [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in check.iter_errors(body)]
    fake.refused += problems
    return problems


def langsmith_app(fake: Fake, api_key: str) -> Starlette:
    """POST /api/v1/feedback (create; 409 if the id exists), PATCH /api/v1/feedback/{id}, GET /api/v1/info."""
    create, update = validator("langsmith", "FeedbackCreateSchema"), validator("langsmith", "FeedbackUpdateSchema")

    async def handle(request: Request) -> Response:
        if request.headers.get("x-api-key") != api_key:
            return JSONResponse({"detail": "Invalid token"}, 401)
        if request.url.path.endswith("/info"):
            return JSONResponse({"version": "0.10.0", "batch_ingest_config": {}, "instance_flags": {}})
        body = await request.json()
        if fake.failing:
            fake.failing -= 1
            return JSONResponse({"detail": "internal error"}, 500)
        if problems := _checked(fake, body, create if request.method == "POST" else update):
            return JSONResponse({"detail": problems}, 422)
        fake.requests.append((request.method, request.url.path, body))
        if request.method == "POST":
            if body["id"] in fake.stored:
                return JSONResponse({"detail": "feedback already exists"}, 409)
            fake.stored[body["id"]] = body
        else:
            feedback_id = request.path_params["feedback_id"]
            if feedback_id not in fake.stored:
                return JSONResponse({"detail": "not found"}, 404)
            fake.stored[feedback_id] = {**fake.stored[feedback_id], **body}
        return JSONResponse(fake.stored.get(body.get("id")) or fake.stored[request.path_params["feedback_id"]])

    return Starlette(routes=[Route("/api/v1/info", handle, methods=["GET"]),
                             Route("/api/v1/feedback", handle, methods=["POST"]),
                             Route("/api/v1/feedback/{feedback_id}", handle, methods=["PATCH"])])  # fmt: skip


def langfuse_app(fake: Fake, public_key: str, secret_key: str) -> Starlette:
    """POST /api/public/scores: a list of scores (202); a score sent again with its id and timestamp is updated."""
    scores = validator("langfuse", "CreateScoresRequest")
    basic = "Basic " + base64.b64encode(f"{public_key}:{secret_key}".encode()).decode()

    async def handle(request: Request) -> Response:
        if request.headers.get("authorization") != basic:
            return JSONResponse({"message": "Invalid credentials"}, 401)
        body = await request.json()
        if fake.failing:
            fake.failing -= 1
            return JSONResponse({"message": "internal error"}, 500)
        if problems := _checked(fake, body, scores):
            return JSONResponse({"message": problems}, 400)
        fake.requests.append((request.method, request.url.path, body))
        for score in body:
            before = fake.stored.get(score["id"])
            if before and before["timestamp"] != score["timestamp"]:  # a new score with the same id, in ClickHouse
                fake.refused.append(f"score {score['id']} sent again with another timestamp: not an update")
            fake.stored[score["id"]] = score
        return JSONResponse({"message": "Accepted"}, 202)

    return Starlette(routes=[Route("/api/public/scores", handle, methods=["POST"])])


@contextlib.contextmanager
def serving(app: Starlette, fake: Fake) -> Iterator[Fake]:
    """Serve `app` under uvicorn on `fake.url`'s port in a thread; stop it after."""
    port = int(fake.url.rsplit(":", 1)[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise AssertionError("the stand-in server did not start")
        time.sleep(0.02)
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def fake_at_free_port() -> Fake:
    return Fake(f"http://127.0.0.1:{free_port()}")
