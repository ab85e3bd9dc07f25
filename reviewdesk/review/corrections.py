"""Corrections: the reviewer edits the answer's text (and tool-call arguments as JSON), and the
correction is stored in the run's own output shape, so consumers read it exactly as they read outputs.

`editable(outputs)` finds the answer in whatever shape a run logged: a plain string, an
`{"output": "..."}`-like object, an OpenAI message list (bare or under `messages`, or a chat
completion's `choices`), a LangChain message (plain or serialized, or an LLMResult's
`generations`), with content as text or as content parts. The answer is the last assistant
message with text; the tool calls of every assistant message (OpenAI `function.arguments`
strings, LangChain `args`, Anthropic `tool_use` inputs) are edited as one JSON list of arguments,
one per call. A shape it does not
know is edited as JSON. `corrected(outputs, text, args)` writes the edits back into a copy of the
outputs; an unchanged edit gives the outputs back unchanged, and `correction` then gives None.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reviewdesk.errors import ReviewdeskError

ANSWER_KEYS = ("output", "text", "answer", "content", "response")  # as reviewdesk.datasets.formats reads answers
AI_TYPES = ("ai", "AIMessage", "AIMessageChunk")
Path = tuple[Any, ...]


class CorrectionError(ReviewdeskError):
    """An edited correction that cannot be stored (e.g. tool arguments that are not JSON)."""


@dataclass(frozen=True)
class ToolCall:
    """Where one tool call's arguments live, and how: a JSON string (OpenAI) or an object."""

    name: str
    path: Path  # to the arguments
    as_string: bool


@dataclass(frozen=True)
class Editable:
    """The answer as the reviewer edits it: its text, its tool calls' arguments as JSON (None
    without tool calls), the call names in order, and the shape found (`text`, `field`, `message`, `json`)."""

    text: str
    tool_args: str | None
    tool_names: tuple[str, ...]
    shape: str
    text_path: Path | None  # None: the whole value is edited as JSON (shape `json`)
    calls: tuple[ToolCall, ...] = ()


def _get(value: Any, path: Path) -> Any:
    for step in path:
        value = value[step]
    return value


def _is_message(m: Any) -> bool:
    return isinstance(m, Mapping) and (("lc" in m and isinstance(m.get("kwargs"), Mapping)) or (
        "content" in m and ("role" in m or "type" in m)) or "tool_calls" in m)  # fmt: skip


def _is_ai(m: Mapping[str, Any]) -> bool:
    if "lc" in m:
        return str((m.get("id") or [""])[-1]) in AI_TYPES
    return m.get("role") == "assistant" or m.get("type") in AI_TYPES


def _body(m: Mapping[str, Any]) -> Mapping[str, Any]:
    return m["kwargs"] if "lc" in m else m


def _in_list(messages: Any, at: Path) -> tuple[list[Path], Path] | None:
    """A message list's assistant messages and its answer: the last assistant message with text
    (else the last assistant message, else the last message); None when it is not a message list."""
    if not isinstance(messages, list) or not messages or not all(_is_message(m) for m in messages):
        return None
    ai = [i for i, m in enumerate(messages) if _is_ai(m)]
    with_text = [i for i in ai if _content_text(_body(messages[i]).get("content"))]
    answer = (with_text or ai or [len(messages) - 1])[-1]
    return [(*at, i) for i in ai] or [(*at, answer)], (*at, answer)


def _messages(outputs: Any) -> tuple[list[Path], Path] | None:
    """Where the assistant messages (whose tool calls are edited) and the answer message sit in `outputs`."""
    if isinstance(outputs, list):
        return _in_list(outputs, ())
    if not isinstance(outputs, Mapping):
        return None
    if _is_message(outputs):
        return [()], ()
    if (found := _in_list(outputs.get("messages"), ("messages",))) is not None:
        return found
    choices = outputs.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], Mapping) and _is_message(
            choices[0].get("message")):  # fmt: skip
        return [("choices", 0, "message")], ("choices", 0, "message")
    gens = outputs.get("generations")
    first = gens[0][0] if isinstance(gens, list) and gens and isinstance(gens[0], list) and gens[0] else None
    if isinstance(first, Mapping) and _is_message(first.get("message")):
        return [("generations", 0, 0, "message")], ("generations", 0, 0, "message")
    return None


def _parts_text(content: list[Any]) -> str:
    return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping) and p.get("type") == "text")


