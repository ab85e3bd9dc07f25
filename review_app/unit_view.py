"""A trace or a session on the review screen: its steps as a tree, its turns in order.

A trace is its steps as a tree, one row per step, labelled with the step's number (as the form names it),
type, name when the queue shows names, latency, status and tokens; a failed step is marked in red with
an error icon. An open step shows its error, its inputs, the steps under it and its outputs, drawn as
the review screen draws a run (markdown made safe, tool calls named with their arguments, retrieved
documents as a list). The root is open, so the final answer shows at first, as do the steps above any
step the form asks about, unless they are many.

A session is its turns in order: each turn's latest user message, its steps (folded), and its answer.
Only the last `KEEP_TURNS` show at first; the earlier ones wait behind "Show N earlier turns".

The tree is one `st.html` of nested `<details>` (`reviewdesk.review.step_html`): opening a step needs no
rerun, and the page holds one element for the whole trace, not one per step. A rerun sends the same HTML,
so the browser keeps what the reviewer opened: their place. Each step's `<details>` has the class of
`step_key`, which the form uses to mark the step the number keys answer.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import streamlit as st

from review_app import render
from review_app.browser import css_class
from review_app.render import escape
from reviewdesk.review import run_html, step_html
from reviewdesk.review.conversation import split, turns
from reviewdesk.review.units import Step, StepNode, ancestors, step_tree, steps_of, turns_of, unreachable_of

LEVELS = 5  # steps nest at most this deep; a deeper step is drawn beside its parent
KEEP_TURNS = 3  # a session's last turns shown at first; the earlier ones are folded
OPEN_AT_FIRST = 8  # the steps above the asked ones open at first, unless there are more


def step_key(item_id: str, position: int, key: str = "content") -> str:
    """The key naming step `position` of an item (its CSS class marks the step the number keys answer)."""
    return f"{key}-{item_id}-step-{position}"


def step_label(step: Step) -> str:
    """A step's one-line label as markdown: number, type, name, latency, status, tokens; red when it failed."""
    marked = {"number": "**{}**", "error": ":red[**{}**]", "text": "{}"}
    return " · ".join(marked[kind].format(escape(text)) for kind, text in step_html.label_facts(step))


def summary(steps: list[Step], kind: str, unreachable: int = 0) -> str:
    """The unit in one line (plain text): its size, how many steps failed, and how many are outside the tree."""
    failed = sum(s.failed for s in steps)
    head = f"Trace of {len(steps):,} steps" if kind == "trace" else \
        f"Session of {len(turns_of(steps)):,} turns, {len(steps):,} steps"  # fmt: skip
    unreachable = min(unreachable, len(steps))
    tail = f" · the last {unreachable:,} outside the tree (their parent links loop)" if unreachable else ""
    return head + (f" · {failed:,} failed" if failed else " · none failed") + tail


def content(step: Step, raw: bool) -> None:
    """What an open step shows, on its own (beside a widget that asks about it)."""
    st.html(step_html.whole(step.fields, raw, render.HIDDEN))


def _tree(nodes: list[StepNode], item_id: str, raw: bool, key: str, opened: Collection[str]) -> None:
    """Steps as one HTML tree, each step classed by its key."""

    def css(position: int) -> str:
        return css_class(step_key(item_id, position, key))

    st.html(step_html.tree(nodes, raw, render.HIDDEN, opened, css))


@st.fragment
def unit(item: Mapping[str, Any], found: Mapping[str, Any], raw: bool, key: str, asked: Collection[str] = ()) -> None:
    """A trace's tree, or a session's turns; `asked`: run ids of the steps the form asks about (shown at first)."""
    steps = steps_of(found)
    kind = found.get("kind")
    st.caption(escape(summary(steps, kind, unreachable_of(found))))
    if not steps:
        st.info("This item lists no steps: its run is shown as logged.")
        render.run(render.run_of(item, item.get("run_id")), raw=raw)
        return
    asked, roots = set(asked), {s.run_id for s in steps if s.depth == 0}
    above = ancestors(steps, asked) - roots
    opened = roots | (above if len(above) <= OPEN_AT_FIRST else set())
    if kind == "trace":
        _tree(step_tree(steps, LEVELS), item["item_id"], raw, key, opened)
        return
    every = turns_of(steps)
    earlier = every[:-KEEP_TURNS] if len(every) > KEEP_TURNS + 1 else []  # folding one turn would save nothing
    if earlier:
        there = sum(s.run_id in asked for turn in earlier for s in turn)
        box = st.expander(f"Show {len(earlier)} earlier turn{'s' if len(earlier) > 1 else ''}"
                          + (f" ({there} step{'s' if there > 1 else ''} the form asks about)" if there else ""),
                          key=f"{key}-{item['item_id']}-earlier", on_change="rerun")  # fmt: skip
        with box:
            if box.open:
                for n, turn in enumerate(earlier, 1):
                    _turn(turn, n, item["item_id"], raw, key, opened, asked)
    for n, turn in enumerate(every[len(earlier) :], len(earlier) + 1):
        _turn(turn, n, item["item_id"], raw, key, opened, asked)


def _turn(steps: list[Step], n: int, item_id: str, raw: bool, key: str, opened: Collection[str],
          asked: Collection[str]) -> None:  # fmt: skip
    """One turn of a session: the user's latest message, the turn's steps (folded) and its answer."""
    root, *_ = steps
    with st.container(key=f"{key}-{item_id}-turn-{n}"):
        st.markdown(f"**Turn {n}** · step " + step_label(root))
        latest = split(turns(root.fields.get("inputs"), role="user"))[1]
        st.html(run_html.error(root.fields) + (run_html.turns_html(latest, raw) or run_html.label("(no user message)")))
        below = [node for top in step_tree(steps, LEVELS) for node in top.children]
        if below:
            count = len(steps) - 1
            box = st.expander(f"{count} step{'s' if count > 1 else ''} of this turn", icon=":material/account_tree:",
                              expanded=any(s.run_id in opened or s.run_id in asked for s in steps[1:]),
                              key=f"{key}-{item_id}-turn-{n}-steps", on_change="rerun")  # fmt: skip
            with box:
                if box.open:
                    _tree(below, item_id, raw, key, opened)
        st.html(run_html.answer(root.fields.get("outputs"), raw, heading=None))
