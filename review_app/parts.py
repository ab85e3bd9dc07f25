"""The parts of a turn on screen: text drawn as safe markdown, tool calls as calls, data as JSON text.

Text goes through `reviewdesk.review.markup.to_html` into `st.html`, which does not read markdown (no
Streamlit directives) and sanitises with DOMPurify, scripts off; with "raw" on, through `st.code` as
the exact text. Tool arguments and data are JSON text in `st.code`. Nothing here renders markdown
from the run, so nothing here needs `escape`.
"""

from __future__ import annotations

import streamlit as st

from reviewdesk.review.conversation import Data, Documents, Part, ToolCall, as_json, signature
from reviewdesk.review.markup import documents_html, to_html


def part(piece: Part, raw: bool) -> None:
    """One part of a turn: text (markdown, or exact with `raw`), a tool call, documents, or data as JSON."""
    if isinstance(piece, str):
        if raw:
            st.code(piece, language=None, wrap_lines=True)
        else:
            st.html(to_html(piece))
    elif isinstance(piece, ToolCall):
        call(piece, raw)
    elif isinstance(piece, Documents):
        st.html(documents_html(piece))
    elif isinstance(piece, Data):
        st.code(as_json(piece.value, indent=2), language=None if raw else "json", wrap_lines=True)


def call(piece: ToolCall, raw: bool) -> None:
    """A tool call as `name(arg="value")`, with its arguments pretty-printed when the line cannot hold them."""
    line, whole = signature(piece)
    st.caption("Tool call")
    st.code(line, language="python", wrap_lines=True)
    if raw or not piece.parsed:
        st.code(piece.raw, language=None, wrap_lines=True)
        if not piece.parsed:
            st.caption("The arguments are not valid JSON: shown as logged.")
    elif not whole:
        st.code(as_json(piece.arguments, indent=2), language="json", wrap_lines=True)
