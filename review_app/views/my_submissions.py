"""My submissions: look back at what I sent and edit it; an edit is stored as a new revision."""

from __future__ import annotations

import streamlit as st

from review_app import render, rubric_form
from review_app.render import escape
from review_app.session import require_role, store
from reviewdesk.errors import ReviewdeskError, StoreFault
from reviewdesk.review.access import allowed_queues
from reviewdesk.review.drafts import Draft, allows_flag_only
from reviewdesk.review.submissions import my_submissions, revise

user = require_role()
st.title("My submissions")
queues = {q["name"]: q for q in allowed_queues(store(), user["name"])}
names = list(queues)
if not names:
    st.info("No queue is assigned to you yet. Ask a lead to add you to a queue's assignees.")
    st.stop()
queue = st.selectbox("Queue", names, key="history_queue")
done = my_submissions(store(), user["name"], queue)
if notice := st.session_state.pop("history_notice", None):
    st.success(notice)
if not done:
    st.info("You have not submitted anything in this queue yet.")
    st.stop()


def _label(s: dict) -> str:
    return f"Item {s['position']} · {s['submitted_at']:%Y-%m-%d %H:%M} UTC · revision {s['revision']}"


chosen = st.selectbox(f"Your last {len(done)} items, newest first", done, format_func=_label)
rubric = store().rubric(queue, chosen["rubric_version"])
render.item(chosen)
st.divider()
criteria = rubric_form.questions(chosen, rubric)
prefix = f"edit-{chosen['submission_id']}"  # a new revision starts a fresh form from its own values
answers = rubric_form.form(criteria, prefix, initial=rubric_form.shown(chosen, chosen["answers"]))
extras = rubric_form.extras(chosen, prefix, initial=chosen)
if st.button("Save as a new revision", type="primary", shortcut="ctrl+enter"):
    if why := rubric_form.refusal(criteria, answers, extras, prefix, allows_flag_only(queues[queue])):
        st.error(why)
        st.stop()
    try:
        result = revise(store(), chosen["item_id"], user["name"], Draft(rubric_form.stored(chosen, answers), **extras))
    except StoreFault:
        raise  # not a refusal: app.py shows a plain notice
    except ReviewdeskError as e:
        st.error(escape(e))
        st.stop()
    if result.duplicate:
        st.info("Nothing changed: the stored answer is the same.")
    else:
        st.session_state["history_notice"] = f"Saved as revision {result.revision}; earlier revisions are kept."
        st.rerun()
