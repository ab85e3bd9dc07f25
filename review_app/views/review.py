"""Review: one reserved item at a time, with the rubric; Submit saves and moves on, Skip releases.

Blind by construction: the page gets items through `reservations.next_item`, which never returns
gold answers or other reviewers' work, and returns suggestions only where the queue's policy shows them.
Shown suggestions pre-select their options in the form (`review_app.suggested`); the submission records
what the reviewer did with each.

One screen, no page scrolling (1400x900 and up): a header row (queue, progress, the reservation's
countdown), then the run on the left in a pane that scrolls on its own and the rubric on the right,
with Submit, always in view. Reruns stay small: the queue picker is in the page's header, and the
item area a fragment below it (Submit and Skip rerun only the item area, which draws its progress
into the header), and the form a fragment inside it (a number key reruns only the form). Submit
and Skip are handled before anything of the item is drawn, from the answers the widgets hold, so
the run that handles them draws the next item: one run per item.

The address bar holds the item (`?item=ID`): a reload comes back to the same reserved item, and the
link opens it read-only for a lead or an admin (`item_links.open_item`); anyone else is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NoReturn

import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.runtime.scriptrunner import get_script_run_ctx

from review_app import browser, render, rubric_form, suggested, unit_view
from review_app.render import escape, guarded
from review_app.session import require_role, store, store_fault_notice
from review_app.views import training
from reviewdesk.errors import AccessDenied, NotFound, ReviewdeskError, StoreFault
from reviewdesk.review.access import allowed_queues
from reviewdesk.review.conversation import as_json
from reviewdesk.review.drafts import Draft, allows_flag_only
from reviewdesk.review.item_links import ItemLink, open_item
from reviewdesk.review.oversight import Tally, reviewed_since, tally
from reviewdesk.review.qualification import NotQualified
from reviewdesk.review.reservations import next_item, release
from reviewdesk.review.submissions import submit_and_next
from reviewdesk.review.suggestions import revealed_suggestions

SHORTCUTS = """
| Keys | Does |
|---|---|
| **1** to **9** | answer the highlighted criterion (the first one still open); not inside a text field |
| **Ctrl+Enter** | submit and go to the next item |
| **Ctrl+K** | skip: give the item back and go to the next one |
| **A** | accept every model suggestion still pre-selected (marked *Suggested*) |
| **N** | next item, after a submitted answer is shown with the model's suggestion |
| **Tab** / **Shift+Tab** | move between fields; arrows change a choice |

The address bar holds this item's link (?item=...): copy it to show a lead the item.
"""
ASKED = "asked"  # (action, item) of the Submit or Skip press not yet handled
OWN_LINK = "own_link"  # the item id this page last put in the address bar: a link to follow is any other
TALLY_SECONDS = 10  # how stale the batch and queue counts may be: summing 100,000 items is not free
COUNTS = "counts"  # ((queue, batch, day), its Tally, my count today): what the progress caption shows
ITEM_RUN = "item_run"  # set while the item area's own rerun (Submit, Skip) draws: see `_counts`
PANE = 640  # px: the panes' height where the browser does not size them to the window (`browser.fit_screen`)


def in_fragment() -> bool:
    """Whether this is a fragment's own rerun (a fragment-scoped rerun is refused during a full one)."""
    ctx = get_script_run_ctx()
    return ctx is not None and bool(ctx.fragment_ids_this_run)


def again() -> NoReturn:
    """Draw the item area anew: only it when this is its own rerun, else the whole page (the first run,
    a queue chosen, a test's full run)."""
    st.rerun(scope="fragment" if in_fragment() else "app")


def _reserve(queue: str, reviewer: str) -> dict | None:
    """Hold the next item for this reviewer and remember when it was shown."""
    item = next_item(store(), queue, reviewer, exclude=st.session_state.setdefault("skipped", set()))
    st.session_state["item"] = item
    st.session_state["shown_at"] = datetime.now(UTC)
    return item


def countdown(until: datetime, minutes: int) -> None:
    """Time left on the reservation."""
    left = (until - datetime.now(UTC)).total_seconds()
    if left <= 0:
        st.warning("Your reservation has expired: submit now if you can, or the item may go to someone else.")
        return
    m, s = divmod(int(left), 60)
    st.progress(min(1.0, left / (minutes * 60)), text=f"Reserved for you for {m}:{s:02d}")


