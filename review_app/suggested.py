"""Suggestions the reviewer can use: each one pre-selects its option in the form, marked as suggested with
the model's confidence and reason; `A` accepts every one still pending; each submission records what the
reviewer did with each (accepted, changed or left: see `schemas.suggestions`), so anchoring stays measurable.

State per item (keyed by the form's prefix, so a new item starts afresh): the suggested screen value of
each criterion, and the criteria the reviewer has *touched* (changed away from the suggestion at some
point, answered with a number key, or accepted with `A`). A suggestion is *pending* while untouched and
still selected. The form calls `preselect` and `track` before drawing its widgets, `mark` after each.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from review_app.render import escape, sides
from schemas.rubric import PREFERENCE, TIE

ACCEPT_KEY = "a"  # accepts every pending suggestion; clashes with no other shortcut (1-9, ctrl+enter, ctrl+k, N)


def _suggested_key(prefix: str) -> str:
    return f"{prefix}-suggested"


def _touched_key(prefix: str) -> str:
    return f"{prefix}-suggestion-touched"


def _widget_key(prefix: str, key: str) -> str:
    return f"{prefix}-{key}"  # rubric_form's widget keys


def share(confidence: object) -> str:
    """A confidence as a percentage; a value that is not a number as it is."""
    return f"{confidence:.0%}" if isinstance(confidence, int | float) else str(confidence)


def _allowed(c: Mapping[str, Any]) -> list | None:
    """The values a criterion's widget can hold, for the criteria a suggestion can pre-select."""
    if c["type"] == "boolean":
        return [True, False]
    return c.get("options") if c["type"] in ("categorical", "ordinal") else None


def proposals(item: Mapping[str, Any], criteria: list[Mapping[str, Any]]) -> dict[str, dict]:
    """The item's suggestions the form can pre-select, by criterion, with `value` in screen terms.

    A pairwise preference (a run id, or "tie") becomes the option naming its screen side: the preference
    question's options name A, B and tie in that order (`rubric_form.PREFERENCE_QUESTION`). A suggestion
    whose value is not one of its criterion's options (a changed rubric, a run not on screen) is dropped.
    """
    given = item.get("suggestions")
    if not isinstance(given, dict):
        return {}
    out = {}
    for c in criteria:
        s, options = given.get(c["key"]), _allowed(c)
        if not isinstance(s, dict) or not options:
            continue
        value = s.get("value")
        if c["key"] == PREFERENCE and item.get("kind") == "pairwise":
            value = dict(zip([*sides(item), TIE], options, strict=False)).get(value)
        if value is not None and any(value == o and type(value) is type(o) for o in options):
            out[c["key"]] = {**s, "value": value}
    return out


def preselect(prefix: str, found: Mapping[str, dict]) -> None:
    """Select each suggested option in its widget, once per item (a reviewer's later choice stays)."""
    if _suggested_key(prefix) in st.session_state:
        return
    st.session_state[_suggested_key(prefix)] = dict(found)
    st.session_state[_touched_key(prefix)] = set()
    for key, s in found.items():
        st.session_state.setdefault(_widget_key(prefix, key), s["value"])


def _state(prefix: str) -> tuple[dict[str, dict], set[str]]:
    return st.session_state.get(_suggested_key(prefix), {}), st.session_state.get(_touched_key(prefix), set())


def track(prefix: str) -> None:
    """Count a criterion as touched once its widget holds anything but the suggestion (a click changed it)."""
    found, touched = _state(prefix)
    for key, s in found.items():
        if st.session_state.get(_widget_key(prefix, key)) != s["value"]:
            touched.add(key)


def touch(prefix: str, key: str) -> None:
    """The reviewer answered `key` themselves (a number key): the suggestion is no longer pending."""
    found, touched = _state(prefix)
    if key in found:
        touched.add(key)


def pending(prefix: str, key: str) -> bool:
    """Whether `key` still shows its pre-selected suggestion, untouched by the reviewer."""
    found, touched = _state(prefix)
    return (
        key in found and key not in touched and st.session_state.get(_widget_key(prefix, key)) == found[key]["value"]
    )


def accept_all(prefix: str) -> None:
    """The accept key: every pending suggestion becomes the reviewer's own answer (outcome `accepted`)."""
    found, touched = _state(prefix)
    touched.update(key for key in found if pending(prefix, key))


def accept_button(prefix: str) -> None:
    """The button (and key) that accepts every pending suggestion; drawn only while one is pending."""
    found, _ = _state(prefix)
    if any(pending(prefix, key) for key in found):
        st.button("Accept suggestions", key=f"{prefix}-accept", shortcut=ACCEPT_KEY, on_click=accept_all,
                  args=(prefix,), icon=":material/done_all:",
                  help="Keep every pre-selected suggestion (key A)")  # fmt: skip


def describe(s: Mapping[str, Any]) -> str:
    """A suggestion in words, escaped for markdown: "Suggested: incorrect — 60% confident (model m). Reason"."""
    text = f"Suggested: {s.get('value')} — {share(s.get('confidence'))} confident (model {s.get('model_version')})."
    reason = s.get("reason").strip() if isinstance(s.get("reason"), str) else ""
    return escape(text + (f" {reason}" + ("" if reason.endswith((".", "!", "?")) else ".") if reason else ""))


def mark(prefix: str, key: str) -> None:
    """Beside a criterion with a suggestion: what was suggested, and whether it is pending, accepted or changed."""
    found, _ = _state(prefix)
    if key not in found:
        return
    if pending(prefix, key):
        state = f"pre-selected: press **{ACCEPT_KEY.upper()}** to accept, or change it"
    elif st.session_state.get(_widget_key(prefix, key)) == found[key]["value"]:
        state = "accepted"
    else:
        state = "you changed it"
    st.caption(f":material/smart_toy: {describe(found[key])} **{state}**")


def outcomes(prefix: str, answers: Mapping[str, Any]) -> dict[str, str] | None:
    """What the reviewer did with each pre-selected suggestion, from the form's answers (screen values):
    changed (the answer is not the suggestion), accepted (it is, and they touched it) or left; None if none."""
    found, touched = _state(prefix)
    out = {}
    for key, s in found.items():
        if answers.get(key) != s["value"]:
            out[key] = "changed"
        else:
            out[key] = "accepted" if key in touched else "left"
    return out or None


__all__ = [
    "ACCEPT_KEY",
    "accept_all",
    "accept_button",
    "describe",
    "mark",
    "outcomes",
    "pending",
    "preselect",
    "proposals",
    "share",
    "touch",
    "track",
]
