"""Review: one reserved item at a time, with the rubric; Submit saves and moves on, Skip releases.

Blind by construction: the page gets items through `reservations.next_item`, which never returns
gold answers or other reviewers' work, and returns suggestions only where the queue's policy shows them.
Shown suggestions pre-select their options in the form (`review_app.suggested`); the submission records
what the reviewer did with each.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from review_app import render, rubric_form, suggested
from review_app.render import escape, guarded
from review_app.session import require_role, store
from reviewdesk.errors import ReviewdeskError, StoreFault
from reviewdesk.review.access import allowed_queues
from reviewdesk.review.drafts import Draft, allows_flag_only
from reviewdesk.review.reservations import next_item, release
from reviewdesk.review.submissions import submit_and_next
from reviewdesk.review.suggestions import revealed_suggestions

SHORTCUTS = """
| Keys | Does |
|---|---|
| **1** to **9** | answer the highlighted criterion (the first one still open) |
| **Ctrl+Enter** | submit and go to the next item |
| **Ctrl+K** | skip: give the item back and go to the next one |
| **A** | accept every model suggestion still pre-selected (marked *Suggested*) |
| **N** | next item, after a submitted answer is shown with the model's suggestion |
| **Tab** / **Shift+Tab** | move between fields; arrows change a choice |
"""


def _reserve(queue: str, reviewer: str) -> dict | None:
    """Hold the next item for this reviewer and remember when it was shown."""
    item = next_item(store(), queue, reviewer, exclude=st.session_state.setdefault("skipped", set()))
    st.session_state["item"] = item
    st.session_state["shown_at"] = datetime.now(UTC)
    return item


@st.fragment(run_every=5)
def countdown(until: datetime, minutes: int) -> None:
    """Time left on the reservation, refreshed in place without rerunning the page."""
    left = (until - datetime.now(UTC)).total_seconds()
    if left <= 0:
        st.warning("Your reservation has expired: submit now if you can, or the item may go to someone else.")
        return
    m, s = divmod(int(left), 60)
    st.progress(min(1.0, left / (minutes * 60)), text=f"Reserved for you for {m}:{s:02d}")


def shown_value(key: str, value: object, shown: list[str] | None) -> object:
    """A suggested value in screen terms: a pairwise preference (a run id) as the side it is shown on."""
    if key != "preference" or shown is None:
        return value
    return {shown[0]: "Answer A", shown[1]: "Answer B", "tie": "Tie"}.get(value, "neither answer on screen")


def suggestions(values: dict, title: str, shown: list[str] | None = None) -> None:
    """A model's suggestions, one line per criterion, as plain text; `shown`: a pair's run ids, left first."""
    lines = [escape(f"{key}: {shown_value(key, s.get('value'), shown)} ({suggested.share(s.get('confidence'))} "
                    f"confident, model {s.get('model_version')})" + (f": {s['reason']}" if s.get("reason") else ""))
             for key, s in values.items()]  # fmt: skip
    st.info(f"{title}\n\n" + "\n\n".join(lines), icon=":material/smart_toy:")


def reveal(last: dict) -> None:
    """after_answer: the item just submitted, the reviewer's answers beside the model's suggestions."""
    st.success("Saved. The model's suggestions for the item you just answered:")
    mine, model = st.columns(2)
    mine.json(last["answers"], expanded=True)
    with model:
        suggestions(last["suggestions"], "Model suggestions", last.get("shown"))
    if st.button("Next item", type="primary", shortcut="N"):
        del st.session_state["last"]
        st.session_state["shown_at"] = datetime.now(UTC)  # the next item is shown from now
        st.rerun()
    st.stop()


user = require_role()
queues = {q["name"]: q for q in allowed_queues(store(), user["name"])}
title, help_ = st.columns([6, 1], vertical_alignment="bottom")
title.title("Review")
with help_.popover("?", help="Keyboard shortcuts"):
    st.markdown(SHORTCUTS)
if not queues:
    st.info("No queue is assigned to you yet. Ask a lead to add you to a queue's assignees.")
    st.stop()
name = st.selectbox("Queue", list(queues), key="review_queue")
queue = queues[name]

if notice := st.session_state.pop("notice", None):
    st.warning(escape(notice))
if (last := st.session_state.get("last")) and last["queue"] == name:
    reveal(last)

item = st.session_state.get("item")
if item is not None and item["queue"] != name:  # another queue chosen: give the held item back
    release(store(), item["item_id"], user["name"])
    item = None
if item is None:
    try:
        item = _reserve(name, user["name"])
    except StoreFault:
        raise  # not a refusal: app.py shows a plain notice
    except ReviewdeskError as e:
        st.error(escape(e))
        st.stop()
if item is None:
    st.success("Nothing left for you in this queue. Thank you!")
    if st.session_state.get("skipped") and st.button("Show the items I skipped again"):
        st.session_state["skipped"].clear()
        st.rerun()
    st.stop()

st.caption(escape(f"Item {item['position']} of batch {item['batch_id']}"))
countdown(item["reserved_until"], queue["reservation_minutes"])
rubric = store().rubric(name, item["rubric_version"])
with st.expander("Instructions"):
    st.markdown(escape(rubric["instructions"]))

render.item(item)
shown = render.sides(item) if item["kind"] == "pairwise" else None  # run ids, left (A) first
criteria = rubric_form.criteria(item, rubric)
proposed = {}
if item["suggestions"]:
    with guarded("the model's suggestions"):
        proposed = suggested.proposals(item, criteria)
        if rest := {k: s for k, s in item["suggestions"].items() if k not in proposed}:  # none the form can pre-select
            suggestions(rest, "Model suggestions (a model's guess: check it)", shown)

st.divider()
prefix = item["item_id"]
rubric_form.quick_keys(criteria, prefix)
answers = rubric_form.form(criteria, prefix, suggested=proposed)
extras = rubric_form.extras(item, prefix)
with st.container(horizontal=True):
    submitted = st.button("Submit", type="primary", shortcut="ctrl+enter")
    skip = st.button("Skip", shortcut="ctrl+k")

if submitted:
    if why := rubric_form.refusal(criteria, answers, extras, prefix, allows_flag_only(queue)):
        st.error(why)
        st.stop()
    outcomes = suggested.outcomes(prefix, answers)  # screen values: before `stored` maps A/B to run ids
    answers = rubric_form.stored(item, answers)
    try:  # one write transaction: store this answer and reserve the next item
        draft = Draft(answers, **extras, suggestion_shown=item["suggestion_shown"],
                      shown_at=st.session_state.get("shown_at"), suggestion_outcomes=outcomes)  # fmt: skip
        result, upcoming = submit_and_next(
            store(), item["item_id"], user["name"], draft, exclude=st.session_state.setdefault("skipped", set())
        )
    except StoreFault:
        raise  # not a refusal: app.py shows a plain notice
    except ReviewdeskError as e:
        st.session_state["notice"] = str(e)
        upcoming = None
    else:
        if result.duplicate:
            st.session_state["notice"] = (
                f"Item {item['position']} was already submitted (from another tab, or a double click): your first "
                "answer is kept. To change it, edit it under My submissions."
            )
        elif queue["suggestions"] == "after_answer" and (
            revealed := revealed_suggestions(store(), item["item_id"], user["name"])
        ):
            st.session_state["last"] = {"queue": name, "answers": rubric_form.shown(item, answers),  # A/B, not ids
                                        "suggestions": revealed, "shown": shown}  # fmt: skip
    st.session_state["item"] = upcoming
    st.session_state["shown_at"] = datetime.now(UTC)
    st.rerun()
if skip:
    release(store(), item["item_id"], user["name"])
    st.session_state.setdefault("skipped", set()).add(item["item_id"])
    st.session_state["item"] = None
    st.rerun()
