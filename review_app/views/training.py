"""Training on the Review page: a training item, the right answer and the gold explanation after each
answer, and what a reviewer who is held or paused does next. Drawn by views/review.py (not a page).

The store decides (`reviewdesk.review.training`): `next_item` hands a reviewer not yet qualified a
training item (`training: True`), whose answer goes to `answer_training`, never to the submissions;
a reviewer held after failing, or paused by a lead, gets `NotQualified`, which says what to do next.
Everything shown that comes from the queue, the run or the gold answer is escaped.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from review_app import render, rubric_form
from review_app.render import escape
from review_app.session import STORE_NOTICE, store
from reviewdesk.errors import ReviewdeskError, StoreFault
from reviewdesk.review.qualification import NotQualified
from reviewdesk.review.training import answer_training

FEEDBACK = "training_feedback"  # the feedback on the last training answer, until the reviewer presses Next
REFUSED = "training_refused"  # why the last Submit could not be sent (a required criterion left blank)
PANE = 640
RIGHT, WRONG = ":green[:material/check_circle:] **Right** · ", ":red[:material/cancel:] **Wrong** · "


def _prefix(item: dict) -> str:
    """Widget keys of this attempt's item: a retry starts from an empty form."""
    return f"training-{item['attempt']}-{item['item_id']}"


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC" if at else "later"


def _send(item: dict, criteria: list, reviewer: str) -> None:
    """Submit pressed: grade the answer in the store and keep its feedback for the next run to show."""
    prefix = _prefix(item)
    answers = rubric_form.given(criteria, prefix)
    if why := rubric_form.refusal(criteria, answers, {}, prefix, False):
        st.session_state[REFUSED] = why
        return
    try:
        fb = answer_training(store(), item["item_id"], reviewer, rubric_form.stored(item, answers))
    except StoreFault:
        st.session_state["notice"] = STORE_NOTICE  # the store's address stays out of the page
        return
    except ReviewdeskError as e:
        st.session_state["notice"] = str(e)
        st.session_state["item"] = None
        return
    shown = rubric_form.shown(item, {k: answers.get(k) for k in fb.marks})
    helped = {c["key"]: c for c in criteria}  # the rubric's help on each right answer comes with the feedback
    st.session_state[FEEDBACK] = {"queue": item["queue"], "answers": shown, "criteria": helped, **fb.as_dict()}
    st.session_state["item"] = None


def training_item(item: dict, queue: dict, reviewer: str) -> None:
    """A training item: its place in the attempt, the run, the rubric and Submit."""
    rubric = store().rubric(queue["name"], item["rubric_version"])
    criteria = rubric_form.questions(item, rubric)
    prefix = _prefix(item)
    attempt = f" (attempt {item['attempt']})" if item["attempt"] > 1 else ""
    st.info(f"**Training item {item['training_position']} of {item['training_items']}**{attempt}: answer as you "
            "would a live item. It is graded against a known answer and never counts as a review.",
            icon=":material/school:")  # fmt: skip
    if item["state"] == "retraining" and item["training_position"] == 1:
        st.warning(escape(f"Back in training: {item['state_reason']}"))
    content, right = st.columns([3, 2])
    with right:
        with st.container(height=PANE, key="form_pane", border=False):
            rubric_form.form(criteria, prefix)
            with st.expander("Instructions"):
                st.markdown(escape(rubric["instructions"]))
        st.button("Submit training answer", type="primary", shortcut="ctrl+enter", key=f"submit-{prefix}",
                  on_click=_send, args=(item, criteria, reviewer))  # fmt: skip
        if why := st.session_state.pop(REFUSED, None):
            st.error(why)
    with content, st.container(height=PANE, key="content_pane", autoscroll=False):
        render.item(item)


def _next() -> None:
    st.session_state.pop(FEEDBACK, None)


def feedback(queue: dict) -> bool:
    """After a training answer: each criterion right or wrong, the right answer, the gold explanation, and Next;
    at the end of an attempt, whether the reviewer passed (and when training opens again if not)."""
    fb = st.session_state.get(FEEDBACK)
    if not fb or fb["queue"] != queue["name"]:
        return False
    right, graded = sum(fb["marks"].values()), len(fb["marks"])
    st.subheader(f"Training item {fb['position']} of {fb['total']}: {right} of {graded} right")
    for key, ok in fb["marks"].items():
        line = f"{key}: you answered {fb['answers'].get(key)!s}"
        if key in fb["right_answers"]:
            line += f"; the right answer is {fb['right_answers'][key]!s}"
        st.markdown((RIGHT if ok else WRONG) + escape(line))  # the marks are constants; the rest is escaped
        c = fb.get("criteria", {}).get(key)
        if c and key in fb["right_answers"] and (text := rubric_form.option_help(c, fb["right_answers"][key])):
            st.caption(text)  # the rubric's help on the right answer, escaped by option_help
    if fb["explanation"]:
        st.info(escape(f"Why: {fb['explanation']}"), icon=":material/lightbulb:")
    cfg = (queue["config"] or {}).get("training") or {}
    need = f"{cfg.get('pass_accuracy', 0):.0%} needed"
    if fb["finished"] and fb["passed"]:
        st.success(f"You passed the training: {fb['accuracy']:.0%} of your answers were right ({need}). "
                   "Live items come next.")  # fmt: skip
    elif fb["finished"] and fb["passed"] is False:
        st.error(f"You did not pass the training this time: {fb['accuracy']:.0%} of your answers were right ({need}). "
                 f"You can train again from {_when(fb['retry_at'])}.")  # fmt: skip
    st.button("Next", type="primary", shortcut="N", key=f"training-next-{fb['item_id']}", on_click=_next)
    return True


def refused(e: NotQualified) -> None:
    """No item for this reviewer in this queue: held after failing (until when), paused by a lead, or no gold items."""
    if e.state == "held":
        st.warning(escape(f"You are held from this queue until {_when(e.retry_at)}: training opens again then."))
    elif e.state == "paused":
        st.warning("A lead paused your reviewing in this queue.")
    st.info(escape(str(e)))


__all__ = ["feedback", "refused", "training_item"]
