"""The demo generator must be deterministic, internally consistent and faithful to each export format."""

from __future__ import annotations

import json
import random
import re
import uuid
from collections import Counter, defaultdict
from datetime import datetime

import pandas as pd
import pytest

from reviewdesk.demo import exports, logs, script
from reviewdesk.demo.exports import RUN_KEYS, write_runs
from reviewdesk.demo.logs import generate_runs

HEX32, HEX16 = re.compile(r"[0-9a-f]{32}"), re.compile(r"[0-9a-f]{16}")


@pytest.fixture(scope="module")
def runs() -> list[dict]:
    return list(generate_runs(4000, seed=7))


def test_deterministic_per_seed_and_exactly_n() -> None:
    assert list(generate_runs(300, seed=1)) == list(generate_runs(300, seed=1))
    assert list(generate_runs(300, seed=1)) != list(generate_runs(300, seed=2))
    assert [len(list(generate_runs(n, seed=n))) for n in (0, 1, 2, 3, 57)] == [0, 1, 2, 3, 57]
    a, b = random.Random(5), random.Random(5)  # the fast uuid equals the stdlib derivation
    expected = [str(uuid.UUID(int=b.getrandbits(128), version=4)) for _ in range(500)]
    assert [logs._uuid(a) for _ in range(500)] == expected


