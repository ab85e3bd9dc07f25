"""Flagged items, for leads: reviews whose reviewer raised a flag (PII, broken run, ...), to follow up.

Reasons and comments are reviewer text: the table shows them as plain text, never as HTML.
"""

import pandas as pd
import streamlit as st

from review_app.session import require_role, store
from reviewdesk.review.oversight import flagged_items

COLUMNS = {
    "submitted_at": st.column_config.DatetimeColumn("Submitted (UTC)", format="YYYY-MM-DD HH:mm"),
    "queue": st.column_config.TextColumn("Queue"),
    "item_id": st.column_config.TextColumn("Item"),
    "reviewer": st.column_config.TextColumn("Reviewer"),
    "reasons": st.column_config.TextColumn("Reasons"),
    "comment": st.column_config.TextColumn("Comment", width="large"),
    "run_ids": st.column_config.TextColumn("Runs"),
}

require_role("lead", "admin")
st.title("Flagged items")
queue = st.selectbox("Queue", [None, *store().published_counts()], format_func=lambda q: q or "All queues")
found = flagged_items(store(), queue)
if not found:
    st.success("No flagged reviews here.")
    st.stop()
st.caption(f"Flagged reviews: {len(found):,}. Newest first; each is a reviewer's latest revision of the item.")
rows = [
    {**f.as_dict(), "reasons": "; ".join(f.reasons), "comment": f.comment or "", "run_ids": ", ".join(f.run_ids)}
    for f in found
]
st.dataframe(pd.DataFrame(rows, columns=list(COLUMNS)), hide_index=True, column_config=COLUMNS)
