"""My queues: what is left for me, what I have done, each queue's progress and its instructions."""

import streamlit as st

from review_app.render import escape
from review_app.session import require_role, store
from reviewdesk.review.access import my_queues

user = require_role()
st.title("My queues")
queues = my_queues(store(), user["name"])
if not queues:
    st.info("No queue is assigned to you yet. Ask a lead to grant you one on the Users page.")
for q in queues:
    p = q["progress"]
    with st.container(border=True):
        st.subheader(escape(f"{q['name']} ({q['kind']})"))
        if q["paused"]:
            st.warning("Paused by a lead: no items are handed out until it is resumed.")
        if q["description"]:
            st.caption(escape(q["description"]))
        share = p.done / p.needed if p.needed else 1.0
        st.progress(share, text=f"Queue: {p.done:,} of {p.needed:,} reviews done ({p.complete:,} items complete)")
        left, done = st.columns(2)
        left.metric("Left for me", f"{p.left_for_me:,}")
        done.metric("Done by me", f"{p.done_by_me:,}")
        with st.expander("Instructions"):
            st.markdown(escape(q["instructions"]))
