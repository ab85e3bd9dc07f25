"""A step's content as safe HTML: its error, run details, input and output, in as few page elements as can be.

Why HTML and not one Streamlit element per part: a trace's steps are sent with the tree, closed, so that
opening one is the browser's own `<details>` and needs no rerun (a rerun re-renders every element of the
page, ~140-250 ms for a 200-step trace). Drawn as chat bubbles, captions, code and JSON elements, the
steps of a 200-step trace made ~1,600 elements and a first view of 2-4 s; as one `st.html` each, about
what the closed tree alone costs (bench/unit_screen_bench.py).

Everything here is built by `markup` (markdown made safe, code highlighted by Pygments, documents as a
list) or escaped here; our styles are fixed strings, so nothing run-derived reaches an attribute. What
folds (run details, earlier messages) folds as a native `<details>`. With `raw`, every text is shown
exactly as logged.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Mapping
from typing import Any

from reviewdesk.review.conversation import Documents, Part, ToolCall, Turn, as_json, signature, split, turns
from reviewdesk.review.markup import LABEL, code_html, documents_html, to_html

# Each role's bubble: a coloured rule on its left, as the chat avatars tell roles apart.
ROLE_COLOURS = {"user": "#60a5fa", "assistant": "#f59e0b", "system": "#a78bfa", "tool": "#6b7280"}
BUBBLE = "border-left:3px solid {};padding:0.1em 0 0.1em 0.75em;margin:0.5em 0"
TITLE = "font-weight:600;margin:0.75em 0 0.25em"
FOLD = "cursor:pointer;margin:0.25em 0;color:#4b5563"


def _label(text: str) -> str:
    return f'<div style="{LABEL}">{html.escape(text)}</div>'


def _fold(summary: str, inner: str) -> str:
    """`inner` behind a native disclosure: it opens in the browser, with no rerun."""
    return f'<details><summary style="{FOLD}">{html.escape(summary)}</summary>{inner}</details>'


def part_html(piece: Part, raw: bool) -> str:
    """One part of a turn: text (markdown made safe, or exact with `raw`), a named tool call, documents, data."""
    if isinstance(piece, str):
        return code_html(piece) if raw else to_html(piece)
    if isinstance(piece, ToolCall):
        line, whole = signature(piece)
        shown = [_label("Tool call"), code_html(line, "python")]
        if raw or not piece.parsed:
            shown.append(code_html(piece.raw))
            if not piece.parsed:
                shown.append(_label("The arguments are not valid JSON: shown as logged."))
        elif not whole:
            shown.append(code_html(as_json(piece.arguments, indent=2), "json"))
        return "".join(shown)
    if isinstance(piece, Documents):
        return documents_html(piece)
    return code_html(as_json(piece.value, indent=2), "" if raw else "json")  # Data


def turns_html(found: list[Turn], raw: bool) -> str:
    """Turns as bubbles, each labelled as the log named it; a tool result in a bubble of its own."""
    return "".join(
        f'<div style="{BUBBLE.format(ROLE_COLOURS.get(t.role, "#9ca3af"))}">{_label(t.label)}'
        + "".join(part_html(p, raw) for p in t.parts)
        + "</div>"
        for t in found
    )


def _conversation(inputs: Any, raw: bool) -> str:
    """A step's input: its earlier messages folded, the latest user turn and what follows shown."""
    earlier, latest = split(turns(inputs, role="user"))
    folded = _fold(f"Show {len(earlier)} earlier message{'s' if len(earlier) > 1 else ''}",
                   turns_html(earlier, raw)) if earlier else ""  # fmt: skip
    return f'<div style="{TITLE}">Input</div>{folded}{turns_html(latest, raw) if latest else _label("(none)")}'


def head(fields: Mapping[str, Any], raw: bool, hidden: Collection[str] = ()) -> str:
    """What an open step shows above the steps under it: its error when it failed, its other fields folded
    as "Run details" (less `hidden`), and its input."""
    shown = []
    if fields.get("status") == "error":
        error = fields.get("error")
        shown.append(code_html(f"error: {error if isinstance(error, str) else as_json(error, indent=2)}"))
    details = {k: v for k, v in fields.items() if k not in ("inputs", "outputs", *hidden)}
    shown.append(_fold("Run details", code_html(as_json(details, indent=2))))  # plain: a step's least read part
    if "inputs" in fields:
        shown.append(_conversation(fields["inputs"], raw))
    return "".join(shown)


def output(outputs: Any, raw: bool, final: bool = False) -> str:
    """What an open step shows below the steps under it: its output ("Final answer" for a trace's root)."""
    found = turns(outputs)
    title = f'<div style="{TITLE}">{"Final answer" if final else "Output"}</div>'
    return title + (turns_html(found, raw) if found else _label("(none)"))


def whole(fields: Mapping[str, Any], raw: bool, hidden: Collection[str] = (), final: bool = False) -> str:
    """All an open step shows when no steps are under it: `head`, then its output when it logged one."""
    return head(fields, raw, hidden) + (output(fields["outputs"], raw, final) if "outputs" in fields else "")