def test_runs_are_canonical_and_consistent(runs: list[dict]) -> None:
    by_id = {r["run_id"]: r for r in runs}
    assert len(by_id) == len(runs)
    for r in runs:
        assert tuple(r) == RUN_KEYS
        assert r["total_tokens"] == r["prompt_tokens"] + r["completion_tokens"]
        start, end = datetime.fromisoformat(r["start_time"]), datetime.fromisoformat(r["end_time"])
        assert start.utcoffset().total_seconds() == 0
        assert (end - start).total_seconds() * 1000 == pytest.approx(r["latency_ms"], abs=1e-6)
        assert (r["error"] is None) == (r["status"] == "success")
        assert uuid.UUID(r["run_id"]).version == 4
        if r["run_type"] == "llm":  # system prompt, then user/assistant turns ending with the user
            roles = [m["role"] for m in r["inputs"]["messages"]]
            assert roles == ["system"] + ["user", "assistant"] * (len(roles) // 2 - 1) + ["user"]
        if r["run_type"] == "tool":
            parent = by_id[r["parent_run_id"]]
            assert parent["trace_id"] == r["trace_id"] and parent["run_type"] == "llm"
            assert r["model"] is None and r["total_tokens"] == 0 and r["cost_usd"] == 0
            assert "demo_truth" not in r["metadata"] and r["outputs"]["order_id"] == r["inputs"]["order_id"]
    assert 0.06 < Counter(r["project"] for r in runs)["billing-bot"] / len(runs) < 0.14
    assert 0.7 < sum(r["user_feedback"] is None for r in runs) / len(runs) < 0.9


def test_pair_twins_share_inputs_but_not_model(runs: list[dict]) -> None:
    by_input = defaultdict(list)
    for r in runs:
        if r["run_type"] == "llm":
            by_input[json.dumps(r["inputs"])].append(r)
    pairs = [group for group in by_input.values() if len(group) > 1]
    assert all(len(group) == 2 for group in pairs)  # no accidental duplicate inputs
    assert 0.1 < len(pairs) / len(by_input) < 0.2
    for a, b in pairs:
        assert a["model"] != b["model"] and a["trace_id"] != b["trace_id"]
        assert a["inputs"] == b["inputs"] and a["inputs"] is not b["inputs"]


def test_outputs_match_demo_truth_and_tool_results(runs: list[dict]) -> None:
    modes, tool_calls = Counter(), 0
    for r in runs:
        truth = r["metadata"].get("demo_truth")
        if r["status"] == "error":
            assert truth is None and r["outputs"] is None and r["completion_tokens"] == 0
        if r["status"] == "error" or r["run_type"] == "tool":
            continue
        modes[truth["failure_mode"]] += 1
        *tool_turn, final = r["outputs"]["messages"]
        if truth["failure_mode"] == "refusal":
            assert truth["helpfulness"] <= 2 and final["content"] in script.COMMON["refusal"]
        if truth["correctness"] == "correct":
            assert truth["failure_mode"] is None and truth["helpfulness"] >= 4
        if truth["failure_mode"] in ("hallucination", "off_policy"):
            assert truth["correctness"] == "incorrect" and truth["helpfulness"] <= 2
        if tool_turn:
            tool_calls += 1
            (call,), result = tool_turn[0]["tool_calls"], tool_turn[1]
            assert call["function"]["name"] == "lookup_order" and result["tool_call_id"] == call["id"]
            order = json.loads(call["function"]["arguments"])["order_id"]
            assert json.loads(result["content"])["order_id"] == order
    assert set(modes) == {None, "hallucination", "refusal", "off_policy", "bad_format"}
    assert 0.6 < modes[None] / modes.total() < 0.9 and 0.1 < tool_calls / modes.total() < 0.3
    assert 0.02 < sum(r["status"] == "error" for r in runs) / len(runs) < 0.08


def test_columnar_and_jsonl_round_trip(tmp_path) -> None:
    sample = list(generate_runs(600, seed=3))
    for name, read in (("runs.parquet", pd.read_parquet), ("runs.csv", pd.read_csv)):
        assert write_runs(iter(sample), tmp_path / name) == 600
        df = read(tmp_path / name)
        assert list(df.columns) == list(RUN_KEYS) and len(df) == 600
        assert json.loads(df["inputs"][5]) == sample[5]["inputs"]
        assert df["outputs"].isna().sum() == sum(r["outputs"] is None for r in sample)
        assert df["total_tokens"].sum() == sum(r["total_tokens"] for r in sample)
    assert write_runs(iter(sample), tmp_path / "runs.jsonl") == 600
    lines = (tmp_path / "runs.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == sample
    with pytest.raises(ValueError, match="unknown format"):
        write_runs(sample, tmp_path / "x.jsonl", fmt="jaeger")


def test_langsmith_records(runs: list[dict], tmp_path) -> None:
    keys = {
        "id",
        "name",
        "run_type",
        "start_time",
        "end_time",
        "inputs",
        "outputs",
        "error",
        "tags",
        "extra",
        "trace_id",
        "parent_run_id",
        "session_id",
        "session_name",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "total_cost",
        "prompt_cost",
        "completion_cost",
        "status",
        "feedback_stats",
        "dotted_order",
        "child_run_ids",
        "events",
        "serialized",
        "reference_example_id",
    }
    llm = next(r for r in runs if r["model"] and r["session_id"] and r["user_feedback"])
    rec = exports.to_langsmith(llm)
    assert set(rec) == keys and isinstance(rec["total_cost"], str)
    assert float(rec["total_cost"]) == pytest.approx(llm["cost_usd"], abs=1e-8)
    assert rec["extra"]["metadata"]["ls_model_name"] == llm["model"]
    assert rec["extra"]["metadata"]["thread_id"] == llm["session_id"]
    assert rec["feedback_stats"]["user_score"]["avg"] == llm["user_feedback"]
    assert uuid.UUID(rec["session_id"]) and rec["session_name"] == llm["project"]
    assert write_runs(runs[:400], tmp_path / "ls.jsonl", fmt="langsmith") == 400
    records = {r["id"]: r for r in map(json.loads, (tmp_path / "ls.jsonl").read_text().splitlines())}
    children = [r for r in records.values() if r["parent_run_id"]]
    assert children and all("ls_model_name" not in c["extra"]["metadata"] for c in children)
    for child in children:
        assert child["dotted_order"].startswith(records[child["parent_run_id"]]["dotted_order"] + ".")


def test_otel_requests(runs: list[dict], tmp_path) -> None:
    request = exports.to_otel_request(runs[:300])
    services = [rs["resource"]["attributes"][0]["value"]["stringValue"] for rs in request["resourceSpans"]]
    assert sorted(services) == ["billing-bot", "support"]
    spans = [s for rs in request["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert len(spans) == 300
    for span in spans:
        assert HEX32.fullmatch(span["traceId"]) and HEX16.fullmatch(span["spanId"])
        assert int(span["endTimeUnixNano"]) > int(span["startTimeUnixNano"]) > 1.7e18
        attrs = {a["key"]: a["value"] for a in span["attributes"]}
        if span["kind"] == 3:
            assert attrs["gen_ai.usage.input_tokens"]["intValue"].isdigit()
            first = json.loads(attrs["gen_ai.input.messages"]["stringValue"])[0]
            assert first["role"] == "system" and first["parts"][0]["type"] == "text"
        else:
            assert HEX16.fullmatch(span["parentSpanId"]) and span["name"] == "execute_tool lookup_order"
        assert (span["status"]["code"] == 2) == ("error.type" in attrs)
        assert attrs["app.tags"]["arrayValue"]["values"][0] == {"stringValue": "prod"}
    assert write_runs(iter(runs), tmp_path / "otel.jsonl", fmt="otel") == len(runs)
    traces_per_line = []
    for line in (tmp_path / "otel.jsonl").read_text().splitlines():
        line_spans = [s for rs in json.loads(line)["resourceSpans"] for s in rs["scopeSpans"][0]["spans"]]
        assert len(line_spans) <= 50
        traces_per_line.append({s["traceId"] for s in line_spans})
    all_traces = [t for traces in traces_per_line for t in traces]  # a trace is never split
    assert len(all_traces) == len(set(all_traces))
