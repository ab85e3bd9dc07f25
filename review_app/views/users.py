"""Users and queue access: leads and admins grant and revoke reviewers' queues; admins also add accounts,
disable or enable them and set passwords.

Grants are what the store enforces (`reviewdesk.review.access`): a reviewer reviews exactly the queues
granted here (or with `reviewdesk users grant`), and a revoke applies at their next action. Each change
runs in its button's callback, before the page is drawn, so the tables already show it. A refused
change (a short password, a taken name) comes back as a message, not a traceback.
"""

from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from review_app.render import escape
from review_app.session import require_role, store
from reviewdesk.errors import ReviewdeskError, StoreFault
from reviewdesk.review.access import grant, grants, revoke
from reviewdesk.review.accounts import add_user, disable_user, list_users, queue_access, set_password
from reviewdesk.review.roles import ROLES

NOTICE = "users_notice"


def _change(done: str, action: Callable[..., object], *args: object) -> bool:
    """Run one change and leave its outcome for the page to show."""
    try:
        action(store(), *args)
    except StoreFault:
        raise  # not a refusal: app.py shows a plain notice
    except ReviewdeskError as e:
        st.session_state[NOTICE] = ("error", str(e))
        return False
    st.session_state[NOTICE] = ("success", done)
    return True


def _add() -> None:
    s = st.session_state
    name, role = s["new_name"].strip(), s["new_role"]
    if _change(f"Added {name} ({role}).", add_user, name, role, s["new_password"], s["new_queues"] or None):
        s["new_name"], s["new_queues"] = "", []
    s["new_password"] = ""  # never left in the form


def _set_disabled(name: str, disabled: bool) -> None:
    done = f"Disabled {name}; their sessions are ended." if disabled else f"Enabled {name}."
    _change(done, disable_user, name, disabled)


def _set_password(name: str) -> None:
    _change(f"Set a new password for {name}; their sessions are ended.", set_password, name, st.session_state["pw"])
    st.session_state["pw"] = ""


def _save_access(name: str, had: list[str], by: str) -> None:
    """Grant what was added to the reviewer's queues, revoke what was removed."""
    chosen = st.session_state[f"access-{name}"]
    added, removed = sorted(set(chosen) - set(had)), sorted(set(had) - set(chosen))

    def apply(s: object) -> None:
        for queue in added:
            grant(s, queue, name, by)
        for queue in removed:
            revoke(s, queue, name)

    said = [f"{name} may now review {', '.join(added)}"] if added else []
    said += [f"{name} may no longer review {', '.join(removed)} (from their next action)"] if removed else []
    _change("; ".join(said) + "." if said else f"No change to {name}'s queues.", apply)


def _state(user: dict, now: datetime) -> str:
    if user["disabled"]:
        return "disabled"
    if user["locked_until"] is not None and user["locked_until"] > now:
        return f"locked until {user['locked_until']:%H:%M} UTC"
    return "active"


me = require_role("lead", "admin")
st.title("Users")
if notice := st.session_state.pop(NOTICE, None):
    kind, message = notice
    (st.error if kind == "error" else st.success)(escape(message))

found = {u["name"]: u for u in list_users(store())}
now = datetime.now(UTC)
table = [{**u, "queues": queue_access(u), "state": _state(u, now)} for u in found.values()]
st.dataframe(pd.DataFrame(table, columns=["name", "role", "queues", "state"]), hide_index=True)
published = list(store().published_counts())
granted = grants(store())
if nobody := [q for q in published if not granted.get(q)]:
    st.warning(escape(f"Granted to nobody yet, so no reviewer sees them: {', '.join(nobody)}. Grant them below."))

st.subheader("Queue access")
reviewers = [name for name, u in found.items() if u["role"] == "reviewer"]
who = st.selectbox("Reviewer", reviewers, key="access_user", index=None, placeholder="Choose a reviewer")
if who is not None:
    had = found[who]["queues"]
    with st.form("access"):
        st.multiselect("Queues they may review", sorted({*published, *had}), default=had, key=f"access-{who}",
                       help="Leads and admins review every queue without grants.")  # fmt: skip
        st.form_submit_button("Save access", on_click=_save_access, args=(who, had, me["name"]))

if me["role"] != "admin":
    st.stop()
st.subheader("Add a user")
with st.form("add_user"):
    st.text_input("Name", key="new_name")
    st.selectbox("Role", ROLES, key="new_role")
    st.multiselect("Queues", published, key="new_queues", help="For reviewers: the queues granted to them.")
    st.text_input("Password", type="password", key="new_password")
    st.form_submit_button("Add user", on_click=_add)

st.subheader("Change a user")
target = st.selectbox("User", list(found), key="target")
if target is not None:
    user = found[target]
    disabled = bool(user["disabled"])
    st.button(
        escape(f"Enable {target}" if disabled else f"Disable {target}"),
        on_click=_set_disabled,
        args=(target, not disabled),
        disabled=target == me["name"],
        help="You cannot disable your own account." if target == me["name"] else None,
    )
    with st.form("set_password"):
        st.text_input("New password", type="password", key="pw")
        st.form_submit_button("Set password", on_click=_set_password, args=(target,))
