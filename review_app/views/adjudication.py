"""Adjudication, for leads: items whose reviewers disagree, every answer side by side, a final decision.

A decision is final and needs a reason; the next resolve run (`reviewdesk consensus`, or the
collect flow) takes it as the item's consensus.
"""

import pandas as pd
import streamlit as st

from review_app import render, rubric_form
from review_app.render import escape
from review_app.session import require_role, store
from reviewdesk.errors import ReviewdeskError, StoreFault
from reviewdesk.labels.adjudication import backlog, case, decide
from reviewdesk.review.corrections import editable

lead = require_role("lead", "admin")
st.title("Adjudication")
if notice := st.session_state.pop("adjudication_notice", None):
    st.success(escape(notice))
open_cases = backlog(store())
if not open_cases:
    st.success("Nothing to adjudicate: no open disagreements.")
    st.stop()
per_queue = pd.Series([c["queue"] for c in open_cases]).value_counts()
queue = st.selectbox("Queue", list(per_queue.index), format_func=lambda q: f"{q} ({per_queue[q]} open)")
waiting: dict[str, list[dict]] = {}
for c in open_cases:
    if c["queue"] == queue:
        waiting.setdefault(c["item_id"], []).append(c)
item_id = st.selectbox(f"Items waiting ({len(waiting)}), oldest first", list(waiting),
                       format_func=lambda i: f"{i}: {', '.join(c['criterion'] for c in waiting[i])}")  # fmt: skip
seen = case(store(), item_id, lead["name"])
item = seen["item"]
render.item(item)

st.subheader("What the reviewers said")
rows = [
    {"reviewer": s["reviewer"], **rubric_form.shown(item, s["answers"]), "comment": s["comment"] or "",
     "flags": "; ".join(f.get("reason", "") for f in s["flags"]), "revision": s["revision"]}
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
rubric = store().rubric(queue, item["rubric_version"])
criteria = {c["key"]: c for c in rubric_form.criteria(item, rubric)}
prefix = f"adjudicate-{item_id}"
choices = {}
for c in waiting[item_id]:
    st.caption(escape(f"{c['criterion']}: {c['why']}"))
    choices[c["criterion"]] = rubric_form.widget(criteria[c["criterion"]], prefix)
reason = st.text_area("Reason (kept with the decision and in the dataset lineage)", key=f"{prefix}-reason")
if st.button("Record decision", type="primary"):
    if any(v is None for v in choices.values()) or not reason.strip():
        st.error("Choose a final answer for every criterion and give a reason.")
        st.stop()
    try:
        for key, value in rubric_form.stored(item, choices).items():
            decide(store(), item_id, key, value, reason, lead["name"])
    except StoreFault:
        raise  # not a refusal: app.py shows a plain notice
    except ReviewdeskError as e:
        st.error(escape(e))
        st.stop()
    st.session_state["adjudication_notice"] = f"Decided {', '.join(choices)} of {item_id}."
    st.rerun()