def _content_text(content: Any) -> str | None:
    """Message content as editable text: a string, or its text parts joined; None for other content."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list) and all(isinstance(p, Mapping) for p in content):
        return _parts_text(content)
    return None


def _calls(message: Mapping[str, Any], at: Path) -> list[ToolCall]:
    """The message's tool calls, in order, wherever its format keeps them."""
    body, base = _body(message), ((*at, "kwargs") if "lc" in message else at)
    found = []
    extra = body.get("additional_kwargs") if isinstance(body.get("additional_kwargs"), Mapping) else {}
    for where, calls in ((("tool_calls",), body.get("tool_calls")),
                         (("additional_kwargs", "tool_calls"), extra.get("tool_calls"))):  # fmt: skip
        for i, call in enumerate(calls if isinstance(calls, list) else []):
            if not isinstance(call, Mapping):
                continue
            if isinstance(call.get("function"), Mapping) and "arguments" in call["function"]:
                f = call["function"]
                found.append(ToolCall(str(f.get("name", "")), (*base, *where, i, "function", "arguments"),
                                      isinstance(f["arguments"], str)))  # fmt: skip
            elif "args" in call:
                found.append(ToolCall(str(call.get("name", "")), (*base, *where, i, "args"), False))
        if found:  # LangChain keeps both lists for the same calls: edit one
            break
    content = body.get("content")
    for i, part in enumerate(content if isinstance(content, list) else []):
        if isinstance(part, Mapping) and part.get("type") == "tool_use" and "input" in part:
            found.append(ToolCall(str(part.get("name", "")), (*base, "content", i, "input"), False))
    return found


def _read_args(call: ToolCall, outputs: Any) -> Any:
    raw = _get(outputs, call.path)
    if call.as_string:
        try:
            return json.loads(raw)
        except ValueError:
            return raw  # a model's malformed arguments: shown as the string it wrote
    return raw


def _as_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def editable(outputs: Any) -> Editable:
    """The answer text (and tool-call arguments as JSON) that the reviewer edits, and where they sit."""
    if isinstance(outputs, str):
        return Editable(outputs, None, (), "text", ())
    if (found := _messages(outputs)) is not None:
        senders, at = found
        message = _get(outputs, at)
        text_at = (*at, "kwargs", "content") if "lc" in message else (*at, "content")
        text = _content_text(_body(message).get("content"))
        if text is not None:
            calls = [call for m in senders for call in _calls(_get(outputs, m), m)]
            args = _as_json([_read_args(c, outputs) for c in calls]) if calls else None
            return Editable(text, args, tuple(c.name for c in calls), "message", text_at, tuple(calls))
    if isinstance(outputs, Mapping):
        for key in ANSWER_KEYS:
            if isinstance(outputs.get(key), str):
                return Editable(outputs[key], None, (), "field", (key,))
    return Editable(_as_json(outputs), None, (), "json", None)


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as e:
        raise CorrectionError(f"Not valid JSON in the {what} ({e}): fix it and submit again.") from None


def _set_text(value: Any, path: Path, text: str) -> None:
    *parent, last = path
    holder = _get(value, tuple(parent))
    content = holder.get(last) if isinstance(holder, Mapping) else None
    if not isinstance(content, list):
        holder[last] = text if text or content is not None else content
        return
    kept, placed = [], False
    for part in content:
        if isinstance(part, Mapping) and part.get("type") == "text":
            if not placed:
                kept.append({**part, "text": text})
                placed = True
            continue
        kept.append(part)
    if not placed and text:
        kept.insert(0, {"type": "text", "text": text})
    holder[last] = kept


def _set_args(value: Any, found: Editable, new_args: str) -> None:
    args = _json(new_args, "tool arguments")
    if not isinstance(args, list) or len(args) != len(found.calls):
        raise CorrectionError(
            f"Tool arguments must stay a JSON list with one entry per call ({len(found.calls)}: "
            f"{', '.join(found.tool_names)}): fix it and submit again."
        )
    for call, new in zip(found.calls, args, strict=True):
        if new == _read_args(call, value):
            continue  # untouched: keep the call exactly as logged
        *parent, last = call.path
        as_text = new if isinstance(new, str) else json.dumps(new, ensure_ascii=False)
        _get(value, tuple(parent))[last] = as_text if call.as_string else new


def corrected(outputs: Any, new_text: str, new_args: str | None = None) -> Any:
    """`outputs` with the answer text (and tool arguments, JSON text as `editable` gives it) replaced,
    in the same shape; the outputs themselves when nothing changed. Raises CorrectionError on bad JSON.

    A blank text keeps the answer: a cleared box means "no correction", as an empty answer teaches a
    dataset nothing, and in a message list it would read back as an earlier message's text."""
    found = editable(outputs)
    if not new_text.strip():
        new_text = found.text
    if found.text_path is None:
        return outputs if new_text == found.text else _json(new_text, "correction")
    text_changed = new_text != found.text
    args_changed = new_args is not None and found.tool_args is not None and new_args != found.tool_args
    if not text_changed and not args_changed:
        return outputs
    if not found.text_path:
        return new_text
    value = copy.deepcopy(outputs)
    if args_changed:
        _set_args(value, found, new_args)  # type: ignore[arg-type]
    if text_changed:
        _set_text(value, found.text_path, new_text)
    return outputs if value == outputs else value


def correction(outputs: Any, new_text: str, new_args: str | None = None) -> Any:
    """The value to store as the correction: `corrected(...)`, or None when the edit changes nothing."""
    value = corrected(outputs, new_text, new_args)
    return None if value == outputs else value


__all__ = ["CorrectionError", "Editable", "ToolCall", "corrected", "correction", "editable"]
