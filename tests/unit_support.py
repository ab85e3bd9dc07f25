"""Trace and session items built by hand as publish writes them (the issue 18 payload contract), a
queue of either unit with a per-step criterion, and stores holding one trace item to review, for the
review screen's, labels' and adjudication's tests and the benchmark."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from publish_support import load_queue
from review_support import PASSWORD, seed_batch, store_with_reviewers

from reviewdesk.review import accounts
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

# The per-step question the tests ask of each tool step (a choice, so number keys answer it).
TOOL_CRITERION = {
    "key": "tool_call",
    "type": "categorical",
    "options": ["right", "wrong"],
    "required": True,
    "per_step": ["tool"],
    "description": "Was the right tool called with the right arguments?",
}
# The per-step question asked of each retrieval.
RETRIEVAL_CRITERION = {
    "key": "retrieval",
    "type": "categorical",
    "options": ["relevant", "irrelevant"],
    "required": True,
    "per_step": ["retriever"],
}


def step(run_id: str, parent: str | None, depth: int, run_type: str, turn: int = 1, **fields: Any) -> dict:
    """One step as a unit's payload lists it: the structural fields, then what the reviewer sees."""
    return {"run_id": run_id, "parent_run_id": parent, "depth": depth, "turn": turn, "run_type": run_type, **fields}


def unit_payload(kind: str, unit_id: str, steps: list[dict]) -> dict:
    """An item's payload: its run (a trace's root, a session's last turn's root) and the unit's steps."""
    roots = [s for s in steps if s["depth"] == 0]
    run = {k: v for k, v in roots[-1].items() if k not in ("parent_run_id", "depth", "turn", "run_type")}
    return {"runs": {roots[-1]["run_id"]: run}, "unit": {"kind": kind, "id": unit_id, "steps": steps}}


def support_trace(tag: str = "t1", failing_tool: bool = True) -> list[dict]:
    """An agent's answer: a root chain, a retrieval, a model call asking for a tool, the tool (failing,
    unless not `failing_tool`), a second tool, and the model's final answer."""
    r = f"{tag}-root"
    question = [{"role": "user", "content": "Where is my order A1?"}]
    tool = {"status": "error", "error": "TimeoutError: orders API"} if failing_tool else {"status": "success"}
    return [
        step(
            r,
            None,
            0,
            "chain",
            name="support-agent",
            latency_ms=2400,
            status="success",
            total_tokens=310,
            inputs={"messages": question},
            outputs={"output": "Your order **A1** shipped on 3 May."},
        ),
        step(
            f"{tag}-ret",
            r,
            1,
            "retriever",
            name="policy-search",
            latency_ms=80,
            status="success",
            inputs={"query": "order status"},
            outputs={"documents": [{"page_content": "Orders ship in 2 days.", "metadata": {"source": "policy.md"}}]},
        ),
        step(
            f"{tag}-llm1",
            r,
            1,
            "llm",
            latency_ms=900,
            status="success",
            prompt_tokens=120,
            completion_tokens=20,
            total_tokens=140,
            inputs={"messages": question},
            outputs={
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "get_order", "arguments": '{"order_id": "A1"}'},
                    }
                ],
            },
        ),
        step(
            f"{tag}-tool1",
            f"{tag}-llm1",
            2,
            "tool",
            name="get_order",
            latency_ms=300,
            inputs={"order_id": "A1"},
            outputs={"output": "timeout"} if failing_tool else {"status": "shipped"},
            **tool,
        ),
        step(
            f"{tag}-tool2",
            r,
            1,
            "tool",
            name="get_order",
            latency_ms=120,
            status="success",
            inputs={"order_id": "A1"},
            outputs={"status": "shipped", "date": "3 May"},
        ),
        step(
            f"{tag}-llm2",
            r,
            1,
            "llm",
            latency_ms=1000,
            status="success",
            prompt_tokens=150,
            completion_tokens=20,
            total_tokens=170,
            inputs={"messages": question},
            outputs={"role": "assistant", "content": "Your order **A1** shipped on 3 May."},
        ),
    ]


def wide_trace(n: int, tag: str = "w") -> list[dict]:
    """A trace of `n` steps: a root chain, then model calls and tool calls in turn under it (every fifth tool fails)."""
    r = f"{tag}-root"
    steps = [
        step(
            r,
            None,
            0,
            "chain",
            name="agent",
            latency_ms=n * 10,
            status="success",
            inputs={"messages": [{"role": "user", "content": "Plan my trip"}]},
            outputs={"output": "Done: **trip planned**."},
        )
    ]
    for i in range(1, n):
        if i % 2:
            steps.append(
                step(
                    f"{tag}-{i}",
                    r,
                    1,
                    "llm",
                    latency_ms=50,
                    status="success",
                    total_tokens=40,
                    outputs={"role": "assistant", "content": f"Thinking, step {i}: *next* I call a tool."},
                )
            )
        else:
            steps.append(
                step(
                    f"{tag}-{i}",
                    r,
                    1,
                    "tool",
                    name=f"tool_{i}",
                    latency_ms=20,
                    status="error" if i % 10 == 0 else "success",
                    inputs={"q": i},
                    outputs={"result": i},
                )
            )
    return steps


