"""What every page shares: the review store connection and the logged-in user, checked per rerun."""

from __future__ import annotations

import streamlit as st

from reviewdesk.config import Settings
from reviewdesk.review.accounts import check_session, logout
from reviewdesk.stores.reviewstore import ReviewStore

TOKEN = "session_token"


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
