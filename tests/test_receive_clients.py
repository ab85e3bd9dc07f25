"""Real clients for intake: the official OpenAI client, instrumented by the OTel GenAI instrumentation and,
separately, by OpenInference, calls a local OpenAI-compatible server; the real OTLPSpanExporter sends the
spans to a running `reviewdesk receive`; the inbox ingest finds each run with its model, tokens and messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from receive_support import ANSWER, openai_server, receiver

from reviewdesk.ingest.inbox import ingest_inbox
from reviewdesk.stores.warehouse import Warehouse

QUESTION = "How long do refunds take?"
# One instrumented app, as a user writes it: the SDK, the instrumentation, an exporter per signal.
APP = textwrap.dedent(
    """
    import os, sys
    import openai
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    convention, base_url = sys.argv[1], sys.argv[2]
    resource = Resource.create({"service.name": "support-bot"})
    traces = TracerProvider(resource=resource)
    traces.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # endpoint and token from OTEL_EXPORTER_OTLP_*
    logs = LoggerProvider(resource=resource)
    logs.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
    if convention == "openinference":
        from openinference.instrumentation.openai import OpenAIInstrumentor
        OpenAIInstrumentor().instrument(tracer_provider=traces)
    else:
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
        OpenAIInstrumentor().instrument(tracer_provider=traces, logger_provider=logs)
    client = openai.OpenAI(base_url=base_url, api_key="test")
    answer = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": sys.argv[3]}],
    )
    print(answer.choices[0].message.content)
    traces.shutdown()
    logs.shutdown()
    """
)


def _messages_text(messages: dict) -> list[tuple[str, str]]:
    """(role, text) per message, whichever shape the convention gave it (GenAI `parts`, or `content`)."""
    found = []
    for m in messages["messages"]:
        text = m.get("content") or " ".join(p.get("content", "") for p in m.get("parts", []))
        found.append((m["role"], text))
    return found


@pytest.mark.parametrize(
    ("convention", "content_mode"),
    [("genai", "SPAN_ONLY"), ("genai", "EVENT_ONLY"), ("openinference", "")],
    ids=["genai-span-attributes", "genai-log-events", "openinference"],
)
def test_an_instrumented_openai_app_sends_runs_with_model_tokens_and_messages(
    tmp_path: Path, convention: str, content_mode: str
):
    data_dir = tmp_path / "data"
    with receiver(data_dir, tmp_path / "receive.log") as rx, openai_server() as base_url:
        env = os.environ | {
            "OTEL_EXPORTER_OTLP_ENDPOINT": rx.url,
            "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer {rx.token}",
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": content_mode,
        }
        app = subprocess.run([sys.executable, "-c", APP, convention, base_url, QUESTION], env=env,
                             capture_output=True, text=True, timeout=60)  # fmt: skip
        assert app.returncode == 0 and app.stdout.strip() == ANSWER, app.stderr
    # The receiver closed its segment on SIGTERM; the inbox holds it, whole.
    with Warehouse(data_dir / "warehouse.duckdb") as wh:
        result = ingest_inbox(wh, data_dir / "inbox")
        assert [f.outcome for f in result.files] == ["ingested"]
        assert result.files[0].report["inserted"] == 1
        rows = wh.execute(
            "SELECT run_type, model, prompt_tokens, completion_tokens, project, inputs, outputs, metadata, trace_id, "
            "run_id FROM runs"
        )
    assert len(rows) == 1
    run_type, model, prompt, completion, project, inputs, outputs, metadata, trace_id, run_id = rows[0]
    assert (run_type, model, prompt, completion, project) == ("llm", "gpt-4o-mini", 12, 7, "support-bot")
    assert _messages_text(json.loads(inputs)) == [("system", "Be brief."), ("user", QUESTION)]
    assert _messages_text(json.loads(outputs)) == [("assistant", ANSWER)]
    assert json.loads(metadata)["receiver.source"] == "app"
    assert len(trace_id) == 32 and len(run_id) == 16  # the span's own ids, in hex: feedback can reach it
