"""Queue progress, for leads: how far each published queue is, and how each reviewer is doing in it."""

import altair as alt
import pandas as pd
import streamlit as st

from review_app.render import escape
from review_app.session import require_role, store
from reviewdesk.review.oversight import progress, reviewer_progress, set_aside_items

COLUMNS = {
    "reviewer": st.column_config.TextColumn("Reviewer"),
    "items_done": st.column_config.NumberColumn("Items done"),
    "revisions": st.column_config.NumberColumn("Revisions"),
    "median_seconds": st.column_config.NumberColumn("Median seconds per item", format="%.0f"),
    "last_submitted_at": st.column_config.DatetimeColumn("Last submitted (UTC)", format="YYYY-MM-DD HH:mm"),
    "reserved": st.column_config.NumberColumn("Holding now"),
}

require_role("lead", "admin")
st.title("Queue progress")
names = list(store().published_counts())
if not names:
    st.info("No queue is published yet: publish a batch first (`reviewdesk publish`).")
for name in names:
    p = progress(store(), name)
    reviewers = pd.DataFrame([r.as_dict() for r in reviewer_progress(store(), name)], columns=list(COLUMNS))
    with st.container(border=True):
        st.subheader(escape(name))
        share = p.done / p.needed if p.needed else 1.0
        done = f"{p.done:,} of {p.needed:,} reviews done · {p.complete:,} of {p.items:,} items complete"
        st.progress(share, text=done)
        if aside := [a.as_dict() for a in set_aside_items(store(), name)]:  # text widgets only, never markdown
            st.text(f"Set aside, so nobody is given them (their payload cannot be read): {len(aside)} items")
            st.dataframe(aside, hide_index=True, key=f"set-aside-{name}")
        if reviewers.empty:
            st.caption("Nobody has reviewed here or holds an item, and the queue names no assignees.")
            continue
        st.dataframe(reviewers, hide_index=True, column_config=COLUMNS, key=f"reviewers-{name}")
        chart = (
            alt.Chart(reviewers[["reviewer", "items_done", "revisions"]])
            .mark_bar()
            .encode(
                x=alt.X("items_done:Q", title="Items done"),
                y=alt.Y("reviewer:N", sort="-x", title=None),
                tooltip=["reviewer", "items_done", "revisions"],
            )
        )
        st.altair_chart(chart, width="stretch")
