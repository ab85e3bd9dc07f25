"""A trace or a session on the review screen: its steps as a tree, its turns in order.

A trace is its steps as a tree of expanders, one per step, labelled with the step's number (as the
form names it), type, name when the queue shows names, latency, status and tokens; a failed step is
marked in red with an error icon. An open step shows its error, its inputs, the steps under it and its
outputs, drawn as the review screen draws a run (`review_app.render`: markdown made safe, tool calls
named with their arguments, retrieved documents as a list). The root is open, so the final answer
shows at first, as do the steps above any step the form asks about, unless they are many.

A session is its turns in order: each turn's latest user message, its steps (folded), and its answer.
Only the last `KEEP_TURNS` show at first; the earlier ones wait behind "Show N earlier turns".

Opening a step needs no rerun: every step's content is sent with the tree, in closed expanders, as
few `st.html` elements (`reviewdesk.review.step_html`), so the browser opens it at once (on a 200-step
trace, p50 ~15 ms against ~140 ms for a fragment rerun, which re-renders every element of the page) and
the first view costs about what the closed tree alone did (bench/unit_screen_bench.py).
Expanders are keyed by item and step, so the browser keeps what is open across reruns: the reviewer's place.
Every run-derived string in a label goes through `escape`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from numbers import Real
from typing import Any

import streamlit as st

from review_app import render
from review_app.render import escape
from review_app.step_questions import icon
from reviewdesk.review import step_html
from reviewdesk.review.conversation import split, turns
from reviewdesk.review.units import Step, StepNode, ancestors, step_tree, steps_of, turns_of, unreachable_of

LEVELS = 5  # expanders nested at most this deep; a deeper step is drawn beside its parent
KEEP_TURNS = 3  # a session's last turns shown at first; the earlier ones are folded
OPEN_AT_FIRST = 8  # the steps above the asked ones open at first, unless there are more


def step_key(item_id: str, position: int, key: str = "content") -> str:
    """The widget key of step `position`'s expander (its CSS class marks the step the number keys answer)."""
    return f"{key}-{item_id}-step-{position}"


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


def step_label(step: Step, flattened: bool = False) -> str:
    """A step's one-line label as markdown: number, type, name, latency, status, tokens; red when it failed."""
    f = step.fields
    parts = [f"**{step.position}**", escape(step.run_type)]
    if step.name:
        parts.append(escape(step.name))
    if flattened:
        parts.append(f"depth {step.depth}")
    if latency := _latency(f.get("latency_ms")):
        parts.append(latency)
    if step.failed:
        parts.append(":red[**error**]")
    elif f.get("status") not in (None, ""):
        parts.append(escape(str(f["status"])[:40]))
    if tokens := _tokens(f):
        parts.append(tokens)
    return " · ".join(parts)


def summary(steps: list[Step], kind: str, unreachable: int = 0) -> str:
    """The unit in one line (plain text): its size, how many steps failed, and how many are outside the tree."""
    failed = sum(s.failed for s in steps)
    head = f"Trace of {len(steps):,} steps" if kind == "trace" else \
        f"Session of {len(turns_of(steps)):,} turns, {len(steps):,} steps"  # fmt: skip
    unreachable = min(unreachable, len(steps))
    tail = f" · the last {unreachable:,} outside the tree (their parent links loop)" if unreachable else ""
    return head + (f" · {failed:,} failed" if failed else " · none failed") + tail


def _node(node: StepNode, item_id: str, raw: bool, key: str, opened: Collection[str], top: bool = False) -> None:
    """One step: an expander holding its content (error, inputs, the steps under it, outputs), opened in the browser."""
    step, nested = node.step, node.level
    with st.expander(step_label(step, flattened=step.depth > nested), expanded=step.run_id in opened,
                     key=step_key(item_id, step.position, key), icon=icon(step)):  # fmt: skip

        def under() -> None:
            st.caption(f"{(below := node.count()):,} step{'s' if below > 1 else ''} under this one")
            _steps(node.children, item_id, raw, key, opened)

        content(step, raw, under if node.children else None, top)


def content(step: Step, raw: bool, under: Callable[[], None] | None = None, top: bool = False) -> None:
    """What an open step shows: its error and run details, its input, what `under` draws (the steps under
    it), its output (the final answer, for a trace's root)."""
    f = step.fields
    if under is None:  # one element: the fewer a page holds, the sooner Chromium draws it
        st.html(step_html.whole(f, raw, render.HIDDEN, final=top))
        return
    st.html(step_html.head(f, raw, render.HIDDEN))
    under()
    if "outputs" in f:
        st.html(step_html.output(f["outputs"], raw, final=top))


def _steps(nodes: list[StepNode], item_id: str, raw: bool, key: str, opened: Collection[str],
           top: bool = False) -> None:  # fmt: skip
    """Sibling steps, in order."""
    for node in nodes:
        _node(node, item_id, raw, key, opened, top=top and node.step.parent_run_id is None)


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
        _steps(step_tree(steps, LEVELS), item["item_id"], raw, key, opened, top=True)
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
        render.failure(root.fields)
        render.draw(split(turns(root.fields.get("inputs"), role="user"))[1], raw)
        below = [node for top in step_tree(steps, LEVELS) for node in top.children]
        if below:
            count = len(steps) - 1
            box = st.expander(f"{count} step{'s' if count > 1 else ''} of this turn", icon=":material/account_tree:",
                              expanded=any(s.run_id in opened or s.run_id in asked for s in steps[1:]),
                              key=f"{key}-{item_id}-turn-{n}-steps", on_change="rerun")  # fmt: skip
            with box:
                if box.open:
                    _steps(below, item_id, raw, key, opened)
        render.draw(turns(root.fields.get("outputs")), raw)
