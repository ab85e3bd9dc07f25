"""What every page shares: the review store connection, the logged-in user (checked per rerun), and the
plain notice a reviewer sees when the store fails.

A reload keeps the reviewer logged in through a signed session cookie, `reviewdesk_session`: the
session token, an expiry (12 hours) and an HMAC of both under a secret kept in the data directory
(`accounts.sign_session`). Streamlit only *reads* cookies (`st.context.cookies`, those sent when the
page opened its websocket), so the cookie is written by a script in the page (`browser.set_cookie`:
nothing in it but the signed value, checked to be made of `[A-Za-z0-9_.-]`), once after the login,
with `SameSite=Strict; Path=/` (and `Secure` over HTTPS). On every run the server checks the
signature and expiry, then the store's session row (`accounts.check_session`), so a logout, a
disabled account, a new password or idle time ends the session whatever the cookie says; logging out
also deletes the cookie. The token never goes in the URL.

Risks, also in the README's security section: page scripts can read the cookie (it cannot be
HttpOnly when a script writes it), so a script injected into the page could steal a session for up
to its idle limit: everything run-derived is rendered escaped, and no user script runs. Anyone who
can read the data directory can sign cookies for existing sessions' tokens (they could read the
store too). Serve over HTTPS beyond loopback, or the cookie travels in clear.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from review_app import browser
from reviewdesk.config import Settings
from reviewdesk.errors import StoreFault
from reviewdesk.review.accounts import COOKIE_HOURS, check_session, logout, session_secret, sign_session, signed_token
from reviewdesk.stores.reviewstore import ReviewStore

TOKEN = "session_token"
COOKIE = "reviewdesk_session"
SIGNED = "signed_session"  # the cookie value this browser session still has to write
FORGET = "forget_cookie"  # logged out here: delete the cookie, whatever the page opened with
FORGOT = "forgot_cookie"  # the cookie the page opened with is deleted already
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


@lru_cache(maxsize=16)
def _settings(environment: tuple) -> Settings:
    return Settings.load()


def settings() -> Settings:
    """The settings, read again only when what they are read from changes (a test's environment): reading
    them costs about 1 ms, and a Submit asks for them several times."""
    env = sorted((k, v) for k, v in os.environ.items() if k.upper().startswith(Settings.model_config["env_prefix"]))
    return _settings((os.getcwd(), *env))  # the working directory: a relative data dir lies under it


def store() -> ReviewStore:
    return _store(settings().review_url)


@st.cache_resource
def _secret(data_dir: Path, given: str | None) -> bytes:
    return session_secret(data_dir, given)


def secret() -> bytes:
    """The server's cookie-signing secret: `session_secret` from the settings, else the data directory's."""
    given = settings().session_secret
    return _secret(settings().data_dir.resolve(), given.get_secret_value() if given else None)


def current_user() -> dict | None:
    """The user of this browser session, or None: checked against the store on every rerun. A new
    browser session (a reload) starts from the signed session cookie, if it holds a live session."""
    token = st.session_state.get(TOKEN)
    if token is None:
        cookie = st.context.cookies.get(COOKIE)
        if cookie is None or (token := signed_token(secret(), cookie)) is None:
            return None
        st.session_state[TOKEN] = token
    user = check_session(store(), token, settings().session_idle_minutes)
    if user is None:
        del st.session_state[TOKEN]
    return user


def remember(token: str) -> None:
    """Log this browser session in with `token`; `write_cookie` then keeps it across reloads."""
    st.session_state[TOKEN] = token
    st.session_state[SIGNED] = sign_session(secret(), token)


def write_cookie(logged_in: bool) -> None:
    """Bring the browser's session cookie in line, once: written after a login, deleted after a logout
    (or when the page opened with one that no longer holds a live session)."""
    if logged_in:
        if value := st.session_state.pop(SIGNED, None):
            browser.set_cookie(COOKIE, value, int(COOKIE_HOURS * 3600))
    elif st.session_state.pop(FORGET, False) or (st.context.cookies.get(COOKIE) and not st.session_state.get(FORGOT)):
        st.session_state[FORGOT] = True
        browser.set_cookie(COOKIE, "", 0)


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
    """Log out: the token dies in the store, not only in this browser (whose cookie `write_cookie` deletes)."""
    st.session_state.pop(SIGNED, None)
    st.session_state[FORGET] = True
    if (token := st.session_state.pop(TOKEN, None)) is not None:
        logout(store(), token)


def store_fault_notice(where: DeltaGenerator, fault: StoreFault) -> None:
    """Tell the user in plain words that the store is unavailable (no traceback, no store address);
    the server's log gets the details."""
    log.error("Review store fault: %s", fault, exc_info=fault)
    where.error(STORE_NOTICE)
