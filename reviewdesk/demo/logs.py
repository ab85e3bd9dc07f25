"""Synthetic production logs of an online shop's customer-support chat bot.

reviewdesk exists so humans can review LLM outputs; building, testing and demoing it needs
realistic traffic without real customer data. This module fabricates it from the scripted world in
`reviewdesk.demo.script`: multi-turn chats about orders, refunds, shipping, accounts and billing,
answered by several models and prompt versions of different quality, with tool calls, errors, user
feedback and A/B pairs (one input answered by two models). Every flaw is injected on purpose, so
``metadata["demo_truth"]`` holds the verdict a careful reviewer should reach (for a flawed answer,
also the good one as `reference`). `reviewdesk.demo.exports` writes the runs to files.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

from reviewdesk.demo.script import (
    CARRIERS,
    CHANNEL_POOL,
    CHILD_RATE,
    CLARIFY,
    COMMON,
    CUSTOMER,
    DEFAULT_START,
    DESKS,
    ERROR_RATE,
    ERRORS,
    EXTRA_TURNS_POOL,
    FAILURES,
    FEEDBACK_RATE,
    FIRST_NAMES,
    LAST_NAMES,
    LOCALES,
    MODEL_POOL,
    MODELS,
    MONTHS,
    PAIR_RATE,
    PARTIAL_RATE,
    POSITIVE,
    PRODUCTS,
    PROMPT_POOL,
    PROMPTS,
    STATUS_POOL,
    STATUSES,
    TIER_POOL,
    TOOL_RATE,
    TOOL_TOPICS,
    TOPIC_POOLS,
    TOPICS,
    WEEKDAYS,
    WINDOW,
)

_UUID_CLEAR, _UUID_V4 = ~(0xF000 << 64 | 0xC000 << 48), 0x4000 << 64 | 0x8000 << 48


class _Rng(Random):
    """Random whose choice and randint scale random() instead of drawing unbiased bits: about 5x
    faster, which matters because every run takes dozens of picks."""

    def choice(self, seq: Sequence[Any]) -> Any:
        return seq[int(self.random() * len(seq))]

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))


@dataclass(slots=True)
class _Chat:
    """A customer conversation; an A/B twin is the same chat answered by another model."""

    project: str
    topic: str
    ctx: dict[str, str]
    messages: list[dict]
    session_id: str | None
    metadata: dict


def _uuid(rng: Random) -> str:
    """The same string as str(uuid.UUID(int=rng.getrandbits(128), version=4)), made faster."""
    h = f"{rng.getrandbits(128) & _UUID_CLEAR | _UUID_V4:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _day(dt: datetime) -> str:
    return f"{WEEKDAYS[dt.weekday()]}, {MONTHS[dt.month - 1]} {dt.day}"  # strftime is slow


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="microseconds")


def generate_runs(n: int, seed: int = 0, start: datetime | None = None) -> Iterator[dict]:
    """Yield n runs as canonical (native-format) dicts, deterministic for a seed.

    Runs are spread in time order over the 14 days before `start`; A/B twins and tool child
    runs follow their conversation and count toward n.
    """
    rng = _Rng(seed)
    end = start or DEFAULT_START
    end = end.replace(tzinfo=UTC) if end.tzinfo is None else end.astimezone(UTC)
    emitted = 0
    while emitted < n:
        at = end - WINDOW + WINDOW * ((emitted + rng.random()) / n)
        chat = _chat(rng, at)
        model = rng.choice(MODEL_POOL)
        runs = _llm_runs(rng, chat, model, at)
        if rng.random() < PAIR_RATE:
            other = rng.choice([m for m in MODELS if m != model])
            twin = replace(chat, messages=[dict(m) for m in chat.messages])
            runs += _llm_runs(rng, twin, other, at + timedelta(milliseconds=rng.uniform(5, 80)))
        yield from runs[: n - emitted]
        emitted += len(runs)


def counted(items: Iterable[dict], tick: Callable[[int], None] | None, every: int = 1000) -> Iterator[dict]:
    """Pass items through, calling `tick(n)` every `every` items: progress without a second pass."""
    for i, item in enumerate(items, 1):
        if tick and i % every == 0:
            tick(i)
        yield item


def _chat(rng: Random, at: datetime) -> _Chat:
    project = "billing-bot" if rng.random() < 0.1 else "support"
    topic, version = rng.choice(TOPIC_POOLS[project]), rng.choice(PROMPT_POOL)
    channel, tier = rng.choice(CHANNEL_POOL), rng.choice(TIER_POOL)
    ctx = _context(rng, at, tier)
    system = PROMPTS[version][3].format(desk=DESKS[project]) + CUSTOMER.format_map(ctx)
    messages = [
        {"role": "system", "content": system},
        {"role": "user", "content": rng.choice(TOPICS[topic]["ask"]).format_map(ctx)},
    ]
    if extra_turns := rng.choice(EXTRA_TURNS_POOL):
        for i in sorted(rng.sample(range(len(CLARIFY)), extra_turns)):  # in the script's order
            question, answer = CLARIFY[i]
            messages.append({"role": "assistant", "content": question.format_map(ctx)})
            messages.append({"role": "user", "content": answer.format_map(ctx)})
    metadata = {"prompt_version": version, "channel": channel, "locale": rng.choice(LOCALES), "customer_tier": tier}
    session_id = None if channel == "email" else _uuid(rng)  # email tickets are not chat sessions
    return _Chat(project, topic, ctx, messages, session_id, metadata)


def _context(rng: Random, at: datetime, tier: str) -> dict[str, str]:
    first, (product, price) = rng.choice(FIRST_NAMES), rng.choice(PRODUCTS)
    status = rng.choice(STATUS_POOL)
    eta, days = at + timedelta(days=rng.randint(*STATUSES[status][2])), rng.randint(2, 12)
    ordered = at - timedelta(days=days)
    ctx = {
        "first": first,
        "email": f"{first.lower()}.{rng.choice(LAST_NAMES)}@example.com",
        "tier": tier,
        "order": f"NW-{rng.randint(10**6, 10**7 - 1)}",
        "product": product,
        "amount": f"{price:.2f}",
        "carrier": rng.choice(CARRIERS),
        "days": str(days),
        "date": f"{MONTHS[ordered.month - 1]} {ordered.day}",
        "today": _day(at),
        "card": f"{rng.randint(0, 9999):04d}",
        "eta": _day(eta),
        "eta_date": eta.date().isoformat(),
        "status": status,
    }
    ctx["status_text"] = STATUSES[status][1].format_map(ctx)
    return ctx


def _llm_runs(rng: Random, chat: _Chat, model: str, at: datetime) -> list[dict]:
    """One model call answering the chat, followed by its lookup_order child run if it has one."""
    spec = MODELS[model]
    metadata = dict(chat.metadata)
    prompt_tokens = sum(len(m["content"]) for m in chat.messages) // 4 + 4 * len(chat.messages)
    lookup = truth = outputs = error = None
    if rng.random() < ERROR_RATE:
        template, low, high = rng.choice(ERRORS)
        error = template.format(model=model, tokens=prompt_tokens, over=rng.randint(128_001, 190_000))
        completion_tokens, latency_ms = 0, rng.uniform(low, high)
    else:
        messages, truth, lookup = _answer(rng, chat, model)
        outputs, metadata["demo_truth"] = {"messages": messages}, truth
        completion_tokens = len(messages[-1]["content"]) // 4 + rng.randint(2, 12)
        if lookup:  # a tool round trip: the call, the result fed back, then the answer
            prompt_tokens, completion_tokens = prompt_tokens + 60, completion_tokens + 24
        latency_ms = spec.first_token_ms + completion_tokens * spec.ms_per_token * rng.uniform(0.6, 1.5)
        latency_ms = min(max(latency_ms, 300), 8000)
    latency_us = round(latency_ms * 1000)
    tags = ["prod", chat.metadata["channel"]]
    if rng.random() < (0.25 if truth is None or truth["helpfulness"] <= 2 else 0.02):
        tags.append("escalated")
    run = {
        "run_id": _uuid(rng),
        "trace_id": _uuid(rng),
        "parent_run_id": None,
        "session_id": chat.session_id,
        "project": chat.project,
        "name": spec.run_name,
        "run_type": "llm",
        "model": model,
        "start_time": _iso(at),
        "end_time": _iso(at + timedelta(microseconds=latency_us)),
        "latency_ms": latency_us / 1000,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "cost_usd": round((prompt_tokens * spec.usd_per_m_in + completion_tokens * spec.usd_per_m_out) / 1e6, 8),
        "status": "error" if error else "success",
        "error": error,
        "inputs": {"messages": chat.messages},
        "outputs": outputs,
        "tags": tags,
        "metadata": metadata,
        "user_feedback": _feedback(rng, truth),
    }
    if not lookup or rng.random() >= CHILD_RATE:
        return [run]
    tool_start = at + timedelta(microseconds=latency_us // 3)
    tool_us = rng.randint(40_000, min(400_000, latency_us // 2))
    child = {  # same keys in the same order, inheriting ids, project, status and session
        **run,
        "run_id": _uuid(rng),
        "parent_run_id": run["run_id"],
        "name": "lookup_order",
        "run_type": "tool",
        "model": None,
        "start_time": _iso(tool_start),
        "end_time": _iso(tool_start + timedelta(microseconds=tool_us)),
        "latency_ms": tool_us / 1000,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "total_tokens": 0,
        "cost_usd": 0.0,
        "inputs": {"order_id": lookup["order_id"]},
        "outputs": lookup,
        "tags": list(tags),
        "metadata": dict(chat.metadata),
        "user_feedback": None,
    }
    return [run, child]


def _answer(rng: Random, chat: _Chat, model: str) -> tuple[list[dict], dict, dict | None]:
    """The assistant messages, their ground truth, and the order lookup result if the tool ran."""
    _, bonus, multipliers, _ = PROMPTS[chat.metadata["prompt_version"]]
    quality, script, ctx = MODELS[model].quality + bonus, TOPICS[chat.topic], chat.ctx
    failure = None
    if rng.random() > quality:
        weights = [w * m for w, m in zip(MODELS[model].failure_mix, multipliers, strict=True)]
        failure = rng.choices(FAILURES, weights)[0]
    good = rng.choice(script["good"]).format_map(ctx)
    if failure is None and rng.random() < PARTIAL_RATE:
        text, verdict = rng.choice(script["partial"]), ("partially_correct", 3)
    elif failure is None:
        text, verdict = good, ("correct", 5 if rng.random() < quality - 0.3 else 4)
    elif failure == "hallucination":  # a made-up policy, or an order status other than the real one
        wrong = rng.choice([s[1] for k, s in STATUSES.items() if k != ctx["status"]])
        text = rng.choice(script["wrong"]).format_map({**ctx, "wrong_status": wrong.format_map(ctx)})
        verdict = ("incorrect", rng.randint(1, 2))
    elif failure == "refusal":
        text, verdict = rng.choice(COMMON["refusal"]), ("incorrect", 1)
    elif failure == "off_policy":
        text = rng.choice(script["off_policy"] + COMMON["rude"]).format_map(ctx)
        verdict = ("incorrect", rng.randint(1, 2))
    else:
        text, verdict = _mangle(rng, good, ctx), ("partially_correct", 2)
    truth = {"correctness": verdict[0], "helpfulness": verdict[1], "failure_mode": failure}
    if verdict[0] != "correct":
        truth["reference"] = good  # what a careful reviewer would write as the correction
    final = {"role": "assistant", "content": text}
    if chat.topic not in TOOL_TOPICS or failure == "refusal" or rng.random() >= TOOL_RATE:
        return [final], truth, None
    call_id = f"call_{rng.getrandbits(96):024x}"
    lookup = {
        "order_id": ctx["order"],
        "status": ctx["status"],
        "carrier": ctx["carrier"],
        "eta": ctx["eta_date"],
        "items": [ctx["product"]],
        "total": float(ctx["amount"]),
    }
    call = {
        "id": call_id,
        "type": "function",
        "function": {"name": "lookup_order", "arguments": json.dumps({"order_id": ctx["order"]})},
    }
    return (
        [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": call_id, "content": json.dumps(lookup)},
            final,
        ],
        truth,
        lookup,
    )


def _mangle(rng: Random, good: str, ctx: dict[str, str]) -> str:
    """A good answer, badly formatted: leaked structured output, truncated, or broken markdown."""
    style = rng.randint(0, 2)
    if style == 0:
        return json.dumps({"customer": ctx["first"], "order_id": ctx["order"], "reply": good})
    if style == 1:
        words = good.split()
        return " ".join(words[: rng.randint(4, max(5, len(words) * 2 // 3))])
    return f"### Answer\n**{ctx['first']},\n\n| Step | Details\n|---\n* {good}\n```"


def _feedback(rng: Random, truth: dict | None) -> int | None:
    """Thumbs up/down from ~20% of users, correlated with the truth but not equal to it."""
    if rng.random() >= FEEDBACK_RATE:
        return None
    # customers like a free refund even when the policy forbids it
    positive = (
        0.1 if truth is None else 0.6 if truth["failure_mode"] == "off_policy" else POSITIVE[truth["helpfulness"]]
    )
    return 1 if rng.random() < positive else -1
