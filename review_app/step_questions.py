"""A trace's or a session's rubric as the form asks it: a `per_step` criterion once per step it names.

Each step's question is the criterion with the step it asks about (`step`, its run id), its own widget
(`slot`: the criterion key and the step's position) and a label naming the step as the tree does
("step 3 · tool · lookup", with the same icon), so the number keys walk through the steps in order.
The answers the widgets hold fold back into one answer per criterion: `{step run id: value}` for a
per-step one (`reviewdesk.review.units`), which a required criterion needs for every step it names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from review_app.render import escape
from reviewdesk.review.drafts import unanswered
from reviewdesk.review.step_html import icon_name
from reviewdesk.review.units import Step, asked_steps, step_answer, step_title, steps_of, unit_of


def unit_steps(item: Mapping[str, Any]) -> list[Step]:
    """The item's steps when it is a trace or a session; [] for a run-level item."""
    return steps_of(unit_of(item.get("payload")))


def is_session(item: Mapping[str, Any]) -> bool:
    return (unit_of(item.get("payload")) or {}).get("kind") == "session"


def icon(step: Step) -> str:
    """The step's icon, as the tree draws it (`step_html.icon_name`), in Streamlit's icon syntax."""
    return f":material/{icon_name(step)}:"


def criterion_name(c: Mapping[str, Any]) -> str:
    """The name of the criterion a question asks (a per-step question's own label names its step)."""
    return c.get("criterion") or c.get("label") or c["key"].replace("_", " ").capitalize()


def expand(criteria: list[Mapping[str, Any]], steps: list[Step], session: bool = False) -> list[Mapping[str, Any]]:
    """The questions: each unit-level criterion as it is, each per-step one once per step it asks about."""
    questions: list[Mapping[str, Any]] = []
    for c in criteria:
        if not c.get("per_step"):
            questions.append(c)
            continue
        for n, step in enumerate(asked_steps(c, steps)):
            questions.append({**c, "step": step.run_id, "slot": f"{c['key']}.{step.position}", "first": n == 0,
                              "position": step.position, "icon": icon(step), "criterion": criterion_name(c),
                              "label": step_title(step, session).capitalize()})  # fmt: skip
    return questions


def heading(c: Mapping[str, Any], criteria: list[Mapping[str, Any]]) -> None:
    """Above a per-step criterion's first step: its name, and which steps it asks about."""
    count = sum(1 for q in criteria if q["key"] == c["key"])
    st.markdown(f"**{escape(criterion_name(c))}**" + (" \\*" if c.get("required", True) else ""),
                help=escape(c["description"]) if c.get("description") else None)  # fmt: skip
    kinds = " and ".join(c["per_step"])
    st.caption(f"For each {escape(kinds)} step: {count} step{'s' if count != 1 else ''}, numbered as in the steps "
               "on the left.")  # fmt: skip


def fold(criteria: list[Mapping[str, Any]], values: list[Any]) -> dict:
    """One answer per criterion from the values of its questions (in `criteria` order): a per-step
    criterion's as `{step run id: value}` over the steps answered, None when none is."""
    answers: dict[str, Any] = {}
    per_step: dict[str, dict[str, Any]] = {}
    for c, value in zip(criteria, values, strict=True):
        if "step" in c:
            per_step.setdefault(c["key"], {})[c["step"]] = value
            answers.setdefault(c["key"], None)
        else:
            answers[c["key"]] = value
    return {**answers, **{key: step_answer(values) for key, values in per_step.items()}}


def initial_value(c: Mapping[str, Any], initial: Mapping[str, Any]) -> Any:
    """A question's stored answer in `initial` (a step's entry in its criterion's object)."""
    value = initial.get(c["key"])
    if "step" not in c:
        return value
    return value.get(c["step"]) if isinstance(value, Mapping) else None


def columns(criteria: list[Mapping[str, Any]], answers: Mapping[str, Any]) -> dict[str, Any]:
    """One reviewer's answers as table columns (plain text, for a dataframe): a unit-level criterion under its
    key, a per-step one once per step it asks about, under "key · Step 4 · tool · get_order"."""
    return {f"{c['key']} · {c['label']}" if "step" in c else c["key"]: initial_value(c, answers) for c in criteria}


def unanswered_steps(criteria: list[Mapping[str, Any]], answers: Mapping[str, Any],
                     ask: str = "Answer every step these criteria ask about") -> str | None:  # fmt: skip
    """Why the form cannot be sent for its required per-step criteria (escaped): `ask`, then each step still
    missing."""
    lacking: dict[str, list[str]] = {}
    for q in criteria:
        if "step" in q and q.get("required", True):
            given = answers.get(q["key"])
            if unanswered(given.get(q["step"]) if isinstance(given, Mapping) else None):
                lacking.setdefault(criterion_name(q), []).append(q["label"].lower())
    if not lacking:
        return None
    return f"{ask}: " + escape("; ".join(f"{name}: {', '.join(steps)}" for name, steps in lacking.items())) + "."
