"""push-feedback to LangSmith and Langfuse through their real SDKs, against local stand-ins that check each
request against the vendors' published API shapes (tests/vendor_fakes.py; neither server runs here):
ids are deterministic, a 500 is retried, a rerun sends nothing, a changed consensus updates the same
feedback, a refusal is recorded per verdict and tried again by the next push, and a per-step verdict of
a trace goes to the step's child run (LangSmith) or observation (Langfuse)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from feedback_support import (
    both_revise,
    decide_step,
    first_tool_split,
    ingest_runs,
    queue_over,
    review_to_consensus,
    trace_queue_over,
    trace_runs,
)
from typer.testing import CliRunner
from vendor_fakes import fake_at_free_port, langfuse_app, langsmith_app, serving

from reviewdesk.cli import app
from reviewdesk.errors import ConfigError
from reviewdesk.feedback.contracts import NAMESPACE
from reviewdesk.feedback.delivery import push_feedback
from reviewdesk.feedback.factory import get_target
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]
APP = "https://review.example.com"
KEY = "lsv2_test_key"
PUBLIC, SECRET = "pk-lf-test", "sk-lf-test"
SESSION = "6f1e2d3c-4b5a-4987-8654-3210fedcba98"  # the LangSmith project the runs were traced to


def run(i: int, **ids: str) -> dict:
    return {"project": ids.pop("project"), "run_type": "llm", "status": "success", "model": "gpt-4o-mini", **ids,
            "inputs": {"messages": [{"role": "user", "content": f"Where is order {i}?"}]},
            "outputs": {"messages": [{"role": "assistant", "content": f"Order {i} ships today."}]}}  # fmt: skip


def langsmith_runs() -> list[dict]:
    """Three LangSmith runs (UUID ids, their trace, the project's id), and one run ingested under another id."""
    runs = [run(i, run_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"ls-run-{i}")),
                trace_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"ls-trace-{i}")), project=SESSION) for i in range(3)]
    return [*runs, run(3, run_id="app-log-0003", project=SESSION)]  # fmt: skip


def langfuse_runs() -> list[dict]:
    """Three observations (span ids) in their traces, and one run without a trace id."""
    runs = [run(i, run_id=f"{i + 1:016x}", trace_id=f"{i + 7:032x}", project="lf") for i in range(3)]
    return [*runs, run(3, run_id="no-trace-0003", project="lf")]


TRACE_OF = {r["run_id"]: r.get("trace_id") for r in langsmith_runs() + langfuse_runs()}


def agree(reviewer: str, item: dict) -> dict:
    return {"correctness": "correct", "helpfulness": 4}


@pytest.fixture
def reviewed(tmp_path: Path, request: pytest.FixtureRequest):
    """Both stores with the parametrized runs reviewed to unanimous consensus (queue `shapes`)."""
    runs, project = request.param
    with Warehouse(tmp_path / "warehouse.duckdb") as wh, ReviewStore(f"sqlite:///{tmp_path / 'r.sqlite'}") as store:
        ingest_runs(wh, tmp_path / "runs.jsonl", runs)
        queue = queue_over(project, "shapes", size=len(runs))
        items = review_to_consensus(wh, store, queue, agree)
        yield wh, store, queue, {i["item_id"]: i["run_id"] for i in items}


def expected_ids(queue: str, runs: dict[str, str], criteria=("correctness", "helpfulness")) -> set[str]:
    """The feedback ids, computed by hand: UUID5 of queue/item/criterion/run in reviewdesk's namespace."""
    return {str(uuid.uuid5(NAMESPACE, f"{queue}/{i}/{c}/{r}")) for i, r in runs.items() for c in criteria}


def attempts(wh: Warehouse, target: str) -> dict[str, tuple[str, int]]:
    rows = wh.execute("SELECT feedback_id, status, attempts FROM feedback_pushes WHERE target = ?", [target])
    return {f: (s, a) for f, s, a in rows}