def support_session(turns: int, tag: str = "s1") -> list[dict]:
    """A conversation of `turns` turns, each a model call (every third with a tool call under it)."""
    steps, history = [], []
    for t in range(1, turns + 1):
        history = [*history, {"role": "user", "content": f"Question {t}: where is order A{t}?"}]
        root = f"{tag}-turn{t}"
        answer = f"Answer {t}: order A{t} shipped."
        steps.append(
            step(
                root,
                None,
                0,
                "llm",
                turn=t,
                latency_ms=500 + t,
                status="success",
                total_tokens=100 + t,
                inputs={"messages": history},
                outputs={"role": "assistant", "content": answer},
            )
        )
        if t % 3 == 0:
            steps.append(
                step(
                    f"{root}-tool",
                    root,
                    1,
                    "tool",
                    turn=t,
                    name="get_order",
                    latency_ms=40,
                    status="success",
                    inputs={"order_id": f"A{t}"},
                    outputs={"status": "shipped"},
                )
            )
        history = [*history, {"role": "assistant", "content": answer}]
    return steps


def unit_queue(name: str, unit: str, extra: list[dict] | None = None, **changes: object) -> QueueConfig:
    """support-quality's rubric as a `unit` queue named `name`, with `extra` criteria (default: the tool question)."""
    raw = load_queue("support-quality").model_dump(mode="json", exclude_unset=True)
    raw["rubric"]["criteria"] += extra if extra is not None else [TOOL_CRITERION]
    return QueueConfig.model_validate({**raw, "name": name, "unit": unit, **changes})


TRACE_QUEUE = "support-traces-t"
TRACE_ITEM = f"{TRACE_QUEUE}-b1-0001"


@contextmanager
def trace_stores(tmp_path: Path, steps: list[dict] | None = None,
                 extra: list[dict] | None = None) -> Iterator[tuple[ReviewStore, Warehouse]]:  # fmt: skip
    """The review store of data dir `tmp_path` (reviewer1..3 and a lead, password `PASSWORD`) with one trace
    item, TRACE_ITEM, of `steps` (default `support_trace()`, criteria as `unit_queue` adds `extra`) needing
    two reviewers; and a warehouse holding its batch and item, so collect and resolve can run."""
    with store_with_reviewers(tmp_path) as store, Warehouse(tmp_path / "wh.duckdb") as wh:
        queue = unit_queue(TRACE_QUEUE, "trace", extra)
        payload = unit_payload("trace", "t1", steps or support_trace())
        seed_batch(store, queue, n=1, reviewers_needed=2, payloads=[payload])
        wh.execute(
            "INSERT INTO batches VALUES (?, ?, 'single', 'random', 1, '{}', ?, 1, 1, now(), now())",
            [f"{TRACE_QUEUE}-b1", TRACE_QUEUE, queue.rubric_version],
        )
        wh.execute(
            "INSERT INTO items (item_id, batch_id, queue, position, run_id, is_gold, reviewers_needed, unit, unit_id) "
            "VALUES (?, ?, ?, 1, ?, false, 2, 'trace', ?)",
            [TRACE_ITEM, f"{TRACE_QUEUE}-b1", TRACE_QUEUE, *[next(iter(payload["runs"]))] * 2],
        )
        accounts.add_user(store, "lead", "lead", PASSWORD)
        yield store, wh


@dataclass
class Row:
    """A step of the tree as the browser gets it: its row's text and icon, its class, whether it is sent
    open, how deep it nests, and the rows nested in it."""

    label: str
    icon: str
    css: str
    open: bool
    depth: int
    children: list[Row] = field(default_factory=list)


class _TreeParser(HTMLParser):
    """Each `<details>` that carries a step's class (not "Run details" or earlier messages) and its
    `<summary>` text, the icon (the `aria-hidden` span) apart."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Row] = []
        self.stack: list[Row | None] = []  # one per open <details>: a step's Row, or None for other folds
        self.summary: Row | None = None
        self.in_icon = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        found = dict(attrs)
        if tag == "details":
            css = found.get("class") or ""
            row = Row("", "", css, "open" in found, sum(r is not None for r in self.stack) + 1) if css else None
            if row:
                parent = next((r for r in reversed(self.stack) if r is not None), None)
                (parent.children if parent else self.rows).append(row)
            self.stack.append(row)
        elif tag == "summary" and self.stack and self.stack[-1] is not None and not self.stack[-1].label:
            self.summary = self.stack[-1]
        elif tag == "span" and self.summary and found.get("aria-hidden") == "true":
            self.in_icon = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "details" and self.stack:
            self.stack.pop()
        elif tag == "summary":
            self.summary = None
        elif tag == "span":
            self.in_icon = False

    def handle_data(self, data: str) -> None:
        if self.summary and self.in_icon:
            self.summary.icon += data
        elif self.summary:
            self.summary.label += data


def tree_rows(html_text: str) -> list[Row]:
    """The top steps of the trees in `html_text` (the nested ones under each `children`)."""
    parser = _TreeParser()
    parser.feed(html_text)
    return parser.rows


def every_row(rows: list[Row]) -> list[Row]:
    """Rows and everything nested in them, in page order."""
    return [r for row in rows for r in (row, *every_row(row.children))]
