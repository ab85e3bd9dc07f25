"""A run's inputs or outputs as a conversation: one list of turns, whichever format logged the run.

Runs arrive as OpenAI chat messages and responses, Anthropic content blocks, LangChain/LangSmith
serialized messages and generations, OpenTelemetry GenAI role/parts, retriever documents, or any
other JSON. The review screen draws one shape, a `Turn`: a role and its parts in order, where a part
is markdown text, a `ToolCall` (its name and its arguments parsed out of the JSON string inside
JSON), `Documents`, or `Data` (a value shown as JSON). A tool result is a turn of its own, role
"tool", labelled with the name of the call it answers. Nothing is dropped: what is not recognised
stays as `Data`. Pure functions over the payload, which blinding already narrowed to what the
reviewer may see; the review app draws the turns.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

ROLES = {"user": "user", "human": "user", "assistant": "assistant", "ai": "assistant", "model": "assistant",
         "system": "system", "developer": "system", "tool": "tool", "function": "tool"}  # fmt: skip
# LangChain's serialized message classes (`{"lc": 1, "type": "constructor", "id": [..., class], "kwargs": ...}`).
LANGCHAIN = {"HumanMessage": "human", "AIMessage": "ai", "SystemMessage": "system", "ToolMessage": "tool",
             "FunctionMessage": "function", "AIMessageChunk": "ai", "HumanMessageChunk": "human"}  # fmt: skip
LANGCHAIN_TYPES = ("human", "ai", "system", "tool", "chat")  # `{"type": "human", "data": {...}}` (messages_to_dict)
# An object with one of these keys holding a string is shown as that text (LangChain chains, simple apps).
TEXT_KEYS = ("output", "answer", "response", "completion", "result", "text", "content", "input", "question",
             "query", "prompt")  # fmt: skip
CALL_PARTS = ("tool_use", "tool_call", "function_call", "server_tool_use")  # Anthropic, OTel GenAI, OpenAI responses
RESULT_PARTS = ("tool_result", "tool_call_response", "function_call_output")
DOCUMENT_TEXT = ("page_content", "text", "content", "snippet", "chunk")
DOCUMENT_SOURCE = ("source", "url", "title", "file_path", "document_id", "id")
KEEP = 2  # with no user turn to start from, the turns kept in view


def as_json(value: Any, indent: int | None = None) -> str:
    """Any value as JSON text (what JSON cannot hold as its repr), or a note when it nests too deep to write."""
    try:
        return json.dumps(value, indent=indent, ensure_ascii=False, default=repr)
    except RecursionError:
        return "(nested too deep to show)"


@dataclass(frozen=True)
class Data:
    """A structured value, shown as JSON."""

    value: Any


@dataclass(frozen=True)
class ToolCall:
    """A call the model asked for: `arguments` parsed (or the text as logged when it is not JSON), `raw` as logged."""

    name: str
    arguments: Any
    raw: str
    parsed: bool = True
    call_id: str | None = None


@dataclass(frozen=True)
class Document:
    """One retrieved document: its text, where it came from, and the rest of what the retriever logged."""

    text: str
    source: str | None = None
    metadata: Any = None


@dataclass(frozen=True)
class Documents:
    """Retrieved documents, in the retriever's order."""

    items: tuple[Document, ...]


Part = str | Data | ToolCall | Documents


@dataclass(frozen=True)
class Turn:
    """One message: `role` is user, assistant, system, tool or other; `label` names it as the log did."""

    role: str
    label: str
    parts: tuple[Part, ...] = ()
    call_id: str | None = None  # a tool result: the call it answers


def turns(value: Any, role: str = "assistant") -> list[Turn]:
    """A run's inputs (`role="user"`) or outputs as turns, whatever their shape; tool results named after their call."""
    found = _side(value, role)
    names = {p.call_id: p.name for t in found for p in t.parts if isinstance(p, ToolCall) and p.call_id}
    return [
        dataclasses.replace(t, label=f"tool result: {names[t.call_id]}") if t.call_id in names else t for t in found
    ]


def split(conversation: list[Turn]) -> tuple[list[Turn], list[Turn]]:
    """(earlier turns, latest turns): the latest start at the last user turn (else the last KEEP turns)."""
    users = [i for i, t in enumerate(conversation) if t.role == "user"]
    start = users[-1] if users else max(0, len(conversation) - KEEP)
    return conversation[:start], conversation[start:]


def signature(call: ToolCall, width: int = 80) -> tuple[str, bool]:
    """(`get_order(order_id="A1")`, True) when the arguments are a flat object that fits `width`; else
    (`get_order(…)`, False), and the arguments need showing in full."""
    args = call.arguments
    if call.parsed and args in (None, {}):
        return f"{call.name}()", True
    flat = isinstance(args, dict) and not any(isinstance(v, dict | list) for v in args.values())
    if call.parsed and flat and all(k.isidentifier() for k in args):
        line = f"{call.name}({', '.join(f'{k}={as_json(v)}' for k, v in args.items())})"
        if len(line) <= width:
            return line, True
    return f"{call.name}(…)", False


