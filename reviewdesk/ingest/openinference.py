"""OpenInference spans (Arize's conventions, used by Phoenix's instrumentations): `llm.*` attributes.

OpenInference flattens each message into indexed attributes
(`llm.input_messages.0.message.role`, `...message.content`, `...message.tool_calls.0.tool_call.function.name`),
counts tokens in `llm.token_count.*` and names the span kind in `openinference.span.kind`. This
module turns those into the canonical run fields; the OTel module uses them for spans that carry
them, and keeps GenAI semantics for the rest.
"""

from __future__ import annotations

import json
from typing import Any

KIND = "openinference.span.kind"
# every other kind is a step of a chain
RUN_TYPES = {"LLM": "llm", "TOOL": "tool", "RETRIEVER": "retriever", "EMBEDDING": "embedding"}
MESSAGE_PREFIXES = ("llm.input_messages.", "llm.output_messages.")
CONTENT_KEYS = ("input.value", "output.value")  # shown as inputs/outputs; not repeated in metadata


def is_openinference(attrs: dict[str, Any]) -> bool:
    """Whether a span follows OpenInference (its kind, or an `llm.` attribute, is there)."""
    return KIND in attrs or any(k.startswith("llm.") for k in attrs)


def _unflatten(flat: dict[str, Any]) -> Any:
    """`{"0.message.role": "user", "0.message.content": "Hi"}` -> `[{"role": "user", "content": "Hi"}]`.

    Numeric path parts become list positions (in order), the wrapper names OpenInference repeats
    on every level (`message`, `tool_call`, `message_content`) are dropped.
    """
    tree: dict = {}
    for key, value in flat.items():
        parts = [p for p in key.split(".") if p not in ("message", "tool_call", "message_content")]
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):  # a value and a deeper path share a key: keep the value
                break
        else:
            node[parts[-1]] = value

    def listify(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        if node and all(k.isdigit() for k in node):
            return [listify(node[k]) for k in sorted(node, key=int)]
        return {k: listify(v) for k, v in node.items()}

    return listify(tree)


def _messages(attrs: dict[str, Any], prefix: str) -> list | None:
    flat = {k[len(prefix) :]: v for k, v in attrs.items() if k.startswith(prefix)}
    found = _unflatten(flat) if flat else None
    return found if isinstance(found, list) else None


def _value(attrs: dict[str, Any], key: str) -> Any:
    """`input.value` / `output.value`, parsed when its mime type says JSON."""
    value = attrs.get(key)
    if isinstance(value, str) and attrs.get(key.replace(".value", ".mime_type")) == "application/json":
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


def openinference_fields(attrs: dict[str, Any]) -> dict[str, Any]:
    """The canonical run fields an OpenInference span gives (absent ones left out), and its metadata."""
    kind = str(attrs.get(KIND, "LLM" if "llm.model_name" in attrs else "CHAIN")).upper()
    inputs = _messages(attrs, "llm.input_messages.")
    outputs = _messages(attrs, "llm.output_messages.")
    fields = {
        "run_type": RUN_TYPES.get(kind, "chain"),
        "model": attrs.get("llm.model_name"),
        "prompt_tokens": attrs.get("llm.token_count.prompt"),
        "completion_tokens": attrs.get("llm.token_count.completion"),
        "total_tokens": attrs.get("llm.token_count.total"),
        "inputs": {"messages": inputs} if inputs else _value(attrs, "input.value"),
        "outputs": {"messages": outputs} if outputs else _value(attrs, "output.value"),
        "tags": attrs.get("tag.tags"),
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    fields["metadata"] = {
        k: v for k, v in attrs.items()
        if not k.startswith(MESSAGE_PREFIXES) and k not in CONTENT_KEYS and k != "tag.tags"
    }  # fmt: skip
    return fields
