"""What every page shares: the review store connection, the logged-in user (checked per rerun), and the
plain notice a reviewer sees when the store fails."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import streamlit as st

from reviewdesk.config import Settings
from reviewdesk.errors import StoreFault
from reviewdesk.review.accounts import check_session, logout
from reviewdesk.stores.reviewstore import ReviewStore

TOKEN = "session_token"
STORE_NOTICE = (
    "The review store cannot be reached right now, so this page could not be shown and your last action may not "
    "have been saved. Try again in a minute (reload the page, or submit again); if it keeps happening, tell an admin."
)
log = logging.getLogger("reviewdesk.app")

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator


@st.cache_resource
def _store(url: str) -> ReviewStore:
    """One store (engine and pool) per URL for all sessions of this server; SQLAlchemy is thread-safe."""
    return ReviewStore(url)


def settings() -> Settings:
    return Settings.load()


def store() -> ReviewStore:
    return _store(settings().review_url)


def current_user() -> dict | None:
    """The user of this browser session, or None: checked against the store on every rerun."""
    token = st.session_state.get(TOKEN)
    if token is None:
        return None
    user = check_session(store(), token, settings().session_idle_minutes)
    if user is None:
        del st.session_state[TOKEN]
    return user


def require_role(*roles: str) -> dict:
    """The logged-in user, if their role is one of `roles` (any role when none is given); otherwise
    the page stops here. Every page calls this: the navigation only hides, this refuses."""
    user = current_user()
    if user is None:
        st.error("Your session has ended. Log in again.")
        st.stop()
    if roles and user["role"] not in roles:
        st.error(f"This page needs the {' or '.join(roles)} role. Ask an admin if you need it.")
        st.stop()
    return user


def end_session() -> None:
    """Log out: the token dies in the store, not only in this browser."""
    if (token := st.session_state.pop(TOKEN, None)) is not None:
        logout(store(), token)


def store_fault_notice(where: DeltaGenerator, fault: StoreFault) -> None:
    """Tell the user in plain words that the store is unavailable (no traceback, no store address);
    the server's log gets the details."""
    log.error("Review store fault: %s", fault, exc_info=fault)
    where.error(STORE_NOTICE)
