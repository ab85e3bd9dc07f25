"""Helpers for the push-feedback tests: a queue over given runs (or traces), reviewed through the library to
consensus, and a lead's decision on a disputed step."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path

from publish_support import load_queue
from review_support import PASSWORD
from unit_support import unit_queue

from reviewdesk.errors import AlreadyExists
from reviewdesk.ingest import ingest_file
from reviewdesk.labels.adjudication import decide
from reviewdesk.labels.collection import collect
from reviewdesk.labels.resolve import resolve_queue
from reviewdesk.review import accounts
from reviewdesk.review.drafts import Draft
from reviewdesk.review.publication import publish
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import revise, submit
from reviewdesk.sample.designs import draw_batch
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

REVIEWERS = ("reviewer1", "reviewer2")
Answer = Callable[[str, dict], dict]  # (reviewer, item) -> answers


def queue_over(project: str, name: str, size: int) -> QueueConfig:
    """support-quality's rubric over the project's LLM runs: every run sampled, two reviewers each, no gold."""
    queue = load_queue(
        "support-quality", sampling={"filter": f"project = '{project}' AND run_type = 'llm'", "size": size},
        reviewers_per_item=2, overlap_fraction=1.0, gold_fraction=0.0, gold_source=None, promotion=None,
        reviewer_sees=["inputs", "outputs"],
    )  # fmt: skip
    return queue.model_copy(update={"name": name})


def trace_queue_over(project: str, name: str, size: int) -> QueueConfig:
    """queue_over's settings over the project's traces, with the per-step `tool_call` question; a trace is
    complete once sent (settle_minutes 0)."""
    return unit_queue(
        name, "trace", sampling={"filter": f"root.project = '{project}'", "size": size}, reviewers_per_item=2,
        overlap_fraction=1.0, gold_fraction=0.0, gold_source=None, promotion=None,
        reviewer_sees=["name", "run_type", "inputs", "outputs"], settle_minutes=0,
    )  # fmt: skip


def trace_runs(trace_id: str, root: str, llm: str, tools: tuple[str, str], project: str) -> list[dict]:
    """A support agent's trace as native runs: the root answering, a model call and two get_order tool calls
    under it; the ids as the tool gave them."""

    def run(run_id: str, parent: str | None, run_type: str, inputs: dict, outputs: dict) -> dict:
        return {"run_id": run_id, "trace_id": trace_id, "parent_run_id": parent, "project": project, "name": run_type,
                "run_type": run_type, "status": "success", "inputs": inputs, "outputs": outputs}  # fmt: skip

    question = {"messages": [{"role": "user", "content": "Where is my order A1?"}]}
    answer = {"messages": [{"role": "assistant", "content": "Order A1 shipped on 3 May."}]}
    return [run(root, None, "chain", question, answer), run(llm, root, "llm", question, answer),
            *(run(t, root, "tool", {"order_id": "A1"}, {"status": "shipped"}) for t in tools)]  # fmt: skip


def first_tool_split(reviewer: str, item: dict) -> dict:
    """Both reviewers call the answer correct and rate it 4, and call each tool call right, except the trace's
    first: reviewer1 calls it wrong, so that step is in dispute."""
    tools = [s["run_id"] for s in item["payload"]["unit"]["steps"] if s["run_type"] == "tool"]
    calls = {t: "wrong" if t == tools[0] and reviewer == "reviewer1" else "right" for t in tools}
    return {"correctness": "correct", "helpfulness": 4, "tool_call": calls}


def decide_step(wh: Warehouse, store: ReviewStore, queue: QueueConfig, item_id: str, step: str, value: str) -> None:
    """A lead decides the item's disputed `tool_call` step; then collect and resolve."""
    with contextlib.suppress(AlreadyExists):
        accounts.add_user(store, "lead", "lead", PASSWORD)
    decide(store, item_id, "tool_call", {step: value}, "the orders API timed out", "lead")
    resolve(wh, store, queue)


def ingest_runs(wh: Warehouse, path: Path, runs: list[dict]) -> None:
    """Native runs written to `path` as JSONL and ingested."""
    path.write_text("".join(json.dumps(r) + "\n" for r in runs))
    report = ingest_file(wh, path, "native")
    assert report.inserted == len(runs), report


def review_to_consensus(wh: Warehouse, store: ReviewStore, queue: QueueConfig, answer: Answer) -> list[dict]:
    """Sample every run, publish, let both reviewers answer each item, collect and resolve; the items."""
    batch = draw_batch(wh, queue, seed=1)
    publish(wh, store, queue, batch.batch_id)
    for reviewer in REVIEWERS:
        with contextlib.suppress(AlreadyExists):  # a second queue in the same store
            accounts.add_user(store, reviewer, "reviewer", PASSWORD)
        while (item := next_item(store, queue.name, reviewer)) is not None:
            submit(store, item["item_id"], reviewer, Draft(answer(reviewer, item)))
    resolve(wh, store, queue)
    return store.items(queue.name)


def resolve(wh: Warehouse, store: ReviewStore, queue: QueueConfig) -> None:
    """Collect new submissions and rebuild the queue's consensus."""
    collect(store, wh)
    resolve_queue(store, wh, queue.name)


def both_revise(wh: Warehouse, store: ReviewStore, queue: QueueConfig, item_id: str, answers: dict) -> None:
    """Both reviewers edit their review of `item_id` to `answers`; then collect and resolve."""
    for reviewer in REVIEWERS:
        revise(store, item_id, reviewer, Draft(answers))
    resolve(wh, store, queue)


def consensus(wh: Warehouse, queue: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(item, criterion) -> (value, method) of the queue's consensus."""
    rows = wh.execute("SELECT item_id, criterion, value, method FROM consensus WHERE queue = ?", [queue])
    return {(i, c): (v, m) for i, c, v, m in rows}