@st.cache_data(ttl=TALLY_SECONDS, show_spinner=False)
def _tally(url: str, queue: str, batch_id: str) -> Tally:
    """Reviews done and needed, shared by every session of this server for `TALLY_SECONDS`."""
    return tally(store(), queue, batch_id)


def _counts(item: dict, reviewer: str) -> tuple[Tally, int]:
    """This batch's and queue's reviews (read at most every `TALLY_SECONDS`) and mine today. Read again on
    every run but the item area's own (Submit, Skip): there the counts held are drawn, one more for a
    Submit (`_count_mine`), so the reviewer never waits on counting for the next item."""
    day = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    key = (item["queue"], item["batch_id"], day)
    held = st.session_state.get(COUNTS)
    if held is None or held[0] != key or not st.session_state.get(ITEM_RUN):
        tallied = _tally(store().url, item["queue"], item["batch_id"])
        held = st.session_state[COUNTS] = (key, tallied, reviewed_since(store(), reviewer, day))
    return held[1], held[2]


def _count_mine() -> None:
    """A Submit stored a first answer: one more in my count today (the batch's and queue's catch up later)."""
    if (held := st.session_state.get(COUNTS)) is not None:
        st.session_state[COUNTS] = (*held[:2], held[2] + 1)


@st.fragment(run_every=5)
def status(item: dict, reviewer: str, minutes: int) -> None:
    """The progress caption (this batch, this queue, my count today) and the reservation's countdown,
    refreshed in place every 5 s without rerunning the page."""
    counts, clock = st.columns([5, 3], vertical_alignment="center")
    t, today = _counts(item, reviewer)
    counts.caption(escape(f"Item {item['position']} of batch {item['batch_id']}") + "  \n"
                   f"Reviews done: batch {t.batch_done:,}/{t.batch_needed:,} · queue {t.queue_done:,}/"
                   f"{t.queue_needed:,} · today {today:,} by you")  # fmt: skip
    with clock:
        countdown(item["reserved_until"], minutes)


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
        again()
    st.stop()


@st.fragment
def form_area(item: dict, criteria: list, prefix: str, proposed: dict) -> None:
    """The rubric's widgets (`proposed`: suggestions to pre-select) and the number keys: a key reruns only this."""
    if ASKED in st.session_state:  # a Submit or Skip press in this run of the form alone: see `_asked`
        st.rerun()
    rubric_form.quick_keys(criteria, prefix)
    if (c := rubric_form.highlighted(criteria, prefix)) is not None and "step" in c:  # its step in the tree too
        browser.mark(unit_view.step_key(item["item_id"], c["position"]))
    rubric_form.form(criteria, prefix, suggested=proposed)
    rubric_form.extras(item, prefix)


def _keep_queue() -> None:
    """Clicking the chosen queue again would unselect it: keep it chosen."""
    if st.session_state.get("review_queue") is None:
        st.session_state["review_queue"] = st.session_state.get("queue_was")


def send(item: dict, queue: dict, reviewer: str) -> str | None:
    """Submit what the form holds: store it and reserve the next item in one transaction (the page then
    draws that item); returns why not, when the form cannot be sent yet."""
    prefix = item["item_id"]
    criteria = rubric_form.questions(item, store().rubric(queue["name"], item["rubric_version"]))
    answers, extras = rubric_form.given(criteria, prefix), rubric_form.given_extras(item, prefix)
    if why := rubric_form.refusal(criteria, answers, extras, prefix, allows_flag_only(queue)):
        return why
    suggested.track(prefix)  # a change sent with the press itself
    outcomes = suggested.outcomes(prefix, answers)  # screen values: before `stored` maps A/B to run ids
    answers = rubric_form.stored(item, answers)
    shown = render.sides(item) if item["kind"] == "pairwise" else None  # run ids, left (A) first
    try:  # one write transaction: store this answer and reserve the next item
        draft = Draft(answers, **extras, suggestion_shown=item["suggestion_shown"],
                      shown_at=st.session_state.get("shown_at"), suggestion_outcomes=outcomes)  # fmt: skip
        result, upcoming = submit_and_next(
            store(), item["item_id"], reviewer, draft, exclude=st.session_state.setdefault("skipped", set())
        )
    except StoreFault:
        raise  # not a refusal: the item area tells it, and draws the form again
    except ReviewdeskError as e:
        st.session_state["notice"] = str(e)
        upcoming = None
    else:
        if result.duplicate:
            st.session_state["notice"] = (
                f"Item {item['position']} was already submitted (from another tab, or a double click): your first "
                "answer is kept. To change it, edit it under My submissions."
            )
        else:
            _count_mine()
            if queue["suggestions"] == "after_answer" and (
                revealed := revealed_suggestions(store(), item["item_id"], reviewer)
            ):
                st.session_state["last"] = {"queue": queue["name"], "answers": rubric_form.shown(item, answers),
                                            "suggestions": revealed, "shown": shown}  # fmt: skip
    st.session_state["item"] = upcoming
    st.session_state["shown_at"] = datetime.now(UTC)
    return None


