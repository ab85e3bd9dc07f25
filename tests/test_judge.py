"""The HTTP judge against a tiny local OpenAI-compatible server started by the test: answers, retries on
timeouts, 5xx responses and malformed JSON, and the heuristic when the judge cannot answer."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from reviewdesk.errors import ConfigError
from reviewdesk.prescore.contracts import scorable
from reviewdesk.prescore.features import RUN_FIELDS, runs_frame
from reviewdesk.prescore.heuristic import HEURISTIC_VERSION, HeuristicScorer
from reviewdesk.prescore.judge import HttpJudge
from schemas.queue import QueueConfig
from schemas.scoring import Judge

ROOT = Path(__file__).resolve().parents[1]
GOOD = {"correctness": {"value": "partially_correct", "confidence": 0.7}, "helpfulness": {"value": "3"}}


def completion(content: str) -> bytes:
    return json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()


class Judgeserver:
    """A chat completions endpoint that plays a script of replies, one per request, then answers GOOD."""

    def __init__(self) -> None:
        self.script: list[tuple[str, object]] = []
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                server.headers.append(dict(self.headers))
                kind, arg = server.script.pop(0) if server.script else ("ok", GOOD)
                if kind == "sleep":
                    time.sleep(arg)
                    kind, arg = "ok", GOOD
                if kind == "status":
                    self.send_response(arg)
                    self.end_headers()
                    return
                payload = completion(json.dumps(arg)) if kind == "ok" else completion(arg) if kind == "text" else arg
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:  # quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Judgeserver]:
    s = Judgeserver()
    yield s
    s.close()


def make_judge(url: str, **config) -> HttpJudge:
    queue = QueueConfig.model_validate(yaml.safe_load((ROOT / "queues" / "support-quality.yaml").read_text()))
    settings = {"url": url, "model": "judge-1", "timeout_seconds": 0.5, "retries": 2, "concurrency": 1} | config
    return HttpJudge(Judge(**settings), queue.rubric.instructions, scorable(queue), HeuristicScorer.for_queue(queue),
                     backoff_seconds=0)  # fmt: skip


def runs(*outputs: str, feedback: float | None = None) -> object:
    return runs_frame([{f: None for f in RUN_FIELDS} | {"run_id": f"r{i}", "status": "success", "input_text": "Hi",
                        "output_text": o, "user_feedback": feedback} for i, o in enumerate(outputs)])  # fmt: skip


def test_answers_become_suggestions_with_the_judge_as_model_version(server: Judgeserver):
    judge = make_judge(server.url)
    [got] = judge.score(runs("Orders arrive in 3-7 days."))
    assert got["correctness"].value == "partially_correct" and got["correctness"].confidence == 0.7
    assert got["helpfulness"].value == 3 and got["helpfulness"].confidence == 0.5  # "3" names option 3; no confidence
    assert {s.model_version for s in got.values()} == {"http_judge:judge-1"}
    [request] = server.requests
    assert request["model"] == "judge-1" and request["temperature"] == 0
    system, user = request["messages"]
    assert '"correctness" (categorical): one of "correct", "partially_correct", "incorrect"' in system["content"]
    assert "Read the whole conversation" in system["content"]
    assert user["content"] == "Input:\nHi\n\nOutput:\nOrders arrive in 3-7 days."
    assert judge.warnings == []


@pytest.mark.parametrize("failure", [("status", 503), ("status", 429), ("sleep", 1.5), ("text", "Sure! correct."),
                                     ("raw", b"<html>oops"), ("ok", {"correctness": {"value": "great"}})])  # fmt: skip
def test_a_transient_failure_is_retried_then_answered(server: Judgeserver, failure: tuple):
    server.script = [failure, failure]
    [got] = make_judge(server.url).score(runs("text"))
    assert len(server.requests) == 3  # two failures, then the answer
    assert got["correctness"].value == "partially_correct"


def test_after_the_last_retry_the_heuristic_answers_and_a_warning_says_why(server: Judgeserver):
    server.script = [("status", 500)] * 3 + [("ok", GOOD)]
    judge = make_judge(server.url)
    [fallback, answered] = judge.score(runs("I'm sorry, I can't help with that.", "Fine."))
    assert len(server.requests) == 4
    assert fallback["correctness"].value == "incorrect" and fallback["correctness"].model_version == HEURISTIC_VERSION
    assert answered["correctness"].model_version == "http_judge:judge-1"
    [warning] = judge.warnings
    assert "could not answer 1 of 2 runs" in warning and "HTTP 500" in warning and "heuristic" in warning


def test_a_client_error_is_not_retried_and_nothing_fires_leaves_no_suggestion(server: Judgeserver):
    server.script = [("status", 401)]
    judge = make_judge(server.url)
    assert judge.score(runs("A plain answer.")) == [{}]  # the heuristic has no rule for it either
    assert len(server.requests) == 1 and "HTTP 401" in judge.warnings[0]


def test_timeouts_on_every_attempt_fall_back_without_hanging(server: Judgeserver):
    server.script = [("sleep", 1.0)] * 2
    judge = make_judge(server.url, timeout_seconds=0.2, retries=1)
    started = time.monotonic()
    [got] = judge.score(runs("text", feedback=-1.0))
    assert time.monotonic() - started < 3
    assert got["correctness"].model_version == HEURISTIC_VERSION  # thumbs-down
    assert "within 0.2 s" in judge.warnings[0]


def test_an_unreachable_endpoint_falls_back(tmp_path: Path):
    judge = make_judge("http://127.0.0.1:9/v1", retries=0)  # nothing listens on port 9
    assert judge.score(runs("text")) == [{}]
    assert "could not answer 1 of 1 runs" in judge.warnings[0]


def test_api_key_comes_from_the_named_variable(server: Judgeserver, monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(ConfigError, match="JUDGE_KEY is not set"):
        make_judge(server.url, api_key_env="JUDGE_KEY")
    monkeypatch.setenv("JUDGE_KEY", "s3cret")
    make_judge(server.url, api_key_env="JUDGE_KEY").score(runs("text"))
    assert server.headers[0]["Authorization"] == "Bearer s3cret"
