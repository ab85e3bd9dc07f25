"""Phoenix both ways, against a real `phoenix serve`: traces sent to Phoenix are pulled into reviewdesk
(`ingest --from phoenix`, after a watermark), reviewed to consensus through the library, and the verdicts
pushed back as span annotations, which are then read from Phoenix and compared; a per-step verdict of an
agent trace lands on the tool call's own span."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import httpx
import pytest
from feedback_support import (
    both_revise,
    consensus,
    decide_step,
    first_tool_split,
    queue_over,
    review_to_consensus,
    trace_queue_over,
)
from typer.testing import CliRunner

from reviewdesk.cli import app
from reviewdesk.feedback.contracts import feedback_id
from reviewdesk.feedback.delivery import push_feedback
from reviewdesk.feedback.to_phoenix import PhoenixTarget
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse

PROJECT = f"feedback-{uuid.uuid4().hex[:8]}"  # a project of its own, whatever else the server holds
APP = "http://review.example:8501"


def tracer(url: str, project: str):
    """An OpenTelemetry tracer sending to Phoenix's /v1/traces over OTLP/HTTP, in `project`; and its provider
    (shut it down to flush)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot",
                                                        "openinference.project.name": project}))  # fmt: skip
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces")))
    return provider.get_tracer("support-bot"), provider


def send_traces(url: str, project: str, n: int, first: int = 0) -> list[tuple[str, str]]:
    """`n` GenAI chat spans sent to Phoenix by the OpenTelemetry SDK's OTLP/HTTP exporter; their (trace id,
    span id)."""
    spans, provider = tracer(url, project)
    ids = []
    for i in range(first, first + n):
        with spans.start_as_current_span("chat gpt-4o-mini") as span:
            question = [{"role": "user", "parts": [{"type": "text", "content": f"Where is order {i}?"}]}]
            reply = [{"role": "assistant", "parts": [{"type": "text", "content": f"Order {i} ships."}]}]
            span.set_attributes({
                "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 10 + i, "gen_ai.usage.output_tokens": 20 + i,
                "gen_ai.input.messages": json.dumps(question), "gen_ai.output.messages": json.dumps(reply),
            })  # fmt: skip
            context = span.get_span_context()
            ids.append((format(context.trace_id, "032x"), format(context.span_id, "016x")))
    provider.shutdown()  # flushes
    return ids


def send_agent_trace(url: str, project: str) -> dict[str, str]:
    """One agent trace with OpenInference span kinds: a root chain, a model call and two get_order tool calls
    under it; the span id of each (root, llm, tool1, tool2)."""
    spans, provider = tracer(url, project)
    kinds = {"llm": "LLM", "tool1": "TOOL", "tool2": "TOOL"}
    ids = {}
    with spans.start_as_current_span("agent") as root:
        root.set_attributes({"openinference.span.kind": "CHAIN", "input.value": "Where is my order A1?",
                             "output.value": "Order A1 shipped on 3 May."})  # fmt: skip
        ids["root"] = format(root.get_span_context().span_id, "016x")
        for step, kind in kinds.items():
            with spans.start_as_current_span("get_order" if kind == "TOOL" else "chat") as span:
                span.set_attributes({"openinference.span.kind": kind, "input.value": "A1", "output.value": "shipped"})
                ids[step] = format(span.get_span_context().span_id, "016x")
    provider.shutdown()
    return ids


def wait_for_spans(url: str, project: str, n: int, timeout: float = 30) -> None:
    """Phoenix stores spans in the background: wait until the project holds `n`."""
    deadline = time.monotonic() + timeout
    while True:
        r = httpx.get(f"{url}/v1/projects/{project}/spans", params={"limit": 1000})
        if r.status_code == 200 and len(r.json()["data"]) >= n:
            return
        assert time.monotonic() < deadline, f"Phoenix did not store {n} spans in {timeout} s: {r.text[:300]}"
        time.sleep(0.2)


def annotations(url: str, project: str, span_ids: list[str]) -> list[dict]:
    """Every annotation Phoenix holds on these spans, read with its own client."""
    from phoenix.client import Client

    return Client(base_url=url).spans.get_span_annotations(span_ids=span_ids, project_identifier=project)