@pytest.mark.parametrize("reviewed", [(langsmith_runs(), SESSION)], indirect=True)
def test_langsmith_feedback_through_its_sdk(reviewed):
    wh, store, queue, runs = reviewed
    addressable = {i: r for i, r in runs.items() if r != "app-log-0003"}
    fake = fake_at_free_port()
    with serving(langsmith_app(fake, KEY), fake):
        env = {"LANGSMITH_API_KEY": KEY, "LANGSMITH_ENDPOINT": f"{fake.url}/api/v1"}
        target = get_target("langsmith", env=env)
        fake.fail_next(2)  # the first verdict meets two server errors
        first = push_feedback(wh, queue.name, target, APP, backoff=0.01)
        assert (first.created, first.failed, first.unaddressable) == (6, 0, 2)
        assert fake.refused == []  # every request had the published shape
        posts = {body["id"]: body for method, _, body in fake.writes() if method == "POST"}
        assert set(posts) == expected_ids(queue.name, addressable)
        tried = attempts(wh, "langsmith")
        assert sorted(a for s, a in tried.values() if s == "sent") == [1, 1, 1, 1, 1, 3]
        body = next(b for b in posts.values() if b["key"] == "helpfulness")
        item = next(i for i, r in addressable.items() if r == body["run_id"])
        assert (body["score"], body["value"], body["session_id"]) == (4.0, "4", SESSION)
        assert body["trace_id"] == TRACE_OF[body["run_id"]]
        assert body["feedback_source"]["metadata"]["method"] == "unanimous"
        assert f"{APP}/?item={item}" in body["comment"]

        # A rerun sends nothing; a changed consensus updates the same feedback (PATCH), never a second one.
        sent = len(fake.requests)
        assert push_feedback(wh, queue.name, target, APP).unchanged == 6 and len(fake.requests) == sent
        changed = next(iter(addressable))
        both_revise(wh, store, queue, changed, {"correctness": "incorrect", "helpfulness": 4})
        third = push_feedback(wh, queue.name, target, APP)
        assert (third.updated, third.unchanged, third.created) == (1, 5, 0)
        method, path, patch = fake.requests[-1]
        fid = str(uuid.uuid5(NAMESPACE, f"{queue.name}/{changed}/correctness/{addressable[changed]}"))
        assert (method, path, patch["value"]) == ("PATCH", f"/api/v1/feedback/{fid}", "incorrect")
        assert len(fake.stored) == 6 and fake.stored[fid]["value"] == "incorrect"

        # A push cut short after LangSmith stored the feedback: the create finds the id taken and updates it.
        wh.execute("DELETE FROM feedback_pushes WHERE feedback_id = ?", [fid])
        assert push_feedback(wh, queue.name, target, APP).failed == 0
        assert [r[0] for r in fake.requests[-2:]] == ["POST", "PATCH"] and len(fake.stored) == 6
        target.close()


@pytest.mark.parametrize("reviewed", [(langsmith_runs(), SESSION)], indirect=True)
def test_a_refusal_is_recorded_per_verdict_and_sent_by_the_next_push(reviewed):
    wh, _, queue, _ = reviewed
    fake = fake_at_free_port()
    with serving(langsmith_app(fake, KEY), fake):
        wrong = get_target("langsmith", env={"LANGSMITH_API_KEY": "wrong", "LANGSMITH_ENDPOINT": f"{fake.url}/api/v1"})
        refused = push_feedback(wh, queue.name, wrong, APP, backoff=0.01)
        assert (refused.failed, refused.created) == (6, 0)
        assert {a for s, a in attempts(wh, "langsmith").values() if s == "failed"} == {1}  # a 401 is not retried
        assert all("401" in f["error"] or "auth" in f["error"].lower() for f in refused.failures)
        right = get_target("langsmith", env={"LANGSMITH_API_KEY": KEY, "LANGSMITH_ENDPOINT": f"{fake.url}/api/v1"})
        assert push_feedback(wh, queue.name, right, APP).created == 6
        wrong.close()
        right.close()


@pytest.mark.parametrize("reviewed", [(langfuse_runs(), "lf")], indirect=True)
def test_langfuse_scores_through_its_sdk(reviewed):
    wh, store, queue, runs = reviewed
    addressable = {i: r for i, r in runs.items() if r != "no-trace-0003"}
    fake = fake_at_free_port()
    with serving(langfuse_app(fake, PUBLIC, SECRET), fake):
        env = {"LANGFUSE_PUBLIC_KEY": PUBLIC, "LANGFUSE_SECRET_KEY": SECRET, "LANGFUSE_HOST": fake.url}
        target = get_target("langfuse", env=env)
        fake.fail_next(1)
        first = push_feedback(wh, queue.name, target, APP, backoff=0.01)
        assert (first.created, first.failed, first.unaddressable) == (6, 0, 2)
        assert fake.refused == []
        assert set(fake.stored) == expected_ids(queue.name, addressable)
        assert sorted(a for _, a in attempts(wh, "langfuse").values() if a) == [1, 1, 1, 1, 1, 2]
        by_name = {(s["observationId"], s["name"]): s for s in fake.stored.values()}
        run_id = next(iter(addressable.values()))
        correctness, helpfulness = by_name[(run_id, "correctness")], by_name[(run_id, "helpfulness")]
        assert (correctness["value"], correctness["dataType"]) == ("correct", "CATEGORICAL")
        assert (helpfulness["value"], helpfulness["dataType"]) == (4.0, "NUMERIC")
        assert correctness["traceId"] == TRACE_OF[run_id]
        assert correctness["metadata"]["confidence"] == 0.75

        # A rerun sends nothing; a changed consensus sends the same id and timestamp: Langfuse updates the score.
        sent = len(fake.requests)
        assert push_feedback(wh, queue.name, target, APP).unchanged == 6 and len(fake.requests) == sent
        changed = next(i for i, r in addressable.items() if r == run_id)
        both_revise(wh, store, queue, changed, {"correctness": "partially_correct", "helpfulness": 4})
        assert push_feedback(wh, queue.name, target, APP).updated == 1
        (score,) = fake.requests[-1][2]
        assert (score["id"], score["value"]) == (correctness["id"], "partially_correct")
        assert score["timestamp"] == correctness["timestamp"] and fake.refused == []
        target.close()


