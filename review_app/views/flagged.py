"""Flagged items, for leads: reviews whose reviewer raised a flag (PII, broken run, ...), opened read-only and
resolved with a category and a note; resolved flags go to the queue's product-issues report with them.

Reasons, comments and notes are reviewer or lead text: tables show them as plain text, widgets escape them.
"""

import pandas as pd
import streamlit as st

from review_app import item_view, rubric_form
from review_app.render import escape
from review_app.session import require_role, store
from reviewdesk.errors import ReviewdeskError, StoreFault
from reviewdesk.review.oversight import flagged_items
from reviewdesk.review.submissions import item_submissions
from reviewdesk.review.triage import CATEGORIES, describe, resolve_flag

NOTICE = "flagged_notice"
STATES = {"open": "Open", "resolved": "Resolved", "all": "All"}
COLUMNS = {
    "submitted_at": st.column_config.DatetimeColumn("Submitted (UTC)", format="YYYY-MM-DD HH:mm"),
    "queue": st.column_config.TextColumn("Queue"),
    "item_id": st.column_config.TextColumn("Item"),
    "reviewer": st.column_config.TextColumn("Reviewer"),
    "reasons": st.column_config.TextColumn("Reasons"),
    "comment": st.column_config.TextColumn("Comment", width="large"),
    "resolution": st.column_config.TextColumn("Resolution", width="large"),
    "run_ids": st.column_config.TextColumn("Runs"),
}


def _resolve(item_id: str, reviewer: str, lead: str) -> None:
    s = st.session_state
    try:
        resolve_flag(store(), item_id, reviewer, s["flag_category"], s["flag_note"], lead)
    except StoreFault:
        raise  # not a refusal: app.py shows a plain notice
    except ReviewdeskError as e:
        s[NOTICE] = ("error", str(e))
        return
    s[NOTICE] = ("success", f"Resolved {reviewer}'s flag on {item_id} as {s['flag_category']}.")
    s["flag_note"] = ""


lead = require_role("lead", "admin")
st.title("Flagged items")
if notice := st.session_state.pop(NOTICE, None):
    kind, message = notice
    (st.error if kind == "error" else st.success)(escape(message))
queue = st.selectbox("Queue", [None, *store().published_counts()], format_func=lambda q: q or "All queues")
state = st.radio("Show", list(STATES), format_func=STATES.get, key="flag_state", horizontal=True)
found = flagged_items(store(), queue, state)
if not found:
    st.success("No open flags here." if state == "open" else "No flagged reviews here.")
    st.stop()
st.caption(f"Flagged reviews: {len(found):,}. Newest first; each is a reviewer's latest revision of the item.")
rows = [
    {**f.as_dict(), "reasons": "; ".join(f.reasons), "comment": f.comment or "", "run_ids": ", ".join(f.run_ids),
     "resolution": describe(f.resolution)}
    for f in found
]  # fmt: skip
st.dataframe(pd.DataFrame(rows, columns=list(COLUMNS)), hide_index=True, column_config=COLUMNS)

st.subheader("Open a flag")
picked = st.selectbox(
    "Flag", range(len(found)), key=f"flag_pick-{queue}-{state}",
    format_func=lambda i: f"{found[i].item_id} · {found[i].reviewer} · {'; '.join(found[i].reasons)}",
)  # fmt: skip
flag = found[picked]
item = item_view.show(flag.item_id, lead["name"])
if item is None:
    st.stop()
answer = item_submissions(store(), flag.item_id, flag.reviewer)[-1]  # their latest revision carries the flag
st.markdown(f"**{escape(flag.reviewer)}'s answer**")
st.json(rubric_form.shown(item, answer["answers"]), expanded=True)
if flag.comment:
    st.text(f"Comment: {flag.comment}")
if flag.resolution is not None:
    st.info(escape(f"Resolved: {describe(flag.resolution)}"))
with st.form("resolve_flag"):
    st.selectbox("Category", CATEGORIES, key="flag_category",
                 help="Every category but 'not an issue' keeps the flag in the product-issues report.")  # fmt: skip
    st.text_area("Note (what it was, what was done; product owners read it)", key="flag_note")
    label = "Change the resolution" if flag.resolution else "Resolve flag"
    st.form_submit_button(label, type="primary", on_click=_resolve, args=(flag.item_id, flag.reviewer, lead["name"]))
