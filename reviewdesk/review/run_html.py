"""A run as safe HTML: its turns as bubbles, earlier messages folded, its answer, its error and details.

Why one HTML block and not a Streamlit element per piece (a chat message, a caption, an `st.html` or
`st.code` per part): Submit draws the next run whole, and Chromium re-renders every element Streamlit
sends, one websocket message each. As one `st.html` per run, Submit to the next item drawn went from
p50 151 / p95 200 ms to p50 122 / p95 151 ms (bench/browser_bench.py, 100k items, no load). What folds
(earlier messages, run details) folds as a native `<details>`: it opens in the browser, with no rerun.

Everything is built by `markup` (markdown made safe, code highlighted by Pygments, documents as a list)
or escaped here; our styles are fixed strings, so nothing run-derived reaches an attribute. With `raw`,
every text is shown exactly as logged. A trace's steps are drawn with these pieces by `step_html`.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Mapping
from typing import Any

from reviewdesk.review.conversation import Documents, Part, ToolCall, Turn, as_json, signature, split, turns
from reviewdesk.review.markup import LABEL, code_html, documents_html, to_html

ANSWER = "answer"  # the class of a run's answer block
# Each role's bubble: a coloured rule on its left, as chat avatars tell roles apart.
ROLE_COLOURS = {"user": "#60a5fa", "assistant": "#f59e0b", "system": "#a78bfa", "tool": "#6b7280"}
BUBBLE = "border-left:3px solid {};padding:0.1em 0 0.1em 0.75em;margin:0.5em 0"
TITLE = "font-weight:600;margin:0.75em 0 0.25em"
FOLD = "cursor:pointer;margin:0.25em 0;color:#4b5563"


def label(text: str) -> str:
    """`text` as a small grey line: a bubble's role, "Tool call", "(none)"."""
    return f'<div style="{LABEL}">{html.escape(text)}</div>'


def _fold(summary: str, inner: str) -> str:
    """`inner` behind a native disclosure: it opens in the browser, with no rerun."""
    return f'<details><summary style="{FOLD}">{html.escape(summary)}</summary>{inner}</details>'


def _title(text: str) -> str:
    return f'<div style="{TITLE}">{html.escape(text)}</div>'


def _part(piece: Part, raw: bool) -> str:
    """One part of a turn: text (markdown made safe, or exact with `raw`), a named tool call, documents, data."""
    if isinstance(piece, str):
        return code_html(piece) if raw else to_html(piece)
    if isinstance(piece, ToolCall):
        line, whole = signature(piece)
        shown = [label("Tool call"), code_html(line, "python")]
        if raw or not piece.parsed:
            shown.append(code_html(piece.raw))
            if not piece.parsed:
                shown.append(label("The arguments are not valid JSON: shown as logged."))
        elif not whole:
            shown.append(code_html(as_json(piece.arguments, indent=2), "json"))
        return "".join(shown)
    if isinstance(piece, Documents):
        return documents_html(piece)
    return code_html(as_json(piece.value, indent=2), "" if raw else "json")  # Data


def turns_html(found: list[Turn], raw: bool) -> str:
    """Turns as bubbles, each labelled as the log named it; a tool result in a bubble of its own."""
    return "".join(
        f'<div class="turn-{html.escape(t.role)}" style="{BUBBLE.format(ROLE_COLOURS.get(t.role, "#9ca3af"))}">'
        + label(t.label)
        + "".join(_part(p, raw) for p in t.parts)
        + "</div>"
        for t in found
    )


def conversation(inputs: Any, raw: bool, heading: str = "Input") -> str:
    """A run's inputs: the earlier messages folded, the latest user turn and what follows shown."""
    earlier, latest = split(turns(inputs, role="user"))
    folded = _fold(f"Show {len(earlier)} earlier message{'s' if len(earlier) > 1 else ''}",
                  turns_html(earlier, raw)) if earlier else ""  # fmt: skip
    return _title(heading) + folded + (turns_html(latest, raw) if latest else label("(none)"))


def output(outputs: Any, raw: bool, heading: str | None = "Output") -> str:
    """A run's outputs as turns, under `heading` unless it is None."""
    found = turns(outputs)
    return (_title(heading) if heading else "") + (turns_html(found, raw) if found else label("(none)"))


def answer(outputs: Any, raw: bool, heading: str | None = "Answer") -> str:
    """A run's outputs as its answer: classed `ANSWER`, so the screen's script, tests and benches find it."""
    return f'<div class="{ANSWER}">{output(outputs, raw, heading)}</div>'


def error(fields: Mapping[str, Any]) -> str:
    """A run's error as logged, when it failed; else nothing."""
    if fields.get("status") != "error":
        return ""
    logged = fields.get("error")
    return code_html(f"error: {logged if isinstance(logged, str) else as_json(logged, indent=2)}")


def details(fields: Any, hidden: Collection[str] = ()) -> str:
    """A run's error, when it failed, and its other fields (less `hidden`) folded as "Run details"; nothing
    for a payload that is not a run object (it is all shown as the answer)."""
    if not isinstance(fields, Mapping):
        return ""
    rest = {k: v for k, v in fields.items() if k not in ("inputs", "outputs", *hidden)}
    return error(fields) + _fold("Run details", code_html(as_json(rest, indent=2)))


def run(payload: Any, raw: bool, hidden: Collection[str] = (), inputs: bool = True,
        heading: str | None = "Answer") -> str:  # fmt: skip
    """One run as the review screen shows it: its conversation (with `inputs`), its answer (classed
    `ANSWER`), then its error and details. A payload that is not a run object is shown whole as the answer."""
    if not isinstance(payload, Mapping):
        return answer(payload, raw, heading)
    shown = conversation(payload.get("inputs"), raw, "Conversation") if inputs else ""
    return shown + answer(payload.get("outputs"), raw, heading) + details(payload, hidden)