def _asked(action: str, prefix: str) -> None:
    """Submit or Skip pressed: remember it for the item area's next run.

    Ctrl+Enter inside a text field of the form sends the field's new text (a run of the form) and the
    press (a run of the item area) together; Streamlit may then handle both in the form's run, where the
    item area never sees its button pressed. This callback runs in whichever run gets the press, and the
    form passes a press it sees on to the whole page (`form_area`)."""
    st.session_state[ASKED] = (action, prefix)


def header(queues: dict) -> tuple[str, DeltaGenerator]:
    """The header row, drawn by the page (a Submit or Skip does not send it again): the queue picker, the
    place for the item's progress and countdown (`status`, drawn by the item area), and the shortcuts."""
    picker, middle, help_ = st.columns([5, 8, 1], vertical_alignment="center")
    names = list(queues)
    st.session_state.setdefault("review_queue", names[0])
    with picker:
        name = st.pills("Queue", names, key="review_queue", format_func=escape, on_change=_keep_queue,
                        label_visibility="collapsed") or names[0]  # fmt: skip
    st.session_state["queue_was"] = name
    state = middle.empty()  # the item area's rerun replaces what it holds (writes to other containers add up)
    with help_:
        with st.popover("?", help="Keyboard shortcuts"):
            st.markdown(SHORTCUTS)
        browser.install_keys()
    return name, state


@st.fragment
def item_area(queue: dict, user: dict, state: DeltaGenerator) -> None:
    """The item and its form, and its progress in the header's `state`: everything Submit or Skip changes.

    A fragment's errors stay in the fragment (app.py never sees them), so a store fault is told here."""
    notice = st.empty()
    st.session_state[ITEM_RUN] = in_fragment()
    try:
        _item_area(queue, user, state)
    except StoreFault as e:
        store_fault_notice(notice, e)
    finally:
        del st.session_state[ITEM_RUN]


def _item_area(queue: dict, user: dict, state: DeltaGenerator) -> None:
    name = queue["name"]
    state.empty()  # no item drawn (a refusal, the queue done, a training item) leaves no stale progress
    asked, refused = st.session_state.pop(ASKED, None), None  # before the form is drawn: see `form_area`
    if (held := st.session_state.get("item")) is not None and held["queue"] == name:
        if asked == ("submit", held["item_id"]):
            try:
                refused = send(held, queue, user["name"])
            except StoreFault as e:  # told; the item is drawn again with the answers still in its form
                store_fault_notice(st.empty(), e)
        elif asked == ("skip", held["item_id"]):
            release(store(), held["item_id"], user["name"])
            st.session_state.setdefault("skipped", set()).add(held["item_id"])
            st.session_state["item"] = None
    if notice := st.session_state.pop("notice", None):
        st.warning(escape(notice))
    if (last := st.session_state.get("last")) and last["queue"] == name:
        reveal(last)
    if training.feedback(queue):  # the right answer to the last training item, until Next
        return

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
            if isinstance(e, AccessDenied) and in_fragment():  # revoked since the page drew its queues:
                st.session_state["notice"] = str(e)  # draw them again from the store's grants
                st.rerun(scope="app")
            training.refused(e) if isinstance(e, NotQualified) else st.error(escape(e))
            st.stop()
    if item is None:
        st.query_params.pop("item", None)
        st.success("Nothing left for you in this queue. Thank you!")
        if st.session_state.get("skipped") and st.button("Show the items I skipped again"):
            st.session_state["skipped"].clear()
            again()
        st.stop()
    if item.get("training"):  # a gold item answered before live items: not reserved, so no link to it
        st.query_params.pop("item", None)
        return training.training_item(item, queue, user["name"])
    if st.query_params.get("item") != item["item_id"]:
        st.query_params["item"] = st.session_state[OWN_LINK] = item["item_id"]  # the address bar shows its link

    rubric = store().rubric(name, item["rubric_version"])
    criteria = rubric_form.questions(item, rubric)
    prefix = item["item_id"]
    shown = render.sides(item) if item["kind"] == "pairwise" else None  # run ids, left (A) first
    proposed, rest = {}, {}
    if item["suggestions"]:
        with guarded("the model's suggestions"):
            proposed = suggested.proposals(item, [c for c in criteria if "step" not in c])  # none per step
            rest = {k: s for k, s in item["suggestions"].items() if k not in proposed}  # none the form can pre-select
    content, right = st.columns([3, 2])
    with right:
        with st.container(height=PANE, key="form_pane", border=False):
            form_area(item, criteria, prefix, proposed)
            with st.expander("Instructions"):
                st.markdown(escape(rubric["instructions"]))
        with st.container(horizontal=True):
            st.button("Submit", type="primary", shortcut="ctrl+enter", key=f"submit-{prefix}", on_click=_asked,
                      args=("submit", prefix))  # fmt: skip
            st.button("Skip", shortcut="ctrl+k", key=f"skip-{prefix}", on_click=_asked, args=("skip", prefix))
        if refused:
            st.error(refused)
    with state.container():
        status(item, user["name"], queue["reservation_minutes"])
    with content, st.container(height=PANE, key="content_pane", autoscroll=False):  # browser.py scrolls it
        render.item(item, asked={c["step"] for c in criteria if "step" in c})
        if rest:
            with guarded("the model's suggestions"):
                suggestions(rest, "Model suggestions (a model's guess: check it)", shown)


