"""Run content on screen, safely: text is shown as text, so HTML never runs and no URL is fetched.

LLM output may hold `<script>`, `<img onerror=...>` or a markdown image pointing anywhere. Markdown
rendering would fetch that image from the reviewer's browser, so messages go through `st.code`
(plain text, wrapped) and structured values through `st.json`; nothing uses unsafe_allow_html.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

ROLE_AVATARS = {"user": "user", "human": "user", "assistant": "assistant", "ai": "assistant"}
HIDDEN = ("model",)  # blind review: which model answered is not shown


def _text(content: Any) -> str:
    """A message's content as text: OpenAI strings, or lists of parts (text parts joined)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text") or p.get("content") or json.dumps(p) if isinstance(p, dict) else str(p)
                         for p in content)  # fmt: skip
    return json.dumps(content, indent=2, ensure_ascii=False)


def messages(items: list[Any]) -> None:
    """A conversation: one chat bubble per message, tool calls and results as JSON."""
    for m in items:
        if not isinstance(m, dict):
            st.code(_text(m), language=None, wrap_lines=True)
            continue
        role = str(m.get("role", "message"))
        with st.chat_message(ROLE_AVATARS.get(role, "assistant" if role == "tool" else "user")):
            st.caption(role)
            if (content := m.get("content", m.get("parts"))) not in (None, "", []):
                st.code(_text(content), language=None, wrap_lines=True)
            for call in m.get("tool_calls") or []:
                st.caption("tool call")
                st.json(call, expanded=False)


def side(value: Any, title: str) -> None:
    """Inputs or outputs: a conversation when they hold messages, else the raw JSON."""
    st.markdown(f"**{title}**")
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        messages(value["messages"])
    elif isinstance(value, str):
        st.code(value, language=None, wrap_lines=True)
    elif value is None:
        st.caption("(none)")
    else:
        st.json(value, expanded=True)


def run(payload: dict, show_inputs: bool = True) -> None:
    """One run: its conversation, its answer, and its details in an expander."""
    if show_inputs:
        side(payload.get("inputs"), "Conversation")
    side(payload.get("outputs"), "Answer")
    if payload.get("status") == "error":
        st.code(f"error: {payload.get('error')}", language=None, wrap_lines=True)
    with st.expander("Run details"):
        st.json({k: v for k, v in payload.items() if k not in ("inputs", "outputs", *HIDDEN)}, expanded=False)


def sides(item: dict) -> list[str]:
    """A pairwise item's run ids in screen order, left (A) first, as recorded at publish."""
    right = item["run_b"] if item["left_run_id"] == item["run_a"] else item["run_a"]
    return [item["left_run_id"], right]


def item(item: dict) -> None:
    """An item's runs: one run, or one conversation with the two answers side by side."""
    runs = item["payload"]["runs"]
    if item["kind"] != "pairwise":
        run(runs[item["run_id"]])
        return
    shown = sides(item)
    side(runs[shown[0]].get("inputs"), "Conversation")
    for column, (label, run_id) in zip(st.columns(2), zip("AB", shown, strict=True), strict=True):
        with column:
            st.subheader(f"Answer {label}")
            run(runs[run_id], show_inputs=False)
