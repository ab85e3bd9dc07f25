"""A trace's steps as safe HTML: the whole tree as nested `<details>`, each step's row and content.

Why one HTML tree and not a Streamlit expander per step: opening a step is then the browser's own
`<details>`, with no rerun (a rerun re-renders every element of the page, ~140-250 ms for a 200-step
trace), and the page holds one element, not hundreds. On a 200-step trace in Chromium, an expander and
an `st.html` per step made a first view of p50 ~1.0 s, p95 ~1.45 s; the closed expanders alone, ~0.75 s
(bench/unit_screen_bench.py). Steps nest as `step_tree` nests them; each step's `<details>` carries the
class the caller names, so the review screen can mark the step the number keys answer.

A step's content is drawn as the review screen draws a run, by `run_html` (markdown made safe, tool calls
named, earlier messages and run details folded as native `<details>`); its row is escaped here. Our
styles are fixed strings, so nothing run-derived reaches an attribute.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Collection, Mapping
from numbers import Real
from typing import Any, Literal

from reviewdesk.review import run_html
from reviewdesk.review.units import Step, StepNode

# Each step type's icon, a Material Symbols name (the font Streamlit ships), in the tree and on the form.
ICONS = {"llm": "smart_toy", "tool": "build", "retriever": "search", "chain": "account_tree",
         "embedding": "scatter_plot", "prompt": "edit_note", "parser": "data_object"}  # fmt: skip
OTHER_ICON = "radio_button_unchecked"
ERROR_ICON = "error"
ERROR_RED = "#dc2626"

# A step of the tree, drawn as Streamlit draws an expander: a bordered box, its row the summary.
STEP = "border:1px solid rgba(49,51,63,0.2);border-radius:0.5rem;margin:0.4rem 0"
ROW = "cursor:pointer;padding:0.45rem 0.75rem;line-height:1.6"
BODY = "padding:0 0.75rem 0.5rem 1rem"
ICON = ("font-family:'Material Symbols Rounded';font-size:1.15em;vertical-align:-0.2em;margin:0 0.4em 0 0.2em;"
        "font-weight:normal;font-style:normal;-webkit-font-feature-settings:'liga';font-feature-settings:'liga'")
Fact = tuple[Literal["number", "text", "error"], str]


def head(fields: Mapping[str, Any], raw: bool, hidden: Collection[str] = ()) -> str:
    """What an open step shows above the steps under it: its error when it failed, its other fields folded
    as "Run details" (less `hidden`), and its input."""
    shown = run_html.conversation(fields["inputs"], raw) if "inputs" in fields else ""
    return run_html.details(fields, hidden) + shown


def output(outputs: Any, raw: bool, final: bool = False) -> str:
    """What an open step shows below the steps under it: its output ("Final answer" for a trace's root)."""
    return run_html.output(outputs, raw, "Final answer" if final else "Output")


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
        inner += run_html.label(f"{below:,} step{'s' if below > 1 else ''} under this one")
        inner += tree(node.children, raw, hidden, opened, css, final=False)
    if "outputs" in f:
        inner += output(f["outputs"], raw, final=final and step.parent_run_id is None)
    shown = " open" if step.run_id in opened else ""
    return (f'<details class="{html.escape(css(step.position))}" style="{STEP}"{shown}>'
            f'<summary style="{ROW}">{row_html(step, step.depth > node.level)}</summary>'
            f'<div style="{BODY}">{inner}</div></details>')  # fmt: skip
