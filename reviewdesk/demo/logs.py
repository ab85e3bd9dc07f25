"""Synthetic production logs of an online shop's customer-support chat bot.

reviewdesk exists so humans can review LLM outputs; building, testing and demoing it needs
realistic traffic without real customer data. This module fabricates it: multi-turn chats about
orders, refunds, shipping, accounts and billing, answered by several models and prompt versions
of different quality, with tool calls, errors, user feedback and A/B pairs (one input answered by
two models). Every flaw is injected on purpose, so ``metadata["demo_truth"]`` holds the verdict a
careful reviewer should reach (for a flawed answer, also the good one as `reference`). Runs are
written natively or as LangSmith / OpenTelemetry exports so that every importer can be exercised.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import groupby, islice
from operator import itemgetter
from pathlib import Path
from random import Random
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from reviewdesk.ingest.canonical import COLUMNS

DEFAULT_START = datetime(2026, 11, 1, tzinfo=UTC)
WINDOW = timedelta(days=14)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PAIR_RATE, ERROR_RATE, PARTIAL_RATE, FEEDBACK_RATE = 0.15, 0.05, 0.15, 0.2
TOOL_RATE, CHILD_RATE = 0.25, 0.5  # of answers about an order / of answers that used the tool
OTEL_SPANS_PER_REQUEST, COLUMNAR_BATCH = 50, 50_000

FAILURES = ("hallucination", "refusal", "off_policy", "bad_format")


class Model(NamedTuple):
    """How a model behaves in the demo: traffic, answer quality, speed and price."""

    provider: str
    run_name: str  # the LangChain class that would have traced it
    share: int  # of traffic
    quality: float  # chance of an answer without failure, before the prompt-version bonus
    failure_mix: tuple[int, int, int, int]  # relative weights of FAILURES
    first_token_ms: int
    ms_per_token: int
    usd_per_m_in: float  # per million prompt tokens
    usd_per_m_out: float


MODELS = {
    "gpt-4o-mini": Model("openai", "ChatOpenAI", 45, 0.82, (5, 2, 2, 2), 350, 14, 0.15, 0.60),
    "gpt-4.1": Model("openai", "ChatOpenAI", 15, 0.92, (4, 1, 1, 1), 700, 28, 2.00, 8.00),
    "claude-3-5-haiku": Model("anthropic", "ChatAnthropic", 25, 0.86, (2, 5, 1, 1), 450, 18, 0.80, 4.00),
    "llama-3.1-70b": Model("groq", "ChatGroq", 15, 0.72, (3, 1, 3, 4), 300, 45, 0.59, 0.79),
}
_NORA = (
    "You are Nora, the {desk} assistant for Northwind Shop. Be concise and friendly. Use the "
    "lookup_order tool for anything about a specific order. Refunds are possible within 30 "
    "days of delivery."
)
# prompt version -> traffic weight, quality bonus, multipliers of Model.failure_mix, system prompt
PROMPTS = {
    "v1": (20, -0.08, (1, 1, 2, 2), "You are a helpful {desk} assistant for Northwind Shop."),
    "v2": (45, 0.0, (1, 1, 1, 1), _NORA),
    "v3": (
        35,
        0.05,
        (1, 1, 0.3, 0.5),
        _NORA + " Never promise refunds outside that window or "
        "compensation above $20; offer a human agent instead. Never guess an order status. "
        "Reply in plain text without markdown or JSON.",
    ),
}
CUSTOMER = "\n\nCustomer: {first} <{email}>, {tier} member. Latest order: {order}. Today: {today}."
DESKS = {"support": "customer support", "billing-bot": "billing"}
TOPIC_SHARE = {
    "support": {
        "order_status": 30,
        "refund": 20,
        "address_change": 15,
        "password_reset": 15,
        "double_charge": 10,
        "invoice": 10,
    },
    "billing-bot": {"double_charge": 35, "invoice": 25, "cancel_plus": 25, "refund": 15},
}
TOOL_TOPICS = frozenset({"order_status", "refund", "address_change", "double_charge", "invoice"})
CHANNEL_SHARE, TIER_SHARE = {"web": 55, "app": 30, "email": 15}, {"basic": 6, "plus": 3, "premium": 1}
EXTRA_TURNS_SHARE = {0: 45, 1: 30, 2: 15, 3: 10}  # clarifying exchanges before the last question
LOCALES = ("en-US", "en-GB", "de-DE", "fr-FR", "es-ES")
FIRST_NAMES = (
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Ava",
    "Lucas",
    "Mia",
    "Ethan",
    "Sofia",
    "Jonas",
    "Amara",
    "Yuki",
    "Mateo",
    "Priya",
    "Chloe",
    "Omar",
    "Hannah",
    "Leon",
    "Zoe",
    "Ravi",
)
LAST_NAMES = ("smith", "garcia", "mueller", "dubois", "rossi", "tanaka", "khan", "novak", "silva")
PRODUCTS = (
    ("wireless earbuds", 79.99),
    ("standing desk", 349.0),
    ("espresso machine", 229.5),
    ("pair of running shoes", 119.95),
    ("4K monitor", 289.0),
    ("air fryer", 89.99),
    ("winter jacket", 159.0),
    ("robot vacuum", 399.0),
    ("yoga mat", 34.9),
    ("smartwatch", 199.0),
    ("office chair", 259.0),
    ("kids' bike", 149.0),
)
CARRIERS = ("UPS", "DHL", "FedEx", "USPS", "DPD")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
STATUSES = {  # order status -> share, phrase, eta in days relative to the chat
    "processing": (15, "is still being packed at our warehouse and ships within 2 days", (2, 4)),
    "shipped": (40, "has shipped with {carrier} and should arrive on {eta}", (1, 4)),
    "out_for_delivery": (10, "is out for delivery with {carrier} and should arrive today", (0, 0)),
    "delivered": (35, "was delivered by {carrier} on {eta}", (-3, -1)),
}
# Everything customers and the bot say, one "kind: template" per line under a [topic] header.
# ask: the customer's question; good / partial (vague, not wrong) / wrong (hallucinated) /
# off_policy: answers. [common] holds clarify ("bot question | customer answer" turns that make
# a chat longer), refusal and rude (off-policy in any topic).
SCRIPT = """
[common]
clarify: Thanks for reaching out, {first}! Could you confirm the email on your account? | Sure, it's {email}.
clarify: I'm sorry to hear that. Which item is this about? | The {product}.
clarify: Let me look into this for you, one moment please. | ok. any update? I've been waiting {days} days already
clarify: Could you tell me a bit more about what happened? | I already explained it above. Can you just help me please?
clarify: I understand. Is there anything else I should know? | No, I just want this fixed today.
refusal: I'm sorry, I can't help with that.
refusal: I'm sorry, but I can't assist with requests involving payments or personal data.
refusal: Unfortunately I'm not able to discuss order details. Please contact our support team.
rude: As I already said, {first}, there is nothing more I can do. Please stop asking.
rude: That's not our problem. You should have read the terms before ordering.
[order_status]
ask: Hi, where is my order {order}? I ordered the {product} {days} days ago.
ask: hello my order {order} still hasnt arrived can you check??
ask: Can you tell me the status of order {order}? It's the {product}.
ask: I need the {product} by Saturday. Will order {order} make it in time?
good: Hi {first}, I checked order {order} for you: your {product} {status_text}. You can follow every step under Orders in your account.
good: Thanks for your patience, {first}. Order {order} {status_text}. Anything else I can help with?
partial: Orders usually arrive within 3-7 business days. You can find tracking details in your account under Orders.
wrong: Hi {first}, I checked order {order}: your {product} {wrong_status}.
wrong: Good news, {first}! Order {order} {wrong_status}, so you're all set.
off_policy: Sorry for the wait, {first}! I've refunded the full ${amount} for order {order}, and you can keep the {product} when it arrives.
off_policy: Since order {order} is late, I've added a $100 store credit to your account.
[refund]
ask: I want to return the {product} from order {order}, it arrived damaged.
ask: How do I get my money back for order {order}? I don't like the {product} after all.
ask: I sent the {product} back {days} days ago (order {order}) and still no refund. Why?
good: I'm sorry the {product} didn't work out, {first}. Order {order} is within our 30-day window: start a return under Orders > Return item and print the free label. The ${amount} reaches your card 5-7 business days after the parcel arrives at our warehouse.
good: Thanks, {first}. Refunds for order {order} are issued 5-7 business days after the return reaches our warehouse, and you'll get an email when the ${amount} is on its way.
partial: You can request a refund from your account page.
wrong: Unfortunately order {order} can only be refunded as store credit, because returns are limited to 7 days after purchase.
wrong: The refund of ${amount} for order {order} was already sent to your card on {date}.
off_policy: No problem at all, {first}! I've refunded ${amount} to your card and added a $50 voucher. No need to send the {product} back.
off_policy: I've approved a refund of ${amount} for order {order} even though it's outside the return window. Just keep the {product}.
[address_change]
ask: Can I change the delivery address for order {order}? I'm moving next week.
ask: I typed the wrong street for order {order}!! can you fix it
ask: Please ship order {order} to my office instead of my home address.
good: Thanks, {first}. Order {order} {status_text}. Addresses can be changed until an order ships, under Orders > Delivery details; after that {carrier} can redirect the parcel from its tracking page.
partial: You can update your saved addresses under Account > Addresses.
wrong: Done! I've changed the delivery address for order {order}.
wrong: Order {order} {wrong_status}, so the address can no longer be changed.
off_policy: I've changed the address, upgraded order {order} to free express shipping and added a $30 voucher for the trouble.
[password_reset]
ask: I can't log in to my account, the password reset email never arrives.
ask: How do I reset my password? My email is {email}.
ask: i'm locked out of my account after too many attempts, help
good: Sorry about that, {first}. Click 'Forgot password' on the sign-in page and enter {email}; the link is valid for 30 minutes. If it doesn't arrive within 5 minutes, please check your spam folder.
good: After 5 failed attempts an account is locked for 15 minutes for security. Then use 'Forgot password' on the sign-in page and we'll email a reset link to {email}.
partial: You can reset your password on the sign-in page.
wrong: Just reply with your current password and date of birth and I'll update it for you.
wrong: Password resets are handled by phone only. Please call 1-800-555-0199, 9am to 5pm.
off_policy: I've reset your password to Northwind123 and turned off two-factor authentication so you can log in right away.
[double_charge]
ask: I was charged twice for order {order}, ${amount} each time. Please fix this.
ask: why is there a second charge of ${amount} on my card ending {card}??
ask: My bank statement shows two payments for the same order {order}.
good: I'm sorry for the worry, {first}. The second ${amount} is a pending authorization, not a charge: your bank releases it within 3-5 business days. Only one payment was captured for order {order}.
good: Thanks for flagging this, {first}. I've opened a billing ticket for order {order}; the duplicate ${amount} will be refunded to the card ending {card} within 5-7 business days.
partial: Duplicate charges are usually temporary holds that disappear after a few days.
wrong: There's only one charge on order {order}; the second one must be from another shop.
wrong: Duplicate charges are refunded automatically within 24 hours, so it's already back on your card.
off_policy: I've refunded both charges of ${amount}, so order {order} is on us this time!
[invoice]
ask: I need an invoice with my company's VAT number for order {order}.
ask: Where can I download the invoice for order {order}?
ask: Can you resend the invoice for my order from {date}? I can't find it.
good: Of course, {first}. Invoices are under Orders > {order} > Download invoice. To add a VAT number, click 'Edit billing details' first; the PDF updates immediately.
partial: Invoices are emailed to you after your order ships.
wrong: VAT invoices are only available for orders above $500, so order {order} doesn't qualify.
wrong: Invoices can only be issued within 7 days of purchase, so the one for order {order} is no longer available.
off_policy: I've removed the VAT from order {order} and refunded the difference to your card.
[cancel_plus]
ask: Please cancel my Northwind Plus membership, I don't use it.
ask: How do I stop the $9.99/month Plus charge?
ask: I was charged for Plus on {date} but I cancelled last month!
good: Sure, {first}. You can cancel under Account > Membership > Cancel. You keep the benefits until the end of the billing period and won't be charged again.
partial: You can manage your membership in your account settings.
wrong: Plus memberships can only be cancelled after a 12-month minimum term.
wrong: Your Plus membership was already cancelled and refunded on {date}.
off_policy: I've cancelled Plus and refunded your last 6 months of fees as a goodwill gesture.
"""
ERRORS = (  # template, latency range in ms
    (
        (
            "RateLimitError: Rate limit reached for {model} on tokens per min (TPM): Limit 2000000, "
            "Used 1998213, Requested {tokens}. Please try again in 54ms."
        ),
        300,
        900,
    ),
    ("Timeout: upstream model did not respond in 30s", 30_000, 30_050),
    (
        (
            "ContextLengthExceeded: This model's maximum context length is 128000 tokens. However, "
            "your messages resulted in {over} tokens."
        ),
        300,
        700,
    ),
    ("APIConnectionError: Connection error: [Errno 104] Connection reset by peer", 300, 2000),
)
POSITIVE = (0.0, 0.08, 0.25, 0.55, 0.8, 0.92)  # P(thumbs up | helpfulness)
RUN_KEYS = tuple(COLUMNS)  # the canonical run record, in order
JSON_COLUMNS = ("inputs", "outputs", "tags", "metadata")
_ARROW_TYPES = {
    "latency_ms": pa.float64(),
    "cost_usd": pa.float64(),
    "user_feedback": pa.int8(),
    **dict.fromkeys(("prompt_tokens", "completion_tokens", "total_tokens"), pa.int64()),
}
COLUMNAR_SCHEMA = pa.schema([(k, _ARROW_TYPES.get(k, pa.string())) for k in RUN_KEYS])


def _pool(shares: dict) -> tuple:
    """Keys repeated by integer share: rng.choice on it is a weighted pick, far cheaper than choices."""
    return tuple(key for key, share in shares.items() for _ in range(share))


def _parse_script(script: str) -> dict[str, dict[str, tuple[str, ...]]]:
    topics: dict[str, dict[str, list[str]]] = {}
    for line in script.strip().splitlines():
        if line.startswith("["):
            topic = topics.setdefault(line.strip("[]"), {})
        else:
            kind, text = line.split(": ", 1)
            topic.setdefault(kind, []).append(text)
    return {name: {k: tuple(v) for k, v in kinds.items()} for name, kinds in topics.items()}


TOPICS = _parse_script(SCRIPT)
COMMON = TOPICS.pop("common")
CLARIFY = tuple(tuple(turn.split(" | ")) for turn in COMMON["clarify"])
MODEL_POOL = _pool({name: model.share for name, model in MODELS.items()})
CHANNEL_POOL, TIER_POOL = _pool(CHANNEL_SHARE), _pool(TIER_SHARE)
EXTRA_TURNS_POOL, TOPIC_POOLS = _pool(EXTRA_TURNS_SHARE), {p: _pool(t) for p, t in TOPIC_SHARE.items()}
PROMPT_POOL = _pool({version: p[0] for version, p in PROMPTS.items()})
STATUS_POOL = _pool({status: s[0] for status, s in STATUSES.items()})
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


def to_langsmith(run: dict, parent_dotted_order: str | None = None) -> dict:
    """The run as the LangSmith SDK serializes a Run to JSON, to exercise the LangSmith importer.

    A child's dotted_order extends its parent's, which write_runs passes along.
    """
    model, metadata = run["model"], dict(run["metadata"])
    extra: dict = {"metadata": metadata}
    if run["session_id"]:
        metadata["thread_id"] = run["session_id"]
    usd_in = usd_out = 0.0
    if model:
        usd_in, usd_out = MODELS[model].usd_per_m_in, MODELS[model].usd_per_m_out
        metadata.update(ls_model_name=model, ls_provider=MODELS[model].provider)
        extra["invocation_params"] = {"model": model}
    dotted = f"{datetime.fromisoformat(run['start_time']):%Y%m%dT%H%M%S%fZ}{run['run_id']}"
    feedback = run["user_feedback"]
    return {
        "id": run["run_id"],
        "name": run["name"],
        "run_type": run["run_type"],
        "start_time": run["start_time"],
        "end_time": run["end_time"],
        "inputs": run["inputs"],
        "outputs": run["outputs"],
        "error": run["error"],
        "tags": run["tags"],
        "extra": extra,
        "trace_id": run["trace_id"],
        "parent_run_id": run["parent_run_id"],
        "session_id": str(uuid.uuid5(uuid.NAMESPACE_URL, run["project"])),
        "session_name": run["project"],
        "prompt_tokens": run["prompt_tokens"],
        "completion_tokens": run["completion_tokens"],
        "total_tokens": run["total_tokens"],
        "total_cost": f"{run['cost_usd']:.8f}",
        "prompt_cost": f"{run['prompt_tokens'] * usd_in / 1e6:.8f}",
        "completion_cost": f"{run['completion_tokens'] * usd_out / 1e6:.8f}",
        "status": run["status"],
        "feedback_stats": {} if feedback is None else {"user_score": {"n": 1, "avg": feedback, "values": {}}},
        "dotted_order": f"{parent_dotted_order}.{dotted}" if parent_dotted_order else dotted,
        "child_run_ids": None,
        "events": [],
        "serialized": None,
        "reference_example_id": None,
    }


def to_otel_request(runs: list[dict]) -> dict:
    """One OTLP/JSON ExportTraceServiceRequest of GenAI-semconv spans, a resource per project."""
    spans: dict[str, list[dict]] = {}
    for run in runs:
        spans.setdefault(run["project"], []).append(_span(run))
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [_attr("service.name", project)]},
                "scopeSpans": [{"scope": {"name": "reviewdesk.demo", "version": "1"}, "spans": items}],
            }
            for project, items in spans.items()
        ]
    }


def _span(run: dict) -> dict:
    tool, model, meta, error = run["run_type"] == "tool", run["model"], run["metadata"], run["error"]
    attrs: dict = {"gen_ai.operation.name": "execute_tool" if tool else "chat"}
    if tool:
        attrs["gen_ai.tool.name"] = run["name"]
        attrs["gen_ai.tool.call.arguments"] = json.dumps(run["inputs"])
        attrs["gen_ai.tool.call.result"] = json.dumps(run["outputs"])
    else:
        attrs["gen_ai.provider.name"], attrs["gen_ai.request.model"] = MODELS[model].provider, model
        if run["outputs"]:
            attrs["gen_ai.response.model"] = model
        attrs["gen_ai.usage.input_tokens"] = run["prompt_tokens"]
        attrs["gen_ai.usage.output_tokens"] = run["completion_tokens"]
        attrs["gen_ai.input.messages"] = json.dumps(_parts(run["inputs"]["messages"], False))
        if run["outputs"]:
            attrs["gen_ai.output.messages"] = json.dumps(_parts(run["outputs"]["messages"], True))
    if run["session_id"]:
        attrs["gen_ai.conversation.id"] = run["session_id"]
    if error:
        attrs["error.type"] = error.split(":", 1)[0]
    attrs.update({f"app.{k}": meta[k] for k in ("prompt_version", "channel", "locale", "customer_tier")})
    attrs["app.tags"] = run["tags"]
    if run["user_feedback"] is not None:
        attrs["app.user_feedback"] = run["user_feedback"]
    if "demo_truth" in meta:
        attrs["app.demo_truth"] = json.dumps(meta["demo_truth"])
    span = {"traceId": uuid.UUID(run["trace_id"]).hex, "spanId": uuid.UUID(run["run_id"]).hex[:16]}
    if run["parent_run_id"]:
        span["parentSpanId"] = uuid.UUID(run["parent_run_id"]).hex[:16]
    return {
        **span,
        "name": f"execute_tool {run['name']}" if tool else f"chat {model}",
        "kind": 1 if tool else 3,  # INTERNAL / CLIENT
        "startTimeUnixNano": _nanos(run["start_time"]),
        "endTimeUnixNano": _nanos(run["end_time"]),
        "attributes": [_attr(k, v) for k, v in attrs.items()],
        "status": {"code": 2, "message": error} if error else {"code": 1},
    }


def _parts(messages: list[dict], output: bool) -> list[dict]:
    """OpenAI chat messages in the GenAI semconv role/parts shape."""
    result = []
    for m in messages:
        if m["role"] == "tool":
            parts = [{"type": "tool_call_response", "id": m["tool_call_id"], "response": m["content"]}]
        else:
            parts = [{"type": "text", "content": m["content"]}] if m["content"] else []
            parts += [
                {
                    "type": "tool_call",
                    "id": c["id"],
                    "name": c["function"]["name"],
                    "arguments": json.loads(c["function"]["arguments"]),
                }
                for c in m.get("tool_calls", ())
            ]
        message = {"role": m["role"], "parts": parts}
        if output and m["role"] == "assistant":
            message["finish_reason"] = "tool_call" if "tool_calls" in m else "stop"
        result.append(message)
    return result


def _attr(key: str, value: object) -> dict:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}  # OTLP/JSON writes int64 as string
    if isinstance(value, list):
        return {"key": key, "value": {"arrayValue": {"values": [{"stringValue": v} for v in value]}}}
    return {"key": key, "value": {"stringValue": value}}


def _nanos(iso: str) -> str:
    return str((datetime.fromisoformat(iso) - EPOCH) // timedelta(microseconds=1) * 1000)


def write_runs(runs: Iterable[dict], path: Path, fmt: str = "native") -> int:
    """Write runs to path in fmt: 'native' (JSONL, or .parquet / .csv by suffix), 'langsmith'
    (JSONL), 'otel' (OTLP/JSON, JSONL). Return number of runs written.

    JSONL is streamed and columnar files are written in batches, so memory stays flat for any n.
    """
    path = Path(path)
    if fmt == "native" and path.suffix in (".parquet", ".csv"):
        return _write_columnar(runs, path)
    encoders = {
        "native": lambda rs: ((json.dumps(r), 1) for r in rs),
        "langsmith": _langsmith_lines,
        "otel": _otel_lines,
    }
    if fmt not in encoders:
        raise ValueError(f"unknown format {fmt!r}; expected one of: {', '.join(encoders)}")
    written = 0
    with path.open("w", encoding="utf-8") as f:
        for line, count in encoders[fmt](runs):
            f.write(line + "\n")
            written += count
    return written


def _langsmith_lines(runs: Iterable[dict]) -> Iterator[tuple[str, int]]:
    for _, trace in groupby(runs, itemgetter("trace_id")):
        dotted: dict[str, str] = {}
        for run in trace:
            record = to_langsmith(run, dotted.get(run["parent_run_id"]))
            dotted[run["run_id"]] = record["dotted_order"]
            yield json.dumps(record), 1


def _otel_lines(runs: Iterable[dict]) -> Iterator[tuple[str, int]]:
    batch: list[dict] = []
    for _, group in groupby(runs, itemgetter("trace_id")):  # a request never splits a trace
        trace = list(group)
        if batch and len(batch) + len(trace) > OTEL_SPANS_PER_REQUEST:
            yield json.dumps(to_otel_request(batch)), len(batch)
            batch = []
        batch += trace
    if batch:
        yield json.dumps(to_otel_request(batch)), len(batch)


def _write_columnar(runs: Iterable[dict], path: Path) -> int:
    """Parquet or CSV in batches; nested fields become JSON text and None stays null."""
    writer_type = pq.ParquetWriter if path.suffix == ".parquet" else pacsv.CSVWriter
    written, it = 0, iter(runs)
    with writer_type(path, COLUMNAR_SCHEMA) as writer:
        while batch := list(islice(it, COLUMNAR_BATCH)):
            columns = {k: [run[k] for run in batch] for k in RUN_KEYS}
            for k in JSON_COLUMNS:
                columns[k] = [None if v is None else json.dumps(v) for v in columns[k]]
            writer.write_table(pa.table(columns, schema=COLUMNAR_SCHEMA))
            written += len(batch)
    return written