def pull(data: Path, url: str, project: str = PROJECT) -> dict:
    result = CliRunner().invoke(app, ["--data-dir", str(data), "ingest", "--from", "phoenix", url,
                                      "--project", project, "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def answer(reviewer: str, item: dict) -> dict:
    """Both reviewers call every answer correct and rate it 4, except on order 3, where they disagree."""
    disputed = "order 3?" in json.dumps(item["payload"])
    correctness = "incorrect" if disputed and reviewer == "reviewer2" else "correct"
    return {"correctness": correctness, "helpfulness": 4}


def test_phoenix_traces_in_reviewed_verdicts_out_as_span_annotations(phoenix_url: str, tmp_path: Path):
    sent = send_traces(phoenix_url, PROJECT, 6)
    wait_for_spans(phoenix_url, PROJECT, 6)
    data = tmp_path / "data"

    # In: six spans, then nothing new, then two more: the watermark neither repeats nor skips a span.
    assert (pull(data, phoenix_url)["read"], pull(data, phoenix_url)["read"]) == (6, 0)
    sent += send_traces(phoenix_url, PROJECT, 2, first=6)
    wait_for_spans(phoenix_url, PROJECT, 8)
    assert pull(data, phoenix_url)["inserted"] == 2
    with Warehouse(data / "warehouse.duckdb") as wh, ReviewStore(f"sqlite:///{data / 'review.sqlite'}") as store:
        runs = wh.execute("SELECT trace_id, run_id, model, prompt_tokens, project, run_type FROM runs ORDER BY run_id")
        assert sorted((t, s) for t, s, *_ in runs) == sorted(sent)  # trace and span ids kept
        assert {r[2:] for r in runs} - {("gpt-4o-mini", t, PROJECT, "llm") for t in range(10, 18)} == set()

        # Reviewed to consensus through the library: order 3 disputed, so its correctness is no verdict.
        queue = queue_over(PROJECT, "phoenix-quality", size=8)
        items = review_to_consensus(wh, store, queue, answer)
        resolved = consensus(wh, queue.name)
        assert sum(1 for (_, c), (_, m) in resolved.items() if c == "correctness" and m == "unanimous") == 7

        # Out: 7 correctness + 8 helpfulness verdicts as annotations on the spans they judge.
        target = PhoenixTarget(phoenix_url)
        first = push_feedback(wh, queue.name, target, APP)
        assert (first.verdicts, first.created, first.failed, first.unaddressable) == (15, 15, 0, 0)
        span_of = {i["item_id"]: i["run_id"] for i in items}
        held = annotations(phoenix_url, PROJECT, list(span_of.values()))
        got = {(a["span_id"], a["name"]): a for a in held}
        expected = {(span_of[i], c): v for (i, c), (v, m) in resolved.items() if m == "unanimous"}
        assert {k: got[k]["result"]["label"] for k in got} == expected
        for (item_id, criterion), _ in resolved.items():
            a = got[(span_of[item_id], criterion)]
            assert a["identifier"] == feedback_id(queue.name, item_id, criterion, span_of[item_id])
            assert a["annotator_kind"] == "HUMAN"
            assert a["metadata"] == {**a["metadata"], "method": "unanimous", "confidence": 0.75, "item_id": item_id}
            assert f"{APP}/?item={item_id}" in a["result"]["explanation"]
            assert a["result"]["score"] == (4.0 if criterion == "helpfulness" else None)

        # A rerun writes nothing; a changed consensus updates the same annotation.
        again = push_feedback(wh, queue.name, target, APP)
        assert (again.created, again.updated, again.unchanged) == (0, 0, 15)
        changed = next(i for i, c in expected if c == "correctness")
        item_id = next(i for i, s in span_of.items() if s == changed)
        both_revise(wh, store, queue, item_id, {"correctness": "partially_correct", "helpfulness": 4})
        third = push_feedback(wh, queue.name, target, APP)
        assert (third.created, third.updated, third.unchanged) == (0, 1, 14)
        after = {(a["span_id"], a["name"]): a for a in annotations(phoenix_url, PROJECT, list(span_of.values()))}
        assert len(after) == len(held) == 15
        assert after[(changed, "correctness")]["result"]["label"] == "partially_correct"
        assert after[(changed, "correctness")]["id"] == got[(changed, "correctness")]["id"]
        assert {k: a["updated_at"] for k, a in after.items() if k != (changed, "correctness")} == {
            k: a["updated_at"] for k, a in got.items() if k != (changed, "correctness")
        }
        target.close()


def test_a_decided_step_verdict_is_annotated_on_the_tool_calls_span(phoenix_url: str, tmp_path: Path):
    project = f"agent-{uuid.uuid4().hex[:8]}"
    span = send_agent_trace(phoenix_url, project)
    wait_for_spans(phoenix_url, project, 4)
    data = tmp_path / "data"
    assert pull(data, phoenix_url, project)["inserted"] == 4
    with Warehouse(data / "warehouse.duckdb") as wh, ReviewStore(f"sqlite:///{data / 'review.sqlite'}") as store:
        queue = trace_queue_over(project, "phoenix-agent", size=1)
        (item,) = review_to_consensus(wh, store, queue, first_tool_split)  # reviewer1 calls tool1 wrong
        target = PhoenixTarget(phoenix_url)
        first = push_feedback(wh, queue.name, target, APP)
        assert (first.created, first.failed, first.unaddressable, first.runs_gone) == (3, 0, 0, 0)
        decide_step(wh, store, queue, item["item_id"], span["tool1"], "wrong")
        second = push_feedback(wh, queue.name, target, APP)
        assert (second.created, second.unchanged, second.failed) == (1, 3, 0)
        target.close()

    def fid(criterion: str, step: str) -> str:
        return feedback_id(queue.name, item["item_id"], criterion, span[step])

    held = annotations(phoenix_url, project, list(span.values()))
    got = {(a["span_id"], a["name"]): (a["result"]["label"], a["metadata"]["method"], a["identifier"]) for a in held}
    assert got == {
        (span["root"], "correctness"): ("correct", "unanimous", fid("correctness", "root")),
        (span["root"], "helpfulness"): ("4", "unanimous", fid("helpfulness", "root")),
        (span["tool1"], "tool_call"): ("wrong", "adjudicated", fid("tool_call", "tool1")),
        (span["tool2"], "tool_call"): ("right", "unanimous", fid("tool_call", "tool2")),
    }  # nothing on the model call's span


def test_pulling_an_unknown_project_says_so(phoenix_url: str, tmp_path: Path):
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "d"), "ingest", "--from", "phoenix", phoenix_url,
                                      "--project", "no-such-project"])  # fmt: skip
    assert result.exit_code == 2
    assert "no project 'no-such-project'" in result.output


@pytest.mark.parametrize("args", [["--from", "phoenix", "http://127.0.0.1:9"], ["--from", "nowhere", "x"]])
def test_ingest_from_refuses_what_it_cannot_pull(tmp_path: Path, args: list[str]):
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "d"), "ingest", *args])
    assert result.exit_code == 2
    assert "Error:" in result.output