def plain(conversation: list[Turn]) -> str:
    """The turns as one text (tool calls as one-line calls, data as JSON): what two answers are compared on."""
    pieces = []
    for part in (p for t in conversation for p in t.parts):
        if isinstance(part, str):
            pieces.append(part)
        elif isinstance(part, ToolCall):
            pieces.append(f"{part.name}({as_json(part.arguments)})")
        elif isinstance(part, Documents):
            pieces += [d.text for d in part.items]
        else:
            pieces.append(as_json(part.value, indent=2))
    return "\n\n".join(pieces)


def _side(value: Any, role: str) -> list[Turn]:
    """One side of a run: messages, a model response, documents, a text under a known key, or data."""
    if value is None or value in ("", [], {}):
        return []
    if isinstance(value, list) and all(_is_message(v) for v in value):
        return _messages(value)
    if isinstance(value, list) and all(isinstance(v, dict) and "page_content" in v for v in value):
        return [Turn("tool", "retrieved documents", (_documents(value),))]
    if not isinstance(value, dict):
        return _grouped(_content(value), role, role)
    if isinstance(value.get("messages"), list):
        found = _grouped(_content(value["system"]), "system", "system") if value.get("system") else []
        return _with_rest(found + _messages(value["messages"]), value, ("messages", "system"), role)
    if isinstance(choices := value.get("choices"), list):  # an OpenAI chat completion response
        found = [t for c in choices for t in _message(c.get("message", c) if isinstance(c, dict) else c)]
        return _with_rest(found, value, ("choices",), role)
    if isinstance(generations := value.get("generations"), list):  # a LangChain LLM result
        flat = [g for group in generations for g in (group if isinstance(group, list) else [group])]
        found = [t for g in flat for t in _generation(g)]
        return _with_rest(found, value, ("generations",), role)
    if isinstance(value.get("documents"), list):
        return _with_rest([Turn("tool", "retrieved documents", (_documents(value["documents"]),))], value,
                          ("documents",), role)  # fmt: skip
    if _is_message(value):
        return _message(value)
    if key := next((k for k in TEXT_KEYS if isinstance(value.get(k), str)), None):
        return _with_rest([Turn(role, role, (value[key],))], value, (key,), role)
    return [Turn(role, role, (Data(value),))]


def _with_rest(found: list[Turn], value: dict, used: tuple[str, ...], role: str) -> list[Turn]:
    """`found`, and the object's other keys as data: before a conversation (context), after an answer."""
    rest = {k: v for k, v in value.items() if k not in used and v is not None}
    if not rest:
        return found
    extra = Turn("other", "more", (Data(rest),))
    return [extra, *found] if role == "user" else [*found, extra]


def _is_message(value: Any) -> bool:
    """Whether `value` looks like one chat message of any of the known formats."""
    if not isinstance(value, dict):
        return False
    return "role" in value or _langchain(value)[1] is not None


def _langchain(m: dict) -> tuple[dict, str | None]:
    """A LangChain message unwrapped: (its fields, its type) for the serialized and the dict forms, else (m, None)."""
    if m.get("lc") == 1 and m.get("type") == "constructor" and isinstance(m.get("kwargs"), dict):
        ids = m.get("id")
        name = ids[-1] if isinstance(ids, list) and ids and isinstance(ids[-1], str) else None
        return m["kwargs"], m["kwargs"].get("type") or LANGCHAIN.get(name or "", name)
    kind = m.get("type")
    if kind in LANGCHAIN_TYPES and "role" not in m:
        return (m["data"] if isinstance(m.get("data"), dict) else m), kind
    return m, None


def _messages(items: list[Any]) -> list[Turn]:
    """Turns of a message list, LangSmith's nested `[[...]]` batch of one unwrapped."""
    if len(items) == 1 and isinstance(items[0], list):
        items = items[0]
    return [t for m in items for t in _message(m)]


def _message(m: Any) -> list[Turn]:
    """One message as turns: its own, then one per tool result it carries (Anthropic and OTel put them in content)."""
    if not isinstance(m, dict):
        return _grouped(_content(m), "other", "message")
    m, kind = _langchain(m)
    label = m.get("role") or kind or "message"
    label = label if isinstance(label, str) else as_json(label)
    role = ROLES.get(label.lower(), "other")
    content = m.get("content", m.get("parts"))
    if role == "tool":
        name = m.get("name") if isinstance(m.get("name"), str) else None
        parts, inner_id = _result(content)
        call_id = m.get("tool_call_id") if isinstance(m.get("tool_call_id"), str) else inner_id
        return [Turn("tool", f"tool result: {name}" if name else label, tuple(parts), call_id)]
    pieces = _content(content)
    pieces += _calls(m, {p.call_id for p in pieces if isinstance(p, ToolCall) and p.call_id})
    return _grouped(pieces, role, label)


