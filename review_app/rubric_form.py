"""Rubric criteria as widgets, and number keys that answer them without the mouse.

Each criterion's type picks its widget. Keys 1-9 answer the *highlighted* criterion, the first
choice criterion still unanswered, so a reviewer presses one digit per criterion and Ctrl+Enter.
Widgets are keyed by item, so a new item starts blank and an edit starts from its stored answers.
A boolean is a Yes/No choice with nothing selected, never a default; option descriptions show as
captions (radios) or help (segmented controls), and option examples as help (`option_help`); a
correction is edited as plain text, not as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from review_app import browser, step_questions
from review_app import suggested as suggestion
from review_app.render import escape, run_of, sides
from reviewdesk.review.corrections import CorrectionError, corrected, editable
from reviewdesk.review.drafts import flag_only, missing_answers
from schemas.rubric import PREFERENCE, PREFERENCE_CRITERION, TIE

FLAGS = ["", "contains personal data (PII)", "broken run", "harmful content", "other"]
KEYS = "123456789"
FLAG_HELP = ("Sends the item to a lead. If the run is broken, flag it instead of rating it: choose a reason and "
             "leave every answer empty (where the queue allows it; most do).")  # fmt: skip
A_BETTER, B_BETTER, TIE_SHOWN = "A better", "B better", "Tie"  # the pairwise answers as the screen names them
PREFERENCE_QUESTION = {  # the pairwise question as the form asks it: screen sides in place of run ids
    **PREFERENCE_CRITERION.model_dump(include={"key", "type", "required"}),
    "label": "Which answer is better?",
    "options": [A_BETTER, B_BETTER, TIE_SHOWN],
}


def _key(prefix: str, c: Mapping[str, Any]) -> str:
    return f"{prefix}-{c.get('slot', c['key'])}"  # a per-step question: one widget per step


def _name(c: Mapping[str, Any]) -> str:
    return c.get("label") or c["key"].replace("_", " ").capitalize()


def _label(c: Mapping[str, Any]) -> str:
    """The widget label: the name (escaped: labels render markdown), marked when an answer is required; a
    per-step question's names its step, after the step type's icon (as in the tree)."""
    return (f"{c['icon']} " if "icon" in c else "") + escape(_name(c)) + (" *" if c.get("required") else "")


def choices(c: Mapping[str, Any]) -> list | None:
    """The options a key can pick, for choice criteria (categorical, ordinal, numeric with options)."""
    return c.get("options") if c["type"] in ("categorical", "ordinal", "numeric") else None


def _open(c: Mapping[str, Any], prefix: str) -> bool:
    """Not answered by the reviewer yet: no choice, or a model's pre-selected suggestion still pending."""
    return st.session_state.get(_key(prefix, c)) is None or suggestion.pending(prefix, c["key"])


def highlighted(criteria: list[Mapping[str, Any]], prefix: str) -> Mapping[str, Any] | None:
    """The criterion the number keys answer: the first choice criterion without an answer yet."""
    return next((c for c in criteria if choices(c) and _open(c, prefix)), None)


def _press(criteria: list[Mapping[str, Any]], prefix: str, n: int) -> None:
    """Key n answers the criterion highlighted when the key is handled, not when its button was drawn:
    a second key pressed before the page has redrawn must answer the next criterion, not the last."""
    c = highlighted(criteria, prefix)
    if c is not None and n < len(options := choices(c)):
        st.session_state[_key(prefix, c)] = options[n]
        suggestion.touch(prefix, c["key"])


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
        asks = f"{c['criterion']}, {c['label'].lower()}" if "step" in c else _name(c)
        st.markdown(f"Keys answer **{escape(asks)}**")
        after = criteria[criteria.index(c) + 1 :]
        browser.mark(_key(prefix, c), then=[_key(prefix, o) for o in after if choices(o) and _open(o, prefix)])
        for n, (shortcut, option) in enumerate(zip(KEYS, choices(c), strict=False)):
            st.button(escape(option), key=f"{browser.QUICK_KEY}{shortcut}-{prefix}", shortcut=shortcut,
                      on_click=_press, args=(criteria, prefix, n))  # fmt: skip


YES_NO = {True: "Yes", False: "No"}


EXAMPLE_KINDS = {"good": "Good examples", "bad": "Bad examples (near misses, not this option)"}


