"""Adjudication, for leads: items whose reviewers disagree, every answer side by side, a final decision.

Answers are shown as reviewers saw them: a pairwise preference as A better / B better / Tie, never a
run id; a per-step criterion's answers one column per step, named as the review form names the step.
A trace or a session is drawn as the review screen draws it, read-only, open down to the steps in
dispute. A per-step criterion's case lists its steps in dispute, each with what every reviewer said of
it, its input and output, and a widget of its own; the decision is stored as {step run id: value}
(`reviewdesk.labels.adjudication.decide_item`, which refuses a step missing and then stores nothing).
A decision is final and needs a reason; routing it to product owners is an explicit checkbox.
After a decision the page stays on the queue and opens its next case. The next resolve run
(`reviewdesk consensus`, or the collect flow) takes the decision as the item's consensus.
"""

from collections import Counter
from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from review_app import render, rubric_form, step_questions, unit_view
from review_app.render import escape
from review_app.session import require_role, store
from reviewdesk.errors import ReviewdeskError, StoreFault
from reviewdesk.labels.adjudication import backlog, case, decide_item, disputed_steps
from reviewdesk.review.corrections import editable
from reviewdesk.review.units import Step
from schemas.rubric import PREFERENCE

QUEUE = "adjudication_queue"  # the chosen queue, kept across decisions


def split(values: list[Any]) -> str:
    """The reviewers' answers counted, most given first: "incorrect (2), correct (1)"."""
    said = Counter("no answer" if v is None else v for v in values)
    return ", ".join(f"{v} ({n})" for v, n in said.most_common()) or "no reviews"


def step_choice(question: Mapping[str, Any], step: Step, submissions: list[dict], prefix: str, raw: bool) -> Any:
    """One step in dispute: what each reviewer said of it, its input and output (drawn while open), and
    the lead's widget for it; returns the widget's value."""
    with st.container(border=True):
        said = [(s["reviewer"], step_questions.initial_value(question, s["answers"])) for s in submissions]
        who = ", ".join(f"{r} {'no answer' if v is None else v}" for r, v in said)
        st.caption(escape(f"{question['label']}: {split([v for _, v in said])} · {who}"))
        box = st.expander("Input and output of this step", key=f"{prefix}-{question['slot']}-content",
                          on_change="rerun")  # fmt: skip
        with box:
            if box.open:
                unit_view.content(step, raw)
        return rubric_form.widget(question, prefix)


lead = require_role("lead", "admin")
st.title("Adjudication")
if notice := st.session_state.pop("adjudication_notice", None):
    st.success(escape(notice))
open_cases = backlog(store())
if not open_cases:
    st.success("Nothing to adjudicate: no open disagreements.")
    st.stop()
per_queue: dict[str, int] = {}
for c in open_cases:
    per_queue[c["queue"]] = per_queue.get(c["queue"], 0) + 1
names = sorted(per_queue)
if st.session_state.get(QUEUE) not in names:  # first visit, or that queue has no case left
    st.session_state[QUEUE] = names[0]
# Options as plain names: a count in them would change them after each decision, and a select box whose
# options change is reset by the browser to its first one.
queue = st.selectbox("Queue", names, key=QUEUE)
st.caption(" · ".join(f"{q}: {per_queue[q]} open" for q in names))
waiting: dict[str, list[dict]] = {}
for c in open_cases:
    if c["queue"] == queue:
        waiting.setdefault(c["item_id"], []).append(c)
item_id = st.selectbox(f"Items waiting ({len(waiting)}), oldest first; a decision opens the next", list(waiting),
                       format_func=lambda i: f"{i}: {', '.join(c['criterion'] for c in waiting[i])}")  # fmt: skip
seen = case(store(), item_id, lead["name"])
item = seen["item"]
rubric = store().rubric(queue, item["rubric_version"])
criteria = {c["key"]: c for c in rubric_form.criteria(item, rubric)}
disputed = {c["criterion"]: disputed_steps(c, criteria[c["criterion"]], item["payload"]) for c in waiting[item_id]}
render.item(item, asked={s.run_id for steps in disputed.values() for s in steps})

st.subheader("What the reviewers said")
questions = rubric_form.questions(item, rubric)  # a per-step criterion once per step: one column each
rows = [
    {"reviewer": s["reviewer"], **step_questions.columns(questions, rubric_form.shown(item, s["answers"])),
     "comment": s["comment"] or "", "flags": "; ".join(f.get("reason", "") for f in s["flags"]),
     "revision": s["revision"]}
    for s in seen["submissions"]
]  # fmt: skip
st.dataframe(pd.DataFrame(rows), hide_index=True)
for s in seen["submissions"]:
    if s["correction"] is not None:  # in the run's output shape: shown as the reviewer edited it
        fix = editable(s["correction"])
        with st.expander(f"Correction by {escape(s['reviewer'])}"):
            st.code(fix.text, language=None, wrap_lines=True)
            if fix.tool_args is not None:
                st.code(fix.tool_args, language="json", wrap_lines=True)

st.subheader("Decision")
prefix = f"adjudicate-{item_id}"
raw = st.session_state.get(f"content-{item_id}-raw", False)  # as the item's "Raw text" toggle is set
asked: list[Mapping[str, Any]] = []  # the decision's questions: a per-step criterion once per step in dispute
values = []
for c in waiting[item_id]:
    key, steps = c["criterion"], disputed[c["criterion"]]
    name = step_questions.criterion_name(criteria[key])
    if steps:
        st.markdown(f"**{escape(name)}** · {len(steps)} step{'s' if len(steps) > 1 else ''} in dispute")
        found = step_questions.expand([criteria[key]], steps, step_questions.is_session(item))
        asked += found
        values += [step_choice(q, step, seen["submissions"], prefix, raw) for q, step in zip(found, steps, strict=True)]
        continue
    said = [rubric_form.shown(item, {key: s["answers"].get(key)})[key] for s in seen["submissions"]]
    why = "" if key == PREFERENCE else f" · {c['why']}"  # a preference's `why` names run ids: the split says it
    st.caption(escape(f"{criteria[key].get('label') or key}: {split(said)}{why}"))
    asked.append(criteria[key])
    values.append(rubric_form.widget(criteria[key], prefix))
answers = step_questions.fold(asked, values)
reason = st.text_area("Reason (kept with the decision and in the dataset lineage)", key=f"{prefix}-reason")
routed = st.checkbox("Route to product owners (adds the decision to the queue's product-issues report)",
                     key=f"{prefix}-product")  # fmt: skip
if st.button("Record decision", type="primary"):
    problems = []
    if any(answers[q["key"]] is None for q in asked if "step" not in q) or not reason.strip():
        problems.append("Choose a final answer for every criterion and give a reason.")
    if lacking := step_questions.unanswered_steps(asked, answers, "Choose a final answer for every step in dispute"):
        problems.append(lacking)  # escaped
    for problem in problems:
        st.error(problem)
    if problems:
        st.stop()
    try:  # every case of the item in one transaction: a refusal stores none of them
        decide_item(store(), item_id, rubric_form.stored(item, answers), reason, lead["name"], product_issue=routed)
    except StoreFault:
        raise  # not a refusal: app.py shows a plain notice
    except ReviewdeskError as e:
        st.error(escape(e))
        st.stop()
    st.session_state["adjudication_notice"] = f"Decided {', '.join(answers)} of {item_id}."
    st.rerun()
