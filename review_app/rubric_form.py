"""Rubric criteria as widgets, and number keys that answer them without the mouse.

Each criterion's type picks its widget. Keys 1-9 answer the *highlighted* criterion, the first
choice criterion still unanswered, so a reviewer presses one digit per criterion and Ctrl+Enter.
Widgets are keyed by item, so a new item starts blank and an edit starts from its stored answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from review_app import browser
from review_app.render import as_json, escape, run_of, sides
from schemas.rubric import PREFERENCE, PREFERENCE_CRITERION, TIE

FLAGS = ["", "contains personal data (PII)", "broken run", "harmful content", "other"]
KEYS = "123456789"
A_BETTER, B_BETTER, TIE_SHOWN = "A better", "B better", "Tie"  # the pairwise answers as the screen names them
PREFERENCE_QUESTION = {  # the pairwise question as the form asks it: screen sides in place of run ids
    **PREFERENCE_CRITERION.model_dump(include={"key", "type", "required"}),
    "label": "Which answer is better?",
    "options": [A_BETTER, B_BETTER, TIE_SHOWN],
}


def _key(prefix: str, c: Mapping[str, Any]) -> str:
    return f"{prefix}-{c['key']}"


def _name(c: Mapping[str, Any]) -> str:
    return c.get("label") or c["key"].replace("_", " ").capitalize()


def _label(c: Mapping[str, Any]) -> str:
    """The widget label: the name (escaped: labels render markdown), marked when an answer is required."""
    return escape(_name(c)) + (" *" if c.get("required") else "")


def choices(c: Mapping[str, Any]) -> list | None:
    """The options a key can pick, for choice criteria (categorical, ordinal, numeric with options)."""
    return c.get("options") if c["type"] in ("categorical", "ordinal", "numeric") else None


def highlighted(criteria: list[Mapping[str, Any]], prefix: str) -> Mapping[str, Any] | None:
    """The criterion the number keys answer: the first choice criterion without an answer yet."""
    return next((c for c in criteria if choices(c) and st.session_state.get(_key(prefix, c)) is None), None)


def _press(criteria: list[Mapping[str, Any]], prefix: str, n: int) -> None:
    """Key n answers the criterion highlighted when the key is handled, not when its button was drawn:
    a second key pressed before the page has redrawn must answer the next criterion, not the last."""
    c = highlighted(criteria, prefix)
    if c is not None and n < len(options := choices(c)):
        st.session_state[_key(prefix, c)] = options[n]


def quick_keys(criteria: list[Mapping[str, Any]], prefix: str) -> None:
    """A row of buttons with shortcuts 1..n, labelled with the options of the highlighted criterion,
    whose widget is marked on screen.

    Each digit's button keeps one identity for the whole item, so a shortcut is never bound to two
    buttons at once while the page redraws; `browser` finds it by its key when focus is in a widget
    that would swallow the digit."""
    c = highlighted(criteria, prefix)
    if c is None:
        return
    with st.container(horizontal=True, vertical_alignment="center"):
        st.markdown(f"Keys answer **{escape(_name(c))}**")
        browser.mark(_key(prefix, c))
        for n, (shortcut, option) in enumerate(zip(KEYS, choices(c), strict=False)):
            st.button(escape(option), key=f"{browser.QUICK_KEY}{shortcut}-{prefix}", shortcut=shortcut,
                      on_click=_press, args=(criteria, prefix, n))  # fmt: skip


def widget(c: Mapping[str, Any], prefix: str) -> Any:
    """One criterion's widget; returns its value, None while a choice is not made.

    Labels, help and the options of radios and segmented controls render markdown: all are escaped."""
    key, label, help_ = _key(prefix, c), _label(c), escape(c["description"]) if c.get("description") else None
    kind, options = c["type"], c.get("options")
    if kind == "categorical":
        return st.radio(label, options, index=None, key=key, help=help_, horizontal=True, format_func=escape)
    if kind in ("ordinal", "numeric") and options:
        return st.segmented_control(label, options, key=key, help=help_, format_func=escape)
    if kind == "numeric":
        return st.slider(label, float(c["min"]), float(c["max"]), key=key, help=help_)
    if kind == "boolean":
        return st.toggle(label, key=key, help=help_)
    return st.text_area(label, key=key, help=help_) or None


def form(criteria: list[Mapping[str, Any]], prefix: str, initial: Mapping[str, Any] | None = None) -> dict:
    """Every criterion's widget, starting from `initial` answers; returns the answers by key."""
    for c in criteria:
        if initial and initial.get(c["key"]) is not None:
            st.session_state.setdefault(_key(prefix, c), initial[c["key"]])
    return {c["key"]: widget(c, prefix) for c in criteria}


def criteria(item: Mapping[str, Any], rubric: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """What the reviewer answers for this item: the rubric, after the preference for a pairwise one."""
    return ([PREFERENCE_QUESTION] if item["kind"] == "pairwise" else []) + list(rubric["criteria"])


def stored(item: Mapping[str, Any], answers: dict) -> dict:
    """Answers as stored: the pairwise preference as a run id ("tie" for a tie), never a screen side."""
    if item["kind"] == "pairwise" and answers.get(PREFERENCE) is not None:
        a, b = sides(item)
        answers = {**answers, PREFERENCE: {A_BETTER: a, B_BETTER: b, TIE_SHOWN: TIE}[answers[PREFERENCE]]}
    return answers


def shown(item: Mapping[str, Any], answers: Mapping[str, Any]) -> dict:
    """Stored answers as the form shows them: the inverse of `stored`."""
    if item["kind"] == "pairwise" and answers.get(PREFERENCE) is not None:
        a, b = sides(item)
        answers = {**answers, PREFERENCE: {a: A_BETTER, b: B_BETTER}.get(answers[PREFERENCE], TIE_SHOWN)}
    return dict(answers)


def extras(item: Mapping[str, Any], prefix: str, initial: Mapping[str, Any] | None = None) -> dict:
    """Comment, correction (an edited copy of a single run's output, kept only if changed) and flag."""
    initial = initial or {}
    out = {"comment": st.text_area("Comment", value=initial.get("comment") or "", key=f"{prefix}-comment") or None}
    out["correction"] = None
    if item["kind"] == "single":
        run = run_of(item, item["run_id"])  # any shape: the form must draw whatever the payload holds
        output = run.get("outputs") if isinstance(run, dict) else None
        original = as_json(output, indent=2) if output is not None else ""
        edited = st.text_area("Correction (an edited answer, saved as the reference)",
                              value=initial.get("correction") or original, key=f"{prefix}-correction")  # fmt: skip
        out["correction"] = None if edited == original else edited
    was = ((initial.get("flags") or [{}])[0]).get("reason", "")
    options = FLAGS if was in FLAGS else [*FLAGS, was]  # keep a reason given outside this form
    reason = st.selectbox("Flag", options, index=options.index(was), format_func=lambda f: f or "no flag",
                          key=f"{prefix}-flag")  # fmt: skip
    out["flags"] = [{"reason": reason}] if reason else []
    return out
