"""Reviewers, for leads: per queue, where each reviewer stands (training, qualified, held, paused), their
live gold accuracy against the monitoring threshold, their work and speed, the biases the latest quality
report flags, and their gold accuracy per week; links to their disagreements and gold misses; and the
lead's actions on a queue with training (qualify, pause, send back to training), each with a reason,
recorded with the state changes listed below them."""

import altair as alt
import pandas as pd
import streamlit as st

from review_app.render import escape
from review_app.session import require_role, store
from reviewdesk.errors import ReviewdeskError, StoreFault
from reviewdesk.quality.reviewer_overview import reviewer_overview, weekly_gold
from reviewdesk.quality.snapshot import latest
from reviewdesk.review.qualification import lead_action, reviewer_history, training_config

CALIBRATION_PAGE = "views/reviewer_calibration.py"
ACTIONS = {"Qualify": "qualify", "Pause": "pause", "Send back to training": "send_back"}
STATE_WORDS = {"new": "not started", "training": "training", "qualified": "qualified", "held": "held after training",
               "retraining": "back in training", "paused": "paused by a lead"}  # fmt: skip
COLUMNS = {
    "reviewer": st.column_config.TextColumn("Reviewer"),
    "state": st.column_config.TextColumn("State", width="medium"),
    "since": st.column_config.DatetimeColumn("Since (UTC)", format="YYYY-MM-DD HH:mm", width="medium"),
    "gold_accuracy": st.column_config.ProgressColumn("Live gold accuracy", format="percent", min_value=0, max_value=1,
                                                     help="Over their monitoring window since they qualified"),
    "gold_answers": st.column_config.NumberColumn("Gold answers"),
    "items_done": st.column_config.NumberColumn("Items done"),
    "median_seconds": st.column_config.NumberColumn("Median seconds per item", format="%.0f"),
    "biases": st.column_config.TextColumn("Biases flagged"),
    "reason": st.column_config.TextColumn("Why (last change)", width="large"),
}  # fmt: skip


def act(queue: str, reviewer: str, action: str, reason: str, lead: str) -> None:
    """A lead's action, told on the page: done, or why not."""
    try:
        s = lead_action(store(), ACTIONS[action], queue, reviewer, lead, reason)
    except StoreFault:
        raise  # not a refusal: app.py shows a plain notice
    except ReviewdeskError as e:
        st.session_state["reviewers_notice"] = ("error", str(e))
    else:
        st.session_state["reviewers_notice"] = ("success", f"{reviewer} is now {STATE_WORDS[s.state]} in {queue}.")


def gold_chart(report: dict | None) -> None:
    """Each reviewer's gold accuracy per week, from the latest quality report."""
    weeks = pd.DataFrame(weekly_gold(report))
    if weeks.empty:
        st.caption("No gold answers per week yet: they come with the next quality report.")
        return
    st.altair_chart(
        alt.Chart(weeks).mark_line(point=True).encode(
            x=alt.X("week:O", title="Week"),
            y=alt.Y("gold_accuracy:Q", title="Gold accuracy", axis=alt.Axis(format="%")),
            color=alt.Color("reviewer:N", title="Reviewer"),
            tooltip=["reviewer", "week", alt.Tooltip("gold_accuracy:Q", format=".0%"), "gold_n"],
        ),
        width="stretch",
    )  # fmt: skip


lead = require_role("lead", "admin")
st.title("Reviewers")
queues = sorted(store().published_counts())
if not queues:
    st.info("No queue is published yet.")
    st.stop()
wanted = st.query_params.get("queue")
queue = st.selectbox("Queue", queues, index=queues.index(wanted) if wanted in queues else 0, format_func=escape)
if kind_text := st.session_state.pop("reviewers_notice", None):
    (st.error if kind_text[0] == "error" else st.success)(escape(kind_text[1]))
rows = reviewer_overview(store(), queue)
if not rows:
    st.info("Nobody is granted this queue and nobody has reviewed it yet. Grant it on the Users page.")
    st.stop()
trained = training_config(store().queue(queue)) is not None
st.caption("Reviewers qualify on the queue's gold items before they get live items, and monitoring pauses them "
            "when their gold accuracy falls." if trained else "This queue has no training: every granted reviewer "
            "gets live items. Add `training:` to its YAML to qualify them first.")  # fmt: skip
table = pd.DataFrame([{**r.as_dict(), "state": STATE_WORDS.get(r.state, r.state),
                       "biases": ", ".join(f["title"] for f in r.flags)} for r in rows])  # fmt: skip
st.dataframe(table[list(COLUMNS)], column_config=COLUMNS, hide_index=True)

for r in rows:  # what needs the lead, each with what to do
    if r.state in ("held", "paused", "retraining"):
        st.warning(escape(f"{r.reviewer}: {STATE_WORDS[r.state]}" + (f" ({r.reason})" if r.reason else "")
                          + (f"; may retry from {r.retry_at:%Y-%m-%d %H:%M} UTC" if r.retry_at else "")),
                   icon=":material/person_alert:")  # fmt: skip
    for f in r.flags:
        st.warning(escape(f"{r.reviewer}: {f['title']} {f['shown']} ({f['ci_shown']}). {f['advice']}"))

st.subheader("Gold accuracy per week")
reports = latest(store(), queue)
gold_chart(reports[0] if reports else None)

st.subheader("Disagreements and gold misses")
for r in rows:
    if r.items_done:
        st.page_link(CALIBRATION_PAGE, label=escape(f"{r.reviewer}: their disagreements and gold misses"),
                     query_params={"queue": queue, "reviewer": r.reviewer})  # fmt: skip

if trained:
    st.subheader("Act on a reviewer")
    with st.form("reviewer_action", clear_on_submit=True):
        who = st.selectbox("Reviewer", [r.reviewer for r in rows], format_func=escape)
        action = st.radio("Action", list(ACTIONS), horizontal=True)
        reason = st.text_input("Reason (recorded)", placeholder="e.g. passed a calibration session with me")
        if st.form_submit_button("Apply", type="primary"):
            act(queue, who, action, reason, lead["name"])
            st.rerun()
    with st.expander("State changes"):
        history = [e.as_dict() for e in reviewer_history(store(), queue, limit=200)]
        if history:
            st.dataframe(pd.DataFrame(history)[["at", "reviewer", "event", "state", "by", "reason"]], hide_index=True)
        else:
            st.caption("None yet.")
