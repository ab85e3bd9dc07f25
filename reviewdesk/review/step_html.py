"""A trace's steps as safe HTML: the whole tree as nested `<details>`, each step's row and content.

Why one HTML tree and not a Streamlit expander per step: opening a step is then the browser's own
`<details>`, with no rerun (a rerun re-renders every element of the page, ~140-250 ms for a 200-step
trace), and the page holds one element, not hundreds. On a 200-step trace in Chromium, an expander and
an `st.html` per step made a first view of p50 ~1.0 s, p95 ~1.45 s; the closed expanders alone, ~0.75 s
(bench/unit_screen_bench.py). Steps nest as `step_tree` nests them; each step's `<details>` carries the
class the caller names, so the review screen can mark the step the number keys answer.

Everything here is built by `markup` (markdown made safe, code highlighted by Pygments, documents as a
list) or escaped here; our styles are fixed strings, so nothing run-derived reaches an attribute. What
folds (run details, earlier messages) folds as a native `<details>`. With `raw`, every text is shown
exactly as logged.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Collection, Mapping
from numbers import Real
from typing import Any, Literal

from reviewdesk.review.conversation import Documents, Part, ToolCall, Turn, as_json, signature, split, turns
from reviewdesk.review.markup import LABEL, code_html, documents_html, to_html
from reviewdesk.review.units import Step, StepNode

# Each step type's icon, a Material Symbols name (the font Streamlit ships), in the tree and on the form.
ICONS = {"llm": "smart_toy", "tool": "build", "retriever": "search", "chain": "account_tree",
         "embedding": "scatter_plot", "prompt": "edit_note", "parser": "data_object"}  # fmt: skip
OTHER_ICON = "radio_button_unchecked"
ERROR_ICON = "error"
ERROR_RED = "#dc2626"

# Each role's bubble: a coloured rule on its left, as the chat avatars tell roles apart.
ROLE_COLOURS = {"user": "#60a5fa", "assistant": "#f59e0b", "system": "#a78bfa", "tool": "#6b7280"}
BUBBLE = "border-left:3px solid {};padding:0.1em 0 0.1em 0.75em;margin:0.5em 0"
TITLE = "font-weight:600;margin:0.75em 0 0.25em"
FOLD = "cursor:pointer;margin:0.25em 0;color:#4b5563"
# A step of the tree, drawn as Streamlit draws an expander: a bordered box, its row the summary.
STEP = "border:1px solid rgba(49,51,63,0.2);border-radius:0.5rem;margin:0.4rem 0"
ROW = "cursor:pointer;padding:0.45rem 0.75rem;line-height:1.6"
BODY = "padding:0 0.75rem 0.5rem 1rem"
ICON = ("font-family:'Material Symbols Rounded';font-size:1.15em;vertical-align:-0.2em;margin:0 0.4em 0 0.2em;"
        "font-weight:normal;font-style:normal;-webkit-font-feature-settings:'liga';font-feature-settings:'liga'")
Fact = tuple[Literal["number", "text", "error"], str]


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


def icon_name(step: Step) -> str:
    """The step's icon: an error mark when it failed, else its type's."""
    return ERROR_ICON if step.failed else ICONS.get(step.run_type, OTHER_ICON)


def _latency(ms: Any) -> str | None:
    if not isinstance(ms, Real) or isinstance(ms, bool):
        return None
    return f"{ms:,.0f} ms" if ms < 1000 else f"{ms / 1000:,.1f} s"


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, Real) and not isinstance(value, bool) and value == value else None


def _tokens(f: Mapping[str, Any]) -> str | None:
    """ "1,234 tokens (1,000 in, 234 out)", as far as the step logged them."""
    prompt, completion, total = (_count(f.get(k)) for k in ("prompt_tokens", "completion_tokens", "total_tokens"))
    if total is None and prompt is not None and completion is not None:
        total = prompt + completion
    if total is None:
        return None
    split_ = f" ({prompt:,} in, {completion:,} out)" if prompt is not None and completion is not None else ""
    return f"{total:,} tokens{split_}"


def label_facts(step: Step, flattened: bool = False) -> list[Fact]:
    """A step's row, as plain-text facts for a renderer to mark up: its number, type, name, depth (when drawn
    beside its parent), latency, status ("error" when it failed) and tokens, as far as it logged them."""
    f = step.fields
    facts: list[Fact] = [("number", str(step.position)), ("text", step.run_type)]
    if step.name:
        facts.append(("text", step.name))
    if flattened:
        facts.append(("text", f"depth {step.depth}"))
    if latency := _latency(f.get("latency_ms")):
        facts.append(("text", latency))
    if step.failed:
        facts.append(("error", "error"))
    elif f.get("status") not in (None, ""):
        facts.append(("text", str(f["status"])[:40]))
    if tokens := _tokens(f):
        facts.append(("text", tokens))
    return facts


def _fact_html(kind: str, text: str) -> str:
    if kind == "number":
        return f"<b>{html.escape(text)}</b>"
    if kind == "error":
        return f'<b style="color:{ERROR_RED}">{html.escape(text)}</b>'
    return html.escape(text)


def row_html(step: Step, flattened: bool = False) -> str:
    """A step's row: its icon (hidden from screen readers: the row says "error" in words), then its facts."""
    colour = f";color:{ERROR_RED}" if step.failed else ""
    mark = f'<span aria-hidden="true" style="{ICON}{colour}">{icon_name(step)}</span>'
    return mark + " · ".join(_fact_html(kind, text) for kind, text in label_facts(step, flattened))


def tree(nodes: list[StepNode], raw: bool, hidden: Collection[str], opened: Collection[str],
         css: Callable[[int], str], final: bool = True) -> str:  # fmt: skip
    """Steps (`step_tree`'s) as nested `<details>`: each open when its run id is in `opened`, classed
    `css(position)`, holding its content (`head`, the steps under it, its output). With `final`, a top
    step's output is the "Final answer"."""
    return "".join(_step(node, raw, hidden, opened, css, final) for node in nodes)


def _step(node: StepNode, raw: bool, hidden: Collection[str], opened: Collection[str],
          css: Callable[[int], str], final: bool) -> str:  # fmt: skip
    step, f = node.step, node.step.fields
    inner = head(f, raw, hidden)
    if node.children:
        below = node.count()
        inner += _label(f"{below:,} step{'s' if below > 1 else ''} under this one")
        inner += tree(node.children, raw, hidden, opened, css, final=False)
    if "outputs" in f:
        inner += output(f["outputs"], raw, final=final and step.parent_run_id is None)
    shown = " open" if step.run_id in opened else ""
    return (f'<details class="{html.escape(css(step.position))}" style="{STEP}"{shown}>'
            f'<summary style="{ROW}">{row_html(step, step.depth > node.level)}</summary>'
            f'<div style="{BODY}">{inner}</div></details>')  # fmt: skip
