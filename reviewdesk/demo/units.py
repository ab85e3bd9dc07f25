"""Demo traces (an agent's steps) and sessions (whole conversations): review units with known truth.

The run-level demo (`reviewdesk.demo.logs.generate_runs`) is left as it is; these runs come after it,
from a generator of their own, in projects of their own (TRACE_PROJECT, SESSION_PROJECT), so no
run-level queue samples them and the run-level figures do not move.

- A trace: a root `chain` run ("support-agent") with, in order, a `retriever` (policy-search), an
  `llm` planning call with the `tool` it asked for as its child, and an `llm` writing the answer.
  A trace may carry one injected failure (TRACE_FAILURES, at the stated rates): an irrelevant
  retrieval, a wrong tool, the right tool with wrong arguments, or a tool error.
- A session: 3-8 turns of one `session_id`, each turn a root `llm` run (some with a lookup_order
  `tool` child). A resolved session ends with the customer's thanks answered; an abandoned one ends
  with an unhelpful answer the customer never replies to.

Truth is kept as the run-level demo keeps it, in `metadata.demo_truth` (never shown to reviewers):
the unit's verdict on the run an item is keyed by (a trace's root: `correctness`, `helpfulness`,
`failure_mode`, `reference`; a session's last turn's root: `resolved`, `outcome`), and each judged
step's own answer on the step (`retrieval` on a retriever, `tool_call` on a tool). Every span ends at
least SETTLED before `end`, so a queue's `settle_minutes` (30 by default) never holds a demo unit back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

from reviewdesk.demo.logs import _context, _feedback, _iso, _Rng, _uuid
from reviewdesk.demo.script import (
    CHANNEL_POOL,
    COMMON,
    CUSTOMER,
    DEFAULT_START,
    LOCALES,
    MODEL_POOL,
    MODELS,
    PROMPT_POOL,
    PROMPTS,
    STATUSES,
    TIER_POOL,
    TOPICS,
    WINDOW,
)
from reviewdesk.ingest.canonical import COLUMNS

TRACE_PROJECT, SESSION_PROJECT = "support-agent", "support-chat"
# The failure injected in a trace's steps, with its rate; the rest of the traces have none.
TRACE_FAILURES = {"irrelevant_retrieval": 0.12, "wrong_tool": 0.06, "wrong_arguments": 0.06, "tool_error": 0.08}
TRACE_TOPICS = ("order_status", "refund", "address_change", "double_charge", "invoice")  # all use lookup_order
ABANDON_RATE = 0.4  # of sessions: the customer leaves unanswered
TURNS = (3, 8)
SETTLED = timedelta(hours=1)  # the newest span of any unit is at least this old at `end`
FOLLOW_UPS = (
    "ok, and when exactly will that be?",
    "Can you double-check order {order} please?",
    "Is there anything I need to do on my side?",
    "And what if the {product} doesn't arrive by then?",
    "Could you send that to {email} as well?",
)
THANKS = ("Great, that solves it. Thanks!", "Perfect, thank you so much!", "ok thanks, that's all I needed")
WELCOME = "You're welcome, {first}! Have a great day."
UNHELPFUL = (
    "I understand your concern. Is there anything else I can help with?",
    "Please check your account page for the latest information.",
)
WRONG_TOOLS = ("lookup_customer", "search_products")


def generate_unit_runs(traces: int, sessions: int, seed: int = 0, end: datetime | None = None) -> Iterator[dict]:
    """Yield the runs of `traces` traces, then of `sessions` sessions, as canonical run dicts (the keys of
    `reviewdesk.ingest.canonical.COLUMNS`, in order), deterministic for a seed; parents come before children.

    Units start spread over the 14 days before `end` (default: the demo's start) and all end SETTLED before it.
    """
    rng = _Rng(f"units:{seed}")  # a stream of its own: the run-level demo draws exactly as before
    end = end or DEFAULT_START
    end = (end.replace(tzinfo=UTC) if end.tzinfo is None else end.astimezone(UTC)) - SETTLED
    for i in range(traces):
        yield from _trace(rng, end - WINDOW + (WINDOW - timedelta(minutes=5)) * ((i + rng.random()) / traces))
    for i in range(sessions):
        yield from _session(rng, end - WINDOW + (WINDOW - timedelta(hours=1)) * ((i + rng.random()) / sessions))


def _run(**fields: Any) -> dict:
    """A canonical run: `fields` over empty defaults, with latency and totals derived, keys in order."""
    start, end = datetime.fromisoformat(fields["start_time"]), datetime.fromisoformat(fields["end_time"])
    fields.setdefault("prompt_tokens", 0)
    fields.setdefault("completion_tokens", 0)
    fields["total_tokens"] = fields["prompt_tokens"] + fields["completion_tokens"]
    fields["latency_ms"] = (end - start) / timedelta(microseconds=1) / 1000
    defaults = {"model": None, "cost_usd": 0.0, "status": "success", "error": None, "outputs": None,
                "tags": ["prod"], "user_feedback": None}  # fmt: skip
    return {k: fields.get(k, defaults.get(k)) for k in COLUMNS}


def _customer(rng: Random, at: datetime, topic: str) -> tuple[dict[str, str], dict, str]:
    """A customer's order context, the runs' metadata and the system prompt."""
    tier, version = rng.choice(TIER_POOL), rng.choice(PROMPT_POOL)
    ctx = _context(rng, at, tier)
    channel = rng.choice([c for c in CHANNEL_POOL if c != "email"])  # chats, not email tickets
    metadata = {"prompt_version": version, "channel": channel, "locale": rng.choice(LOCALES), "customer_tier": tier,
                "topic": topic}  # fmt: skip
    system = PROMPTS[version][3].format(desk="customer support") + CUSTOMER.format_map(ctx)
    return ctx, metadata, system


def _llm(rng: Random, model: str, messages: list[dict], reply: dict, at: datetime, name: str, **fields: Any) -> dict:
    """A model call answering `messages` with the assistant message `reply`, its tokens, cost and timing. Its
    `name` says what the call is for (plan, answer), never which model made it: queues show step names."""
    spec = MODELS[model]
    prompt = sum(len(m.get("content") or "") for m in messages) // 4 + 4 * len(messages)
    completion = len(reply.get("content") or json.dumps(reply.get("tool_calls"))) // 4 + rng.randint(2, 12)
    ms = min(max(spec.first_token_ms + completion * spec.ms_per_token * rng.uniform(0.6, 1.5), 300), 8000)
    cost = round((prompt * spec.usd_per_m_in + completion * spec.usd_per_m_out) / 1e6, 8)
    return _run(
        name=name, run_type="llm", model=model, start_time=_iso(at),
        end_time=_iso(at + timedelta(milliseconds=ms)), prompt_tokens=prompt, completion_tokens=completion,
        cost_usd=cost, inputs={"messages": messages}, outputs={"messages": [reply]}, **fields,
    )  # fmt: skip


def _after(run: dict, gap_ms: float = 5) -> datetime:
    return datetime.fromisoformat(run["end_time"]) + timedelta(milliseconds=gap_ms)


def _failure(rng: Random) -> str | None:
    draw = rng.random()
    for failure, rate in TRACE_FAILURES.items():
        if draw < rate:
            return failure
        draw -= rate
    return None


def _trace(rng: Random, at: datetime) -> list[dict]:
    """One agent trace: root chain, retrieval, planning call with its tool, answer; at most one failure."""
    topic, model, failure = rng.choice(TRACE_TOPICS), rng.choice(MODEL_POOL), _failure(rng)
    ctx, metadata, system = _customer(rng, at, topic)
    question = rng.choice(TOPICS[topic]["ask"]).format_map(ctx)
    messages = [{"role": "system", "content": system}, {"role": "user", "content": question}]
    trace_id, root_id = _uuid(rng), _uuid(rng)
    common = {"trace_id": trace_id, "session_id": None, "project": TRACE_PROJECT, "metadata": metadata}

    def step(**fields: Any) -> dict:
        """A child's ids, project and own copy of the metadata, with `fields`."""
        return {**common, "run_id": _uuid(rng), "parent_run_id": root_id, "metadata": dict(metadata), **fields}

    # retrieval: the topic's policy, or (irrelevant) another topic's
    source = rng.choice([t for t in TRACE_TOPICS if t != topic]) if failure == "irrelevant_retrieval" else topic
    doc = {"page_content": TOPICS[source]["good"][0].format_map(ctx), "metadata": {"source": f"policies/{source}.md"}}
    t0 = at + timedelta(milliseconds=rng.uniform(2, 20))
    retrieved = _run(**step(name="policy-search", run_type="retriever", start_time=_iso(t0),
                     end_time=_iso(t0 + timedelta(milliseconds=rng.uniform(40, 250))),
                     inputs={"query": question}, outputs={"documents": [doc]}))  # fmt: skip
    retrieved["metadata"]["demo_truth"] = {
        "retrieval": "irrelevant" if failure == "irrelevant_retrieval" else "relevant"
    }
    # the planning call asks for a tool: the wrong one, the right one with another order, or the right one
    tool_name, args = "lookup_order", {"order_id": ctx["order"]}
    other = dict(ctx)
    if failure == "wrong_tool":
        tool_name, args = rng.choice(WRONG_TOOLS), {"query": ctx["email"]}
    elif failure == "wrong_arguments":
        other["order"] = f"NW-{rng.randint(10**6, 10**7 - 1)}"
        other["status"] = rng.choice([s for s in STATUSES if s != ctx["status"]])
        other["status_text"] = STATUSES[other["status"]][1].format_map(ctx)
        args = {"order_id": other["order"]}
    call = {"id": f"call_{rng.getrandbits(96):024x}", "type": "function",
            "function": {"name": tool_name, "arguments": json.dumps(args)}}  # fmt: skip
    plan_in = [*messages, {"role": "system", "content": f"Policy ({doc['metadata']['source']}): {doc['page_content']}"}]
    ask = {"role": "assistant", "content": None, "tool_calls": [call]}
    plan = _llm(rng, model, plan_in, ask, _after(retrieved), "plan", **step())
    t1 = _after(plan, rng.uniform(2, 10))
    if failure == "tool_error":
        result, error, ms = None, "TimeoutError: orders API did not answer in 10 s", rng.uniform(10_000, 10_050)
    elif failure == "wrong_tool":
        result, error, ms = {"customer": ctx["email"], "tier": ctx["tier"]}, None, rng.uniform(40, 400)
    else:
        who = other if failure == "wrong_arguments" else ctx
        result = {"order_id": who["order"], "status": who["status"], "carrier": ctx["carrier"], "eta": ctx["eta_date"]}
        error, ms = None, rng.uniform(40, 400)
    tool = _run(**step(parent_run_id=plan["run_id"], name=tool_name, run_type="tool", start_time=_iso(t1),
                end_time=_iso(t1 + timedelta(milliseconds=ms)), inputs=args, outputs=result,
                status="error" if error else "success", error=error))  # fmt: skip
    tool["metadata"]["demo_truth"] = {"tool_call": "wrong" if failure in ("wrong_tool", "wrong_arguments") else "right"}
    # the answer, and the verdict a careful reviewer reaches on the whole trace
    good = rng.choice(TOPICS[topic]["good"]).format_map(ctx)
    if failure is None:
        text, verdict = good, ("correct", rng.randint(4, 5))
    elif failure == "irrelevant_retrieval":
        wrong = STATUSES[rng.choice([s for s in STATUSES if s != ctx["status"]])][1].format_map(ctx)
        text = rng.choice(TOPICS[topic]["wrong"]).format_map({**ctx, "wrong_status": wrong})
        verdict = ("incorrect", rng.randint(1, 2))
    elif failure == "wrong_arguments":
        text, verdict = rng.choice(TOPICS[topic]["good"]).format_map(other), ("incorrect", 1)
    else:  # no order data came back: a vague answer
        text, verdict = rng.choice(TOPICS[topic]["partial"]), ("partially_correct", 2)
    tool_msg = {"role": "tool", "tool_call_id": call["id"], "content": json.dumps(result if result else error)}
    answer_in = [*plan_in, ask, tool_msg]
    answer = _llm(rng, model, answer_in, {"role": "assistant", "content": text}, _after(tool), "answer", **step())
    truth = {"correctness": verdict[0], "helpfulness": verdict[1], "failure_mode": failure}
    if verdict[0] != "correct":
        truth["reference"] = good
    children = [retrieved, plan, tool, answer]
    llms = [plan, answer]
    root = _run(
        run_id=root_id, trace_id=trace_id, parent_run_id=None, session_id=None, project=TRACE_PROJECT,
        name="support-agent", run_type="chain", start_time=_iso(at), end_time=_iso(_after(answer, 3)),
        prompt_tokens=sum(r["prompt_tokens"] for r in llms),
        completion_tokens=sum(r["completion_tokens"] for r in llms),
        cost_usd=round(sum(r["cost_usd"] for r in llms), 8), inputs={"messages": messages}, outputs={"output": text},
        metadata={**metadata, "demo_truth": truth}, user_feedback=_feedback(rng, truth),
    )  # fmt: skip
    return [root, *children]


def _session(rng: Random, at: datetime) -> list[dict]:
    """One conversation of 3-8 turns, each turn a root model call; resolved or abandoned (truth on the last)."""
    topic, model = rng.choice(TRACE_TOPICS), rng.choice(MODEL_POOL)
    ctx, metadata, system = _customer(rng, at, topic)
    session_id, turns, abandoned = _uuid(rng), rng.randint(*TURNS), rng.random() < ABANDON_RATE
    history = [{"role": "system", "content": system}]
    user, runs = rng.choice(TOPICS[topic]["ask"]).format_map(ctx), []
    for turn in range(1, turns + 1):
        history.append({"role": "user", "content": user})
        last = turn == turns
        if abandoned:  # never the answer the customer needs
            text = rng.choice([*TOPICS[topic]["partial"], *UNHELPFUL, *COMMON["refusal"]]).format_map(ctx)
        elif last:
            text = WELCOME.format_map(ctx)
        else:
            text = rng.choice(TOPICS[topic]["good"]).format_map(ctx)
        run = _llm(rng, model, list(history), {"role": "assistant", "content": text}, at, "reply",
                   run_id=_uuid(rng), trace_id=_uuid(rng), parent_run_id=None, session_id=session_id,
                   project=SESSION_PROJECT, metadata=dict(metadata))  # fmt: skip
        runs.append(run)
        if "order" in text.lower() and rng.random() < 0.5:  # the answer looked the order up
            t = datetime.fromisoformat(run["start_time"]) + timedelta(milliseconds=run["latency_ms"] / 3)
            lookup = {"order_id": ctx["order"], "status": ctx["status"], "carrier": ctx["carrier"]}
            tool = _run(run_id=_uuid(rng), trace_id=run["trace_id"], parent_run_id=run["run_id"],
                        session_id=session_id, project=SESSION_PROJECT, name="lookup_order", run_type="tool",
                        start_time=_iso(t), end_time=_iso(t + timedelta(milliseconds=rng.uniform(40, 300))),
                        inputs={"order_id": ctx["order"]}, outputs=lookup,
                        metadata={**metadata, "demo_truth": {"tool_call": "right"}})  # fmt: skip
            runs.append(tool)
        history.append({"role": "assistant", "content": text})
        at = _after(run, rng.uniform(20_000, 180_000))  # the customer reads and types
        user = rng.choice(THANKS if turn + 1 == turns and not abandoned else FOLLOW_UPS).format_map(ctx)
    truth = {"resolved": "no" if abandoned else "yes", "outcome": "abandoned" if abandoned else "resolved",
             "turns": turns}  # fmt: skip
    last_root = next(r for r in reversed(runs) if r["parent_run_id"] is None)
    last_root["metadata"]["demo_truth"] = truth
    # the customer's thumbs on the last answer: as for a run of helpfulness 5 (resolved) or 2 (abandoned)
    last_root["user_feedback"] = _feedback(rng, {"failure_mode": None, "helpfulness": 2 if abandoned else 5})
    return runs


__all__ = ["ABANDON_RATE", "SESSION_PROJECT", "TRACE_FAILURES", "TRACE_PROJECT", "generate_unit_runs"]