def ls_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ls-agent-{name}"))


# One agent trace per tool, ids as that tool names them: (trace id, root, model call, (tool call 1, tool call 2)).
# A LangSmith trace id is its root run's id; a Langfuse trace holds observations with span ids of their own.
AGENT = {
    "langsmith": (ls_id("root"), ls_id("root"), ls_id("llm"), (ls_id("tool1"), ls_id("tool2"))),
    "langfuse": ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "00f067aa0ba902b8",
                 ("00f067aa0ba902b9", "00f067aa0ba902ba")),
}  # fmt: skip


def placed(to: str, sent: dict) -> tuple[str, str, str | None]:
    """(criterion, the run it is on, its trace) as the tool received a feedback or score."""
    if to == "langsmith":
        return sent["key"], sent["run_id"], sent["trace_id"]
    return sent["name"], sent["observationId"], sent["traceId"]


@pytest.mark.parametrize("to", ["langsmith", "langfuse"])
def test_a_decided_step_verdict_goes_to_the_child_run_in_its_trace(tmp_path: Path, to: str):
    trace, root, llm, (tool1, tool2) = AGENT[to]
    project = SESSION if to == "langsmith" else "lf"
    with Warehouse(tmp_path / "warehouse.duckdb") as wh, ReviewStore(f"sqlite:///{tmp_path / 'r.sqlite'}") as store:
        ingest_runs(wh, tmp_path / "runs.jsonl", trace_runs(trace, root, llm, (tool1, tool2), project))
        queue = trace_queue_over(project, "agent", size=1)
        (item,) = review_to_consensus(wh, store, queue, first_tool_split)
        fake = fake_at_free_port()
        app, env = {
            "langsmith": (langsmith_app(fake, KEY),
                          {"LANGSMITH_API_KEY": KEY, "LANGSMITH_ENDPOINT": f"{fake.url}/api/v1"}),
            "langfuse": (langfuse_app(fake, PUBLIC, SECRET),
                         {"LANGFUSE_PUBLIC_KEY": PUBLIC, "LANGFUSE_SECRET_KEY": SECRET, "LANGFUSE_HOST": fake.url}),
        }[to]  # fmt: skip
        with serving(app, fake):
            target = get_target(to, env=env)
            first = push_feedback(wh, queue.name, target, APP)  # tool1 is in dispute: the root's two and tool2's
            assert (first.created, first.failed, first.unaddressable, first.runs_gone) == (3, 0, 0, 0)
            decide_step(wh, store, queue, item["item_id"], tool1, "wrong")
            second = push_feedback(wh, queue.name, target, APP)
            assert (second.created, second.updated, second.unchanged, second.failed) == (1, 0, 3, 0)
            target.close()
        assert fake.refused == []
        judged = [("correctness", root), ("helpfulness", root), ("tool_call", tool1), ("tool_call", tool2)]
        assert {placed(to, f) for f in fake.stored.values()} == {(c, r, trace) for c, r in judged}  # not the llm
        ids = {str(uuid.uuid5(NAMESPACE, f"{queue.name}/{item['item_id']}/{c}/{r}")) for c, r in judged}
        assert set(fake.stored) == ids and len(ids) == 4  # one id per step: tool1's and tool2's never collide
        decided = next(f for f in fake.stored.values() if placed(to, f)[:2] == ("tool_call", tool1))
        metadata = decided["feedback_source"]["metadata"] if to == "langsmith" else decided["metadata"]
        assert (decided["value"], metadata["method"]) == ("wrong", "adjudicated")
        assert f"{APP}/?item={item['item_id']}" in decided["comment"]


@pytest.mark.parametrize(("to", "needs"), [("langsmith", "LANGSMITH_API_KEY"), ("langfuse", "LANGFUSE_PUBLIC_KEY"),
                                           ("phoenix", "PHOENIX_COLLECTOR_ENDPOINT"), ("braintrust", "Unknown target")])
def test_push_feedback_without_credentials_says_which_to_set(tmp_path: Path, monkeypatch, to: str, needs: str):
    for name in ("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY", "LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY",
                 "PHOENIX_COLLECTOR_ENDPOINT", "PHOENIX_BASE_URL"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "d"), "--queues-dir", str(ROOT / "queues"),
                                      "push-feedback", "support-quality", "--to", to])  # fmt: skip
    assert result.exit_code == 2
    assert needs in result.output


def test_the_flow_retries_only_transient_faults_and_says_which_key_is_missing(tmp_path: Path, monkeypatch):
    from flows.feedback import push_task
    from flows.retries import transient

    assert (push_task.retries, push_task.retry_condition_fn) == (3, transient)
    monkeypatch.delenv("LANGSMITH_API_KEY", raising=False)
    monkeypatch.delenv("LANGCHAIN_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="LANGSMITH_API_KEY"):
        push_task.fn("langsmith", ["support-quality"], None, str(tmp_path), str(ROOT / "queues"))
