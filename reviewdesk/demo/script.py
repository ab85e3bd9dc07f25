"""The demo's scripted world: Northwind Shop's customer-support chat bot, its customers and models.

Everything the demo logs are made of, apart from how they are drawn: the models (traffic, quality,
speed, price), the prompt versions, the customers and their orders, and the dialogue script (one
template a line, which is why ruff lets this file's lines run long). `reviewdesk.demo.logs`
draws runs from it; `reviewdesk.demo.exports` needs the models' providers and prices.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple

DEFAULT_START = datetime(2026, 11, 1, tzinfo=UTC)
WINDOW = timedelta(days=14)
PAIR_RATE, ERROR_RATE, PARTIAL_RATE, FEEDBACK_RATE = 0.15, 0.05, 0.15, 0.2
TOOL_RATE, CHILD_RATE = 0.25, 0.5  # of answers about an order / of answers that used the tool

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
