"""Run content on screen, safely: any shape is shown, nothing runs, nothing is fetched, nothing crashes.

Runs come from production and may hold anything: `<script>`, a markdown image pointing anywhere, a
message part whose text is a number, `tool_calls: 7`. `reviewdesk.review.conversation` turns any
payload into turns (one bubble each, a tool result in its own); `reviewdesk.review.run_html` draws a
run as one HTML block for `st.html`, its text as markdown made safe by `reviewdesk.review.markup` (HTML
escaped, images as text, links inert unless http(s)), or exactly as logged with "Raw text" on. Nothing
uses unsafe_allow_html. Streamlit renders markdown in captions, labels, help, notices and headings, so
every run-, queue- or reviewer-derived string shown there goes through `escape` first. And if an
item still fails to draw for a reason nobody foresaw, `guarded` puts a plain notice in its place,
so the page goes on to the rubric and the Submit and Skip buttons.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from reviewdesk.review import run_html, wording
from reviewdesk.review.conversation import plain, turns
from reviewdesk.review.units import unit_of

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


def run(payload: Any, raw: bool = False) -> None:
    """One run as one HTML block: its conversation, its answer, then its error and details folded."""
    st.html(run_html.run(payload, raw, HIDDEN))


def run_of(item: dict, run_id: str | None) -> Any:
    """The stored run `run_id` of an item's payload; None when the payload does not hold it."""
    runs = item["payload"].get("runs") if isinstance(item.get("payload"), dict) else None
    return runs.get(run_id) if isinstance(runs, dict) else None


def sides(item: dict) -> list[str]:
    """A pairwise item's run ids in screen order, left (A) first, as recorded at publish."""
    right = item["run_b"] if item["left_run_id"] == item["run_a"] else item["run_a"]
    return [item["left_run_id"], right]


def _outputs(payload: Any) -> Any:
    """A run's outputs; a payload that is not a run object is shown whole."""
    return payload.get("outputs") if isinstance(payload, dict) else payload


def item(item: dict, key: str = "content", asked: Collection[str] = ()) -> None:
    """An item's runs: one run, a trace's or a session's steps (`review_app.unit_view`; `asked`: the steps
    the form asks about, shown at first), or one conversation with the two answers side by side; never raises.

    "Raw text" shows every text exactly as logged; on a pair, "Highlight differences" shows both answers
    as text with the words only one of them has marked. `key` tells apart two views of the same item."""
    with guarded("this item's content"):
        prefix, pairwise = f"{key}-{item['item_id']}", item["kind"] == "pairwise"
        with st.container(horizontal=True):
            raw = st.toggle("Raw text", key=f"{prefix}-raw", help="Show every text exactly as logged.")
            marked = pairwise and st.toggle("Highlight differences", key=f"{prefix}-diff",
                                            help="Mark the words in which answers A and B differ.")  # fmt: skip
        if not pairwise and (found := unit_of(item.get("payload"))) is not None:
            from review_app import unit_view  # it draws steps with this module's parts: imported once needed

            unit_view.unit(item, found, raw, key, asked)
            return
        if not pairwise:
            run(run_of(item, item["run_id"]), raw=raw)
            return
        shown = [run_of(item, run_id) for run_id in sides(item)]
        st.html(run_html.conversation(shown[0].get("inputs") if isinstance(shown[0], dict) else None, raw,
                                      "Conversation"))  # fmt: skip
        spans = differences(*(plain(turns(_outputs(p))) for p in shown)) if marked else None
        for i, (column, payload) in enumerate(zip(st.columns(2), shown, strict=True)):
            with column:
                st.subheader(f"Answer {'AB'[i]}")
                if spans is None:
                    st.html(run_html.run(payload, raw, HIDDEN, inputs=False, heading=None))
                else:
                    st.html(wording.marked_html(spans[i], "ab"[i]) + run_html.details(payload, HIDDEN))


def differences(a: str, b: str) -> tuple[list[wording.Span], list[wording.Span]]:
    """Say whether two answers differ in their words, and return each one's spans with those words marked."""
    if wording.same_words(a, b):
        st.info("The two answers hold the same words" + ("." if a == b else "; only their spacing differs."))
    else:
        st.caption("Struck out: only in answer A. Underlined: only in answer B.")
    return wording.differences(a, b)
