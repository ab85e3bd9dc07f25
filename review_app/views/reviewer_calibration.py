"""One reviewer's calibration evidence, for leads: the items where another reviewer answered otherwise,
and the gold items they missed, each with every answer given. Opened from the Agreement page's
"To calibrate" links (queue, reviewer and criterion in the address); read from the review store."""

import pandas as pd
import streamlit as st

from review_app.render import escape
from review_app.session import require_role, store
from reviewdesk.quality.calibration import evidence_counts, reviewer_evidence
from reviewdesk.review.oversight import reviewer_progress

require_role("lead", "admin")
st.title("Reviewer calibration")
params = st.query_params
queues = sorted(store().published_counts())
if not queues:
    st.info("No queue is published yet.")
    st.stop()
wanted = params.get("queue")
queue = st.selectbox("Queue", queues, index=queues.index(wanted) if wanted in queues else 0)
reviewers = [r.reviewer for r in reviewer_progress(store(), queue) if r.items_done]
if not reviewers:
    st.info("Nobody has reviewed an item of this queue yet.")
    st.stop()
wanted = params.get("reviewer")
reviewer = st.selectbox("Reviewer", reviewers, index=reviewers.index(wanted) if wanted in reviewers else 0)
criterion = params.get("criterion") if params.get("queue") == queue else None
evidence = reviewer_evidence(store(), queue, reviewer, criterion)
st.caption(escape(f"{reviewer} in {queue}" + (f", on {criterion}" if criterion else ", every criterion") + ": "
                  f"{evidence_counts(evidence)}. Go through them together: what did the rubric ask, what did "
                  "they read differently? Newest first."))  # fmt: skip


def others(answers: dict) -> str:
    return "; ".join(f"{name}: {value}" for name, value in answers.items())


st.subheader(f"Disagreements ({len(evidence['disagreements']):,})")
if evidence["disagreements"]:
    st.dataframe(pd.DataFrame([
        {"item": d["item_id"], "criterion": d["criterion"], "their answer": d["answer"],
         "other reviewers": others(d["others"]), "submitted at (UTC)": d["at"][:16].replace("T", " ")}
        for d in evidence["disagreements"]
    ]), hide_index=True)  # fmt: skip
else:
    st.success("No disagreement with another reviewer.")
st.subheader(f"Gold misses ({len(evidence['gold_misses']):,})")
if evidence["gold_misses"]:
    st.dataframe(pd.DataFrame([
        {"item": g["item_id"], "criterion": g["criterion"], "their answer": g["answer"], "known answer": g["gold"],
         "other reviewers": others(g["others"]), "submitted at (UTC)": g["at"][:16].replace("T", " ")}
        for g in evidence["gold_misses"]
    ]), hide_index=True)  # fmt: skip
else:
    st.success("No gold item missed.")