def _grouped(pieces: list[Part | Turn], role: str, label: str) -> list[Turn]:
    """Pieces of one message as turns: its parts in one turn, broken where a tool result is a turn of its own."""
    found: list[Turn] = []
    parts: list[Part] = []
    for piece in pieces:
        if isinstance(piece, Turn):
            found += [Turn(role, label, tuple(parts))] if parts else []
            found.append(piece)
            parts = []
        else:
            parts.append(piece)
    return [*found, Turn(role, label, tuple(parts))] if parts or not found else found


def _calls(m: dict, seen: set[str]) -> list[ToolCall]:
    """A message's tool calls (OpenAI, LangChain, legacy function_call), less those its content already held."""
    extra = m.get("additional_kwargs") if isinstance(m.get("additional_kwargs"), dict) else {}
    listed = next((c for c in (m.get("tool_calls"), extra.get("tool_calls")) if c not in (None, "", [], {})), None)
    listed = [] if listed is None else listed if isinstance(listed, list) else [listed]
    legacy = m.get("function_call", extra.get("function_call"))
    calls = [_call(c) for c in [*listed, *([legacy] if legacy not in (None, "", {}) else [])]]
    return [c for c in calls if c.call_id is None or c.call_id not in seen]


def _call(c: Any) -> ToolCall:
    """One tool call in any format, its arguments parsed when they are a JSON string; anything else as data."""
    if not isinstance(c, dict):
        return ToolCall("tool call", c, as_json(c))
    fn = c["function"] if isinstance(c.get("function"), dict) else c
    name = fn.get("name")
    name = name if isinstance(name, str) and name else "tool call" if name in (None, "") else as_json(name)
    args = next((fn[k] for k in ("arguments", "args", "input", "parameters") if k in fn), None)
    call_id = next((c[k] for k in ("id", "call_id", "tool_call_id") if isinstance(c.get(k), str)), None)
    if not isinstance(args, str):
        return ToolCall(name, args, as_json(args), True, call_id)
    if not args.strip():
        return ToolCall(name, None, args, True, call_id)
    try:
        return ToolCall(name, json.loads(args), args, True, call_id)
    except (ValueError, RecursionError):
        return ToolCall(name, args, args, False, call_id)


def _content(content: Any) -> list[Part | Turn]:
    """Message content in order: text, data, tool calls, documents, and tool results as turns."""
    if content is None or content in ("", []):
        return []
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [x for c in content for x in _content(c)]
    if not isinstance(content, dict):
        return [Data(content)]
    kind = content.get("type")
    if kind in CALL_PARTS:
        return [_call(content)]
    if kind in RESULT_PARTS:
        inner = next((content[k] for k in ("content", "response", "output") if k in content), None)
        call_id = next((content[k] for k in ("tool_use_id", "id", "call_id") if isinstance(content.get(k), str)), None)
        return [Turn("tool", "tool result", tuple(_result(inner)[0]), call_id)]
    inner = next((content[k] for k in ("text", "content") if content.get(k) not in (None, "")), None)
    return [Data(content)] if inner is None else _content(inner)


def _result(value: Any) -> tuple[list[Part], str | None]:
    """A tool's result as parts (JSON text parsed, shown as data), and the call it answers when its parts say."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return [Data(json.loads(value))], None
        except (ValueError, RecursionError):
            return [value], None
    parts: list[Part] = []
    call_id = None
    for piece in _content(value):
        if isinstance(piece, Turn):  # a result given as a part (OTel's tool_call_response)
            parts += piece.parts
            call_id = call_id or piece.call_id
        else:
            parts.append(piece)
    return parts, call_id


def _generation(g: Any) -> list[Turn]:
    """One LangChain generation: its message when it has one, else its text."""
    if isinstance(g, dict) and isinstance(g.get("message"), dict):
        return _message(g["message"])
    if isinstance(g, dict) and isinstance(g.get("text"), str):
        return [Turn("assistant", "assistant", (g["text"],))]
    return _grouped(_content(g), "other", "generation")


def _documents(items: list[Any]) -> Documents:
    """Retrieved documents: each one's text, its source (from itself or its metadata) and the rest as metadata."""
    found = []
    for d in items:
        if not isinstance(d, dict):
            found.append(Document(d if isinstance(d, str) else as_json(d)))
            continue
        key = next((k for k in DOCUMENT_TEXT if isinstance(d.get(k), str)), None)
        meta = d.get("metadata")
        rest = meta if meta is not None else {k: v for k, v in d.items() if k != key}
        holders = [x for x in (meta, d) if isinstance(x, dict)]
        source = next((h[k] for h in holders for k in DOCUMENT_SOURCE if isinstance(h.get(k), str)), None)
        found.append(Document(d[key] if key else as_json(d), source, rest if rest not in ({}, None) else None))
    return Documents(tuple(found))