def option_help(c: Mapping[str, Any], option: Any) -> str:
    """One option's help as markdown, every part escaped: its description, then its good and bad examples
    ("" when the rubric gives none). The review form shows it; the training feedback can show it too."""
    description = (c.get("option_descriptions") or {}).get(str(option))
    examples = (c.get("option_examples") or {}).get(str(option)) or {}
    lines = [escape(description)] if description else []
    lines += [f"{label}: " + "; ".join(f"“{escape(e)}”" for e in examples[kind])
              for kind, label in EXAMPLE_KINDS.items() if examples.get(kind)]  # fmt: skip
    return "\n\n".join(lines)


def _exemplified(c: Mapping[str, Any]) -> list:
    """The options the rubric gives examples of."""
    return [o for o in c.get("options") or () if str(o) in (c.get("option_examples") or {})]


def _help(c: Mapping[str, Any], options: list | None) -> str | None:
    """The criterion's description, then each helped option's help (all escaped: help renders markdown)."""
    lines = [escape(c["description"])] if c.get("description") else []
    lines += [f"{escape(o)}: {text}" for o in options or () if (text := option_help(c, o))]
    return "\n\n".join(lines) or None


def widget(c: Mapping[str, Any], prefix: str) -> Any:
    """One criterion's widget; returns its value, None while a choice is not made (a boolean too:
    Yes/No with nothing selected, so a forgotten answer is never stored as No).

    Labels, help, captions and the options of radios and segmented controls render markdown: all are escaped."""
    key, label = _key(prefix, c), _label(c)
    kind, options = c["type"], c.get("options")
    if kind == "categorical":
        described = c.get("option_descriptions") or {}
        captions = [escape(described.get(str(o), "")) for o in options] if described else None
        return st.radio(label, options, index=None, key=key, help=_help(c, _exemplified(c)), horizontal=True,
                        format_func=escape, captions=captions)  # fmt: skip
    if kind in ("ordinal", "numeric") and options:
        return st.segmented_control(label, options, key=key, help=_help(c, options), format_func=escape)
    if kind == "numeric":
        return st.slider(label, float(c["min"]), float(c["max"]), key=key, help=_help(c, None))
    if kind == "boolean":
        return st.segmented_control(label, list(YES_NO), key=key, help=_help(c, None), format_func=YES_NO.get)
    return _blank_none(st.text_area(label, key=key, help=_help(c, None)))


def _blank_none(value: Any) -> Any:
    return None if value == "" else value


def given(criteria: list[Mapping[str, Any]], prefix: str) -> dict:
    """The answers the form's widgets hold, read from the session without drawing them (as `form` returns
    them): so a press of Submit is handled before the next item's form is drawn, in one run."""
    return step_questions.fold(criteria, [_blank_none(st.session_state.get(_key(prefix, c))) for c in criteria])


def form(
    criteria: list[Mapping[str, Any]],
    prefix: str,
    initial: Mapping[str, Any] | None = None,
    suggested: Mapping[str, dict] | None = None,
) -> dict:
    """Every criterion's widget, starting from `initial` answers, or pre-selecting `suggested` ones
    (`suggested.proposals`: marked as suggested, with an accept key); returns the answers by key, an
    unanswered one as None (so an optional boolean left blank is stored as absent, never as False)."""
    for c in criteria:
        if initial and (value := step_questions.initial_value(c, initial)) is not None:
            st.session_state.setdefault(_key(prefix, c), value)
    if suggested:
        suggestion.preselect(prefix, suggested)
        suggestion.track(prefix)
        suggestion.accept_button(prefix)
    values = []
    for c in criteria:
        if c.get("first"):
            step_questions.heading(c, criteria)
        values.append(widget(c, prefix))
        suggestion.mark(prefix, c["key"])
    return step_questions.fold(criteria, values)


