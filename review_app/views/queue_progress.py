"""Queue progress, for leads: how far each published queue is, its backlog, who may review it and how each
reviewer is doing in it; a lead pauses a queue here (it then publishes nothing and hands out no items)."""

import altair as alt
import pandas as pd
import streamlit as st

from review_app.notices import reviewer_notices
from review_app.render import escape
from review_app.session import require_role, store
from reviewdesk.review.access import set_paused
from reviewdesk.review.oversight import open_work, progress, reviewer_progress, set_aside_items

COLUMNS = {
    "reviewer": st.column_config.TextColumn("Reviewer"),
    "granted": st.column_config.CheckboxColumn("Granted"),
    "items_done": st.column_config.NumberColumn("Items done"),
    "backlog": st.column_config.NumberColumn("Left for them", help="Open items they have not reviewed"),
    "revisions": st.column_config.NumberColumn("Revisions"),
    "median_seconds": st.column_config.NumberColumn("Median seconds per item", format="%.0f"),
    "last_submitted_at": st.column_config.DatetimeColumn("Last submitted (UTC)", format="YYYY-MM-DD HH:mm"),
    "reserved": st.column_config.NumberColumn("Holding now"),
}


def _pause(queue: str, paused: bool, lead: str) -> None:
    set_paused(store(), queue, paused, lead)


def _backlog(name: str, lead: str) -> None:
    """The queue's open work, its review rate, and the pause switch."""
    work = open_work(store(), name)
    rate = "no reviews in the last week"
    if work.reviews_per_hour:
        rate = f"{work.reviews_per_hour:.1f} reviews an hour over the last week"
    hours = f", about {work.hours:.1f} hours of work" if work.hours is not None else ""
    st.text(f"Backlog: {work.open_items:,} open items, {work.open_reviews:,} reviews to do{hours}; {rate}.")
    if work.paused_at is not None:
        st.warning(escape(f"Paused by {work.paused_by} at {work.paused_at:%Y-%m-%d %H:%M} UTC: no new batches, "
                          "and reviewers are given no items."))  # fmt: skip
        st.button("Resume", key=f"resume-{name}", on_click=_pause, args=(name, False, lead))
    else:
        st.button("Pause", key=f"pause-{name}", on_click=_pause, args=(name, True, lead),
                  help="Publish nothing and hand out no items until resumed; held items can still be answered.")


lead = require_role("lead", "admin")
st.title("Queue progress")
reviewer_notices(lead["name"])  # reviewers paused by monitoring, until a lead marks them seen
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
        _backlog(name, lead["name"])
        if aside := [a.as_dict() for a in set_aside_items(store(), name)]:  # text widgets only, never markdown
            st.text(f"Set aside, so nobody is given them (their payload cannot be read): {len(aside)} items")
            st.dataframe(aside, hide_index=True, key=f"set-aside-{name}")
        if not reviewers["granted"].astype(bool).any():
            st.caption("Granted to no reviewer yet: grant it on the Users page.")
        if reviewers.empty:
            continue
        st.dataframe(reviewers, hide_index=True, column_config=COLUMNS, key=f"reviewers-{name}")
        chart = (
            alt.Chart(reviewers[["reviewer", "items_done", "backlog"]])
            .transform_fold(["items_done", "backlog"], as_=["work", "items"])
            .mark_bar()
            .encode(
                x=alt.X("items:Q", title="Items", stack=True),
                y=alt.Y("reviewer:N", title=None),
                color=alt.Color("work:N", title=None, scale=alt.Scale(domain=["items_done", "backlog"],
                                                                      range=["#4c78a8", "#d3d3d3"])),
                tooltip=["reviewer", "items_done", "backlog"],
            )
        )  # fmt: skip
        st.altair_chart(chart, width="stretch")
