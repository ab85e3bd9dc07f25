"""What the blind-review attacks share: demo runs from every format with their known answers where the
old deny-list did not look, and the values a reviewer must never see."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from reviewdesk.demo.logs import generate_runs
from reviewdesk.demo.script import MODELS
from reviewdesk.stores.warehouse import Warehouse

FORMATS = ("native", "langsmith", "otel")
# Where each format's runs keep the known answer: not `demo_truth`, which the old deny-list stripped.
ANSWER_KEY = {"native": "answer_key", "langsmith": "answer_key", "otel": "app.demo_truth"}
GOLD_FROM_METADATA = {
    "native": "json_extract(metadata, '$.answer_key')",
    "langsmith": "metadata -> 'answer_key'",
    "otel": "CAST(json_extract_string(metadata, '$.\"app.demo_truth\"') AS JSON)",
}


def demo_runs(fmt: str, n: int, seed: int) -> Iterator[dict]:
    """Demo runs; native and LangSmith ones keep their known answer under `answer_key`."""
    for run in generate_runs(n, seed=seed):
        if fmt != "otel" and "demo_truth" in run["metadata"]:  # the OTel writer exports demo_truth itself
            run["metadata"][ANSWER_KEY[fmt]] = run["metadata"].pop("demo_truth")
        yield run


def hidden_strings(wh: Warehouse, where: str = "TRUE") -> set[str]:
    """Every model, provider and LLM run name a reviewer must not see (tool names are part of the conversation),
    and the cost and latency of the runs matching `where`, as text."""
    names = {r[0] for r in wh.execute(f"SELECT DISTINCT name FROM runs WHERE run_type = 'llm' AND ({where})")}
    numbers = {
        text
        for row in wh.execute(f"SELECT cost_usd, latency_ms FROM runs WHERE run_type = 'llm' AND ({where})")
        for x in row
        if x
        for text in (repr(x), format(Decimal(repr(x)), "f"))
    }
    models = set(MODELS) | {m.provider for m in MODELS.values()} | {m.run_name for m in MODELS.values()}
    return names | models | numbers
