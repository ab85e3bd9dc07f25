"""Dataset row formats: a run's input and output as chat messages, example ids, and the split.

Every kind starts from the same two shapes, so an input is normalized, deduplicated and split
the same way in every dataset:
- a run's **input** as chat messages (`[{"role", "content"}]`): its `inputs.messages` when it has
  them, else its `prompt`/`input`/`question` text as one user message, else its inputs as JSON;
- a run's **answer** as text: the last assistant message with text content in `outputs.messages`
  (tool-call turns are dropped), else its `output`/`text`/`answer`/`content` text, else JSON.

A session (several turns, each a root run) reads as one **conversation**: each turn adds the messages
its input holds beyond the conversation so far (a turn logging the whole history adds just its new user
message; one logging only the new message adds that), then its answer. A trace step reads as its type
and name, its input as messages, and its output, for a step-level classifier.

The split is a function of the normalized input alone: sha256 of it, read as a fraction of 2^64,
below `test_fraction` means test. So an input keeps its split in every version and every dataset.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

COLUMNS = {  # the format columns of each kind, in order; every row also has `id` and `split` first
    "regression": ["input", "reference_output", "criteria", "run_id", "tags"],
    "sft": ["messages"],
    "preference": ["prompt", "chosen", "rejected"],
    "classification": ["text", "label", "criterion"],
}
TEXT_KEYS = ("prompt", "input", "question", "query")
ANSWER_KEYS = ("output", "text", "answer", "content", "response")


def _text(content: Any) -> str:
    """Message content as text: strings as they are, content parts' text joined, anything else as JSON."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, Mapping) for p in content):
        return "\n".join(str(p.get("text", "")) for p in content if p.get("type", "text") == "text")
    return "" if content is None else json.dumps(content, sort_keys=True)


def _load(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def input_messages(inputs: Any) -> list[dict[str, str]]:
    """A run's inputs as role/content chat messages (see the module docstring)."""
    inputs = _load(inputs)
    if isinstance(inputs, Mapping):
        messages = inputs.get("messages")
        if isinstance(messages, list) and messages and all(isinstance(m, Mapping) for m in messages):
            return [
                {"role": str(m.get("role", "user")), "content": _text(m.get("content"))}
                for m in messages
                if not m.get("tool_calls") and m.get("role") != "tool"
            ]
        for key in TEXT_KEYS:
            if isinstance(inputs.get(key), str):
                return [{"role": "user", "content": inputs[key]}]
    if isinstance(inputs, str):
        return [{"role": "user", "content": inputs}]
    return [{"role": "user", "content": json.dumps(inputs, sort_keys=True)}]


def answer_text(outputs: Any) -> str:
    """A run's final answer as text (see the module docstring); "" when it has none."""
    outputs = _load(outputs)
    if isinstance(outputs, Mapping):
        messages = outputs.get("messages")
        if isinstance(messages, list):
            for m in reversed(messages):
                if isinstance(m, Mapping) and m.get("role", "assistant") == "assistant" and m.get("content"):
                    return _text(m["content"])
        for key in ANSWER_KEYS:
            if isinstance(outputs.get(key), str):
                return outputs[key]
    if isinstance(outputs, str):
        return outputs
    return "" if outputs is None else json.dumps(outputs, sort_keys=True)


def normalize(text: str) -> str:
    """Text compared for duplicates: Unicode NFKC, case-folded, whitespace collapsed and trimmed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def input_key(messages: Sequence[Mapping[str, str]]) -> str:
    """The normalized input as one string: what deduplication and the split compare. Fields are joined
    by ASCII unit and record separators, which `normalize` never leaves in (str.split takes them as spaces)."""
    return "\x1e".join(f"{m['role']}\x1f{normalize(m['content'])}" for m in messages)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def split_of(key: str, test_fraction: float) -> str:
    """`test` or `train`, from the normalized input alone: stable across versions and datasets."""
    return "test" if int(digest(key)[:16], 16) / 2**64 < test_fraction else "train"


def example_id(key: str, criterion: str | None = None) -> str:
    """An example's id: 16 hex digits of the hash of its normalized input (and criterion, if labelled)."""
    return digest(key if criterion is None else f"{key}\x00{criterion}")[:16]


def _new_messages(asked: list[dict[str, str]], so_far: list[dict[str, str]]) -> list[dict[str, str]]:
    """What a turn's input adds to the conversation: what follows the conversation so far when it repeats
    it, else what follows its last assistant message (the history it logs differs, e.g. trimmed)."""
    if asked[: len(so_far)] == so_far:
        return asked[len(so_far) :]
    last = max((i for i, m in enumerate(asked) if m["role"] == "assistant"), default=-1)
    return asked[last + 1 :]


def conversation(turns: Sequence[tuple[Any, Any]]) -> tuple[list[dict[str, str]], str]:
    """A session's turns (each its root run's inputs and outputs, in order) as one conversation: the messages
    up to the last user turn, and the last answer. An earlier turn without an answer adds no assistant message."""
    messages: list[dict[str, str]] = []
    answer = ""
    for inputs, outputs in turns:
        if answer.strip():
            messages.append({"role": "assistant", "content": answer})
        messages += _new_messages(input_messages(inputs), messages)
        answer = answer_text(outputs)
    return messages, answer


def step_text(run_type: str | None, name: str | None, inputs: Any, outputs: Any) -> str:
    """A trace step as plain text for a classifier's `text`: its type and name, its input and its output."""
    head = " ".join(x for x in (run_type or "step", name) if x)
    loaded = _load(inputs)
    chat = isinstance(loaded, Mapping) and isinstance(loaded.get("messages"), list)
    asked = input_messages(loaded) if chat else [{"role": "input", "content": input_messages(loaded)[0]["content"]}]
    return render([{"role": "step", "content": head}, *asked], [("output", answer_text(outputs))])


def render(messages: Sequence[Mapping[str, str]], answers: Sequence[tuple[str, str]]) -> str:
    """A conversation and one or more labelled answers as plain text, for a classifier's `text`."""
    lines = [f"{m['role']}: {m['content']}" for m in messages]
    lines += [f"{label}: {text}" for label, text in answers]
    return "\n\n".join(lines)


__all__ = [
    "COLUMNS",
    "answer_text",
    "conversation",
    "digest",
    "example_id",
    "input_key",
    "input_messages",
    "normalize",
    "render",
    "split_of",
    "step_text",
]
