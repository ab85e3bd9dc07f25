"""Run content on screen, safely: any shape is shown, as text, so nothing runs, nothing is fetched, nothing crashes.

Runs come from production and may hold anything: `<script>`, a markdown image pointing anywhere, a
message part whose text is a number, `tool_calls: 7`. Message content goes through `st.code` (plain
text, wrapped) and structured values through `st.json`, whatever their shape; nothing uses
unsafe_allow_html. Streamlit renders markdown in captions, labels, help, notices and headings, so
every run-, queue- or reviewer-derived string shown there goes through `escape` first. And if an
item still fails to draw for a reason nobody foresaw, `guarded` puts a plain notice in its place,
so the page goes on to the rubric and the Submit and Skip buttons.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

ROLE_AVATARS = {"user": "user", "human": "user", "assistant": "assistant", "ai": "assistant"}
HIDDEN = ("model",)  # blind review: which model answered is not shown
# What can make a link or an image ([...]), HTML or an autolink (<), an entity (&), math ($) or a
# code span (`), and the backslash itself: each is shown literally after a backslash. Emphasis, lists
# and headings stay: they cannot fetch or hide anything, and rubric instructions use them.
ACTIVE = re.compile(r"([\\`\[\]<&$])")
# What Streamlit and GFM match past backslash escapes: directives (:red[...], :help), :material/icon:,
# :streamlit:, emoji :shortcodes:, http:// and www. autolinks, e-mail autolinks. An invisible word
# joiner after the ':', '@' or 'www' breaks each of them and leaves the text reading the same.
JOINER = "\u2060"
BREAK = re.compile(r"(:(?=[\w+\-/])|@(?=\w)|(?<![^\W_])www(?=\.))", re.IGNORECASE)
log = logging.getLogger(__name__)


def escape(value: object) -> str:
    """`value` as markdown that Streamlit shows as the same text: no link, image, HTML, math or directive."""
    return BREAK.sub(lambda m: m.group(1) + JOINER, ACTIVE.sub(r"\\\1", str(value)))


def as_json(value: Any, indent: int | None = None) -> str:
    """Any value as JSON text (what JSON cannot hold as its repr), or a note when it nests too deep to write."""
    try:
        return json.dumps(value, indent=indent, ensure_ascii=False, default=repr)
    except RecursionError:
        return "(nested too deep to show)"


@contextmanager
def guarded(what: str) -> Iterator[None]:
    """Draw `what` inside; if that fails, log it for the operator and show the reviewer a plain notice."""
    try:
        yield
    except Exception:  # st.stop and st.rerun are BaseExceptions: they pass through
        log.exception("could not draw %s", what)
        st.warning(
            f"Part of {what} could not be shown. Judge from what is shown, or choose the flag "
            "'broken run' and submit; Skip gives the item back."
        )


def text(content: Any) -> str:
    """A message's content as text: a string, a list of parts (their text joined), else its JSON."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(_part(p) for p in content)
    return as_json(content, indent=2)


def _part(part: Any) -> str:
    """One content part as text: its `text` (or `content`) when it has one, else the part as JSON."""
    if isinstance(part, dict):
        inner = next((part[k] for k in ("text", "content") if part.get(k) not in (None, "")), None)
        if inner is not None:
            return text(inner)
    return part if isinstance(part, str) else as_json(part)


def value(data: Any, expanded: bool = False) -> None:
    """A structured value as collapsible JSON, whatever it holds (a string stays a JSON string)."""
    st.json(as_json(data), expanded=expanded)


def messages(items: list[Any]) -> None:
    """A conversation: one chat bubble per message, tool calls and results as JSON."""
    for m in items:
        if not isinstance(m, dict):
            st.code(text(m), language=None, wrap_lines=True)
            continue
        role = m.get("role", "message")
        role = role if isinstance(role, str) else as_json(role)
        with st.chat_message(ROLE_AVATARS.get(role, "assistant" if role == "tool" else "user")):
            st.caption(escape(role))
            if (content := m.get("content", m.get("parts"))) not in (None, "", []):
                st.code(text(content), language=None, wrap_lines=True)
            if (calls := m.get("tool_calls")) not in (None, "", [], {}):
                for call in calls if isinstance(calls, list) else [calls]:
                    st.caption("tool call")
                    value(call)


def side(data: Any, title: str) -> None:
    """Inputs or outputs: a conversation when they hold messages, else the raw JSON."""
    st.markdown(f"**{title}**")
    if isinstance(data, dict) and isinstance(data.get("messages"), list):
        messages(data["messages"])
    elif isinstance(data, str):
        st.code(data, language=None, wrap_lines=True)
    elif data is None:
        st.caption("(none)")
    else:
        value(data, expanded=True)


def run(payload: Any, show_inputs: bool = True) -> None:
    """One run: its conversation, its answer, and its details in an expander."""
    if not isinstance(payload, dict):  # not a run as publish writes it: show what is there
        side(payload, "Run")
        return
    if show_inputs:
        side(payload.get("inputs"), "Conversation")
    side(payload.get("outputs"), "Answer")
    if payload.get("status") == "error":
        st.code(f"error: {text(payload.get('error'))}", language=None, wrap_lines=True)
    with st.expander("Run details"):
        value({k: v for k, v in payload.items() if k not in ("inputs", "outputs", *HIDDEN)})


def run_of(item: dict, run_id: str | None) -> Any:
    """The stored run `run_id` of an item's payload; None when the payload does not hold it."""
    runs = item["payload"].get("runs") if isinstance(item.get("payload"), dict) else None
    return runs.get(run_id) if isinstance(runs, dict) else None


def sides(item: dict) -> list[str]:
    """A pairwise item's run ids in screen order, left (A) first, as recorded at publish."""
    right = item["run_b"] if item["left_run_id"] == item["run_a"] else item["run_a"]
    return [item["left_run_id"], right]


def item(item: dict) -> None:
    """An item's runs: one run, or one conversation with the two answers side by side; never raises."""
    with guarded("this item's content"):
        if item["kind"] != "pairwise":
            run(run_of(item, item["run_id"]))
            return
        shown = [run_of(item, run_id) for run_id in sides(item)]
        side(shown[0].get("inputs") if isinstance(shown[0], dict) else None, "Conversation")
        for column, label, payload in zip(st.columns(2), "AB", shown, strict=True):
            with column:
                st.subheader(f"Answer {label}")
                run(payload, show_inputs=False)