def read_only(link: ItemLink) -> None:
    """A lead's or an admin's look at an item they do not hold: its content and the answers so far."""
    item = link.item
    st.caption(escape(f"Item {item['position']} of batch {item['batch_id']} in queue {link.queue}: read only, "
                      "as it is not reserved for you"))  # fmt: skip
    content, answers = st.columns([3, 2])
    with content, st.container(height=PANE, key="content_pane"):
        render.item(item)
    with answers, st.container(height=PANE, key="form_pane", border=False):
        if item.get("is_gold"):
            st.markdown("**Gold answer**")
            st.json(as_json(item.get("gold_answer")), expanded=True)
        if not link.answers:
            st.info("No answers yet.")
        for s in link.answers:
            st.markdown(escape(f"{s['reviewer']}, revision {s['revision']}, {s['submitted_at']:%Y-%m-%d %H:%M} UTC"))
            st.json(as_json(rubric_form.shown(item, s["answers"])), expanded=True)
            if s["comment"] or s["flags"]:
                st.caption(escape(f"Comment: {s['comment'] or '-'} · flags: {as_json(s['flags'])}"))


def leave_link() -> None:
    """The way back from an item link to one's own queue."""
    if st.button("Go to my review queue", type="primary"):
        st.query_params.pop("item", None)
        st.rerun()
    st.stop()


def follow_link(link: str, user: dict, queues: dict) -> None:
    """Open the item in the address bar: review it if it is held for this user (after a reload, say),
    show it read-only to a lead or an admin, refuse anyone else; stops the page unless it is reviewed."""
    try:
        opened = open_item(store(), link, user)
    except StoreFault:
        raise  # not a refusal: app.py shows a plain notice
    except (NotFound, AccessDenied) as e:
        st.error(escape(e))
        leave_link()
    if opened.mode == "review" and opened.queue in queues:  # held for this user: `next_item` gives it again
        st.session_state["review_queue"] = opened.queue
        return
    read_only(opened)
    leave_link()


user = require_role()
browser.fit_screen()
queues = {q["name"]: q for q in allowed_queues(store(), user["name"])}
held = (st.session_state.get("item") or {}).get("item_id")  # the link this page wrote, or one given on opening it
if not queues:
    if notice := st.session_state.pop("notice", None):  # e.g. why the last Submit was refused
        st.warning(escape(notice))
    st.info("No queue is assigned to you yet. Ask a lead to grant you one on the Users page.")
    st.stop()
if (link := st.query_params.get("item")) and link not in (held, st.session_state.get(OWN_LINK)):
    follow_link(link, user, queues)
name, state = header(queues)
item_area(queues[name], user, state)
