"""Review: one reserved item at a time, with the rubric; Submit saves and moves on, Skip releases."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import streamlit as st

from review_app import render
from review_app.rubric_form import criterion
from review_app.session import require_role, store
from reviewdesk.reviews import missing_answers, my_queues, next_item, release, submit, suggestion_shown

FLAGS = ["", "contains personal data (PII)", "broken run", "harmful content", "other"]
SHORTCUTS = "**Ctrl+Enter** submit · **Ctrl+K** skip · **Tab** moves between criteria"

user = require_role()
queues = {q["name"]: q for q in my_queues(store(), user["name"])}
st.title("Review")
if not queues:
    st.info("No queue is assigned to you yet. Ask a lead to add you to a queue's assignees.")
    st.stop()
name = st.selectbox("Queue", list(queues), key="review_queue")
config = store().queue(name)

skipped = st.session_state.setdefault("skipped", set())
item = st.session_state.get("item")
if item is None or item["queue"] != name:
    item = next_item(store(), name, user["name"], exclude=skipped)
    st.session_state["item"] = item
    st.session_state["shown_at"] = datetime.now(UTC)
if item is None:
    st.success("Nothing left for you in this queue. Thank you!")
    if skipped and st.button("Show the items I skipped again"):
        skipped.clear()
        st.rerun()
    st.stop()

left = max(0, int((item["reserved_until"] - datetime.now(UTC)).total_seconds() // 60))
st.caption(f"Item {item['position']} · reserved for you for {left} more minutes · {SHORTCUTS}")
rubric = store().rubric(name, item["rubric_version"])
with st.expander("Instructions"):
    st.markdown(rubric["instructions"])

runs = item["payload"]["runs"]
if item["kind"] == "pairwise":
    shown = [item["left_run_id"], item["run_b"] if item["left_run_id"] == item["run_a"] else item["run_a"]]
    render.side(runs[shown[0]].get("inputs"), "Conversation")
    for column, (label, run_id) in zip(st.columns(2), zip("AB", shown, strict=True), strict=True):
        with column:
            st.subheader(f"Answer {label}")
            render.run(runs[run_id], show_inputs=False)
else:
    render.run(runs[item["run_id"]])

show_suggestions = suggestion_shown(config["config"], item["item_id"], user["name"])
with st.form(f"review-{item['item_id']}"):
    answers = {}
    if item["kind"] == "pairwise":
        choice = st.radio("Which answer is better? *", ["A better", "B better", "Tie"], index=None, horizontal=True)
        answers["preference"] = {"A better": shown[0], "B better": shown[1], "Tie": "tie"}.get(choice)
    for c in rubric["criteria"]:
        answers[c["key"]] = criterion(c, f"{item['item_id']}-{c['key']}")
    comment = st.text_area("Comment")
    correction = None
    if item["kind"] == "single":
        output = runs[item["run_id"]].get("outputs")
        original = json.dumps(output, indent=2, ensure_ascii=False) if output is not None else ""
        correction = st.text_area("Correction (an edited answer, saved as the reference)", value=original)
        correction = None if correction == original else correction
    flag = st.selectbox("Flag", FLAGS, format_func=lambda f: f or "no flag")
    submitted = st.form_submit_button("Submit", type="primary", shortcut="ctrl+enter")
skip = st.button("Skip", shortcut="ctrl+k")

if submitted:
    preference = [{"key": "preference", "required": True}] if item["kind"] == "pairwise" else []
    if lacking := missing_answers(preference + rubric["criteria"], answers):
        st.error(f"Answer the required criteria first: {', '.join(lacking)}.")
    else:
        result = submit(
            store(), item["item_id"], user["name"], answers, comment=comment or None, correction=correction,
            flags=[{"reason": flag}] if flag else [], suggestion_shown=show_suggestions,
            shown_at=st.session_state.get("shown_at"),
        )  # fmt: skip
        if result.duplicate:
            st.toast("This item was already submitted (another tab?); your first answer is kept.")
        st.session_state["item"] = None
        st.rerun()
if skip:
    release(store(), item["item_id"], user["name"])
    skipped.add(item["item_id"])
    st.session_state["item"] = None
    st.rerun()