def criteria(item: Mapping[str, Any], rubric: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """What the reviewer answers for this item: the rubric, after the preference for a pairwise one."""
    return ([PREFERENCE_QUESTION] if item["kind"] == "pairwise" else []) + list(rubric["criteria"])


def questions(item: Mapping[str, Any], rubric: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """What the form asks: `criteria`, each `per_step` one once per step of a trace or session it names."""
    steps, session = step_questions.unit_steps(item), step_questions.is_session(item)
    return step_questions.expand(criteria(item, rubric), steps, session)


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


def _problem_key(prefix: str) -> str:
    return f"{prefix}-correction-problem"


def _correction_base(item: Mapping[str, Any], initial: Mapping[str, Any]) -> tuple[Any, Any]:
    """The run's output, and what the correction box starts from: the stored correction of an edit, or the output."""
    run = run_of(item, item["run_id"])  # any shape: the form must draw whatever the payload holds
    output = run.get("outputs") if isinstance(run, dict) else None
    stored = initial.get("correction")
    return output, stored if stored is not None else ("" if output is None else output)


def _corrected(item: Mapping[str, Any], prefix: str, initial: Mapping[str, Any]) -> tuple[Any, str | None]:
    """The correction the boxes hold, in the run's output shape (None if unchanged), and why it cannot be
    stored (None if it can); the stored one while the boxes are not drawn (an answer nested too deep)."""
    text = st.session_state.get(f"{prefix}-correction")
    if text is None:
        return initial.get("correction"), None
    output, base = _correction_base(item, initial)
    try:
        value = corrected(base, text, st.session_state.get(f"{prefix}-correction-args"))
    except (CorrectionError, RecursionError) as e:
        return initial.get("correction"), str(e) or "This correction nests too deep to store."
    return (None if value == output else value), None


def _correction(item: Mapping[str, Any], prefix: str, initial: Mapping[str, Any]) -> None:
    """The correction box: the answer as plain text (tool-call arguments as JSON beside it), starting
    from the stored correction of an edit. Arguments that are not JSON are shown as an error; the boxes
    keep the text."""
    _, base = _correction_base(item, initial)
    try:
        shown = editable(base)
    except RecursionError:
        st.caption("This answer nests too deep to correct here: describe the fix in the comment.")
        return
    what = "as JSON" if shown.shape == "json" else "plain text"
    st.text_area(f"Correction: the answer as it should be ({what}), saved as the reference", value=shown.text,
                 key=f"{prefix}-correction")  # fmt: skip
    if shown.tool_args is not None:
        names = escape(", ".join(shown.tool_names))
        st.text_area(f"Tool call arguments (JSON, one entry per call: {names})", value=shown.tool_args,
                     key=f"{prefix}-correction-args")  # fmt: skip
    if problem := _corrected(item, prefix, initial)[1]:
        st.error(escape(problem))


def _flag_was(initial: Mapping[str, Any]) -> str:
    return ((initial.get("flags") or [{}])[0]).get("reason", "")


def extras(item: Mapping[str, Any], prefix: str, initial: Mapping[str, Any] | None = None) -> dict:
    """Comment, correction (of a single run's answer, in the run's output shape, kept only if changed) and
    flag: drawn, then read as `given_extras` reads them."""
    initial = initial or {}
    st.text_area("Comment", value=initial.get("comment") or "", key=f"{prefix}-comment")
    if item["kind"] == "single":
        _correction(item, prefix, initial)
    was = _flag_was(initial)
    options = FLAGS if was in FLAGS else [*FLAGS, was]  # keep a reason given outside this form
    st.selectbox("Flag", options, index=options.index(was), format_func=lambda f: f or "no flag",
                 key=f"{prefix}-flag", help=FLAG_HELP)  # fmt: skip
    return given_extras(item, prefix, initial)


def given_extras(item: Mapping[str, Any], prefix: str, initial: Mapping[str, Any] | None = None) -> dict:
    """Comment, correction and flag as the form's widgets hold them, read without drawing them; a correction
    that cannot be stored is remembered for `refusal`."""
    initial, s = initial or {}, st.session_state
    out = {"comment": _blank_none(s.get(f"{prefix}-comment", initial.get("comment"))), "correction": None}
    if item["kind"] == "single":
        out["correction"], problem = _corrected(item, prefix, initial)
        if problem:
            s[_problem_key(prefix)] = problem
        else:
            s.pop(_problem_key(prefix), None)
    reason = s.get(f"{prefix}-flag", _flag_was(initial))
    out["flags"] = [{"reason": reason}] if reason else []
    return out


def refusal(criteria: list[Mapping[str, Any]], answers: Mapping[str, Any], fields: Mapping[str, Any], prefix: str,
            flag_instead: bool) -> str | None:  # fmt: skip
    """Why the form cannot be sent yet, as the screen says it (escaped); None when it can. A flag with
    every answer left empty is enough where the queue allows flagging instead of rating (`flag_instead`)."""
    if problem := st.session_state.get(_problem_key(prefix)):
        return escape(problem)
    flags = fields.get("flags", ())
    if lacking := missing_answers([c for c in criteria if "step" not in c], answers, flags, flag_instead):
        return f"Answer the required criteria first: {escape(', '.join(lacking))}."
    return None if flag_instead and flag_only(answers, flags) else step_questions.unanswered_steps(criteria, answers)
