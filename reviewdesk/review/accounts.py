"""Accounts and sessions of the review app, kept in the review store.

Passwords are stored only as salted scrypt hashes (stdlib `hashlib.scrypt`, a random salt per
user). A failed login gives one generic answer (None), whatever the reason: unknown user, wrong
password, disabled or locked account. Five consecutive failures lock the account for five
minutes. A session ends after `idle_minutes` without activity, on logout, or when its user is
disabled or gets a new password. A user's `queues` are the queues granted to them (`queue_grants`;
see `reviewdesk.review.access`), listed here so admins see accounts and access together.

A browser keeps its session across reloads through a *signed session cookie* (`sign_session`,
`signed_token`): the session token, an expiry time and an HMAC-SHA256 of both under a server secret
kept in the data directory (`session_secret`, file mode 0600), or set as `session_secret`, the same for
every replica of a team's app, so a cookie signed by one holds on the others. The signature and expiry are checked
before the store is asked, then the store's session row decides (`check_session`): a logout, a
disabled user, a new password or idle time ends it however long the cookie would live.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import bindparam, func, select

from reviewdesk.errors import AlreadyExists, ConfigError, NotFound
from reviewdesk.review.access import check_queue_name
from reviewdesk.review.roles import ROLES
from reviewdesk.stores.review_schema import queue_grants, sessions, users
from reviewdesk.stores.reviewstore import ReviewStore

MAX_FAILURES = 5
LOCK_MINUTES = 5
TOUCH_SECONDS = 30  # how stale `last_seen` may get: idle expiry is exact to within this
MIN_PASSWORD = 8
SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # ~16 MB and a few tens of ms per hash
COOKIE_HOURS = 12  # a signed session cookie lives this long at most (the store's idle limit applies first)
SECRET_FILE = "session.key"
USER_FIELDS = ("name", "role", "disabled", "failed_logins", "locked_until", "created_at")


@dataclass(frozen=True)
class Session:
    """A logged-in user: keep `token` (e.g. in the app's session state) and check it per request."""

    token: str
    user: str
    role: str
    created_at: datetime


def hash_password(password: str) -> str:
    """A salted scrypt hash, as `scrypt$n$r$p$salt$hash` (base64): never the password itself."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **SCRYPT)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches a hash made by `hash_password` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


_DUMMY_HASHES: dict[tuple, str] = {}


def _dummy_hash() -> str:
    """A hash of a random password at today's scrypt cost: an unknown name is checked against it, at the same cost."""
    key = tuple(sorted(SCRYPT.items()))
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASHES[key]


_dummy_hash()  # made now, so the first unknown name costs no more than the others

# Every login attempt runs the same three statements under the write lock, so its cost tells nothing about
# accounts: read the named user's row (for an unknown name, the first user's instead), count the attempt on
# that row, then settle the row: for an unknown name it ends as it was. The count makes the row change, so
# either way one row is written and committed (SQLite skips writing a row rewritten with equal values).
# FOR UPDATE (PostgreSQL) keeps concurrent attempts on one row from losing each other's counts.
_ATTEMPT_ROW = (
    select(users)
    .where(users.c.name == func.coalesce(
        select(users.c.name).where(users.c.name == bindparam("name")).correlate(None).scalar_subquery(),
        select(func.min(users.c.name)).correlate(None).scalar_subquery(),
    ))
    .with_for_update()
)  # fmt: skip
_COUNT_ATTEMPT = users.update().where(users.c.name == bindparam("row")).values(failed_logins=users.c.failed_logins + 1)
_SETTLE = users.update().where(users.c.name == bindparam("row")).values(
    failed_logins=bindparam("failures"), locked_until=bindparam("until")
)


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ConfigError(f"Passwords need at least {MIN_PASSWORD} characters: choose a longer one.")


def _check_queues(queues: Iterable[str] | None) -> list[str]:
    if queues is None:
        return []
    if isinstance(queues, str):
        queues = [queues]
    out = sorted({str(q) for q in queues})
    for queue in out:
        check_queue_name(queue)
    return out


def _user_row(conn, name: str) -> dict | None:
    row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
    return dict(row) if row else None


def _granted(conn, name: str | None = None) -> dict[str, list[str]]:
    """User -> the queues granted to them, by name (one user's, or everyone's)."""
    query = select(queue_grants.c.reviewer, queue_grants.c.queue).order_by(queue_grants.c.queue)
    if name is not None:
        query = query.where(queue_grants.c.reviewer == name)
    out: dict[str, list[str]] = {}
    for reviewer, queue in conn.execute(query):
        out.setdefault(reviewer, []).append(queue)
    return out


def _public(row: dict, granted: dict[str, list[str]] | None = None) -> dict:
    """The user's row without the hash; with `granted`, their queues too."""
    out = {k: row[k] for k in USER_FIELDS}
    return out if granted is None else {**out, "queues": granted.get(row["name"], [])}


def _require_user(conn, name: str) -> dict:
    row = _user_row(conn, name)
    if row is None:
        raise NotFound(f"No user {name!r}. List users with `list_users`, or add one with `add_user`.")
    return row


def add_user(store: ReviewStore, name: str, role: str, password: str, queues: Iterable[str] | None = None) -> dict:
    """Add a user; a reviewer is granted `queues` (leads and admins review every queue without grants)."""
    name = (name or "").strip()
    if not name:
        raise ConfigError("A user needs a name: give a non-empty one, e.g. 'alice'.")
    if role not in ROLES:
        raise ConfigError(f"Unknown role {role!r}: use one of {', '.join(ROLES)}.")
    _check_password(password)
    chosen = _check_queues(queues)
    if chosen and role != "reviewer":
        raise ConfigError(f"A {role} may review every queue: give queues to reviewers only.")
    row = {
        "name": name,
        "role": role,
        "password_hash": hash_password(password),  # hashed outside the write lock
        "disabled": False,
        "failed_logins": 0,
        "locked_until": None,
        "created_at": datetime.now(UTC),
    }
    with store.write() as conn:
        if _user_row(conn, name) is not None:
            raise AlreadyExists(
                f"User {name!r} exists already: pick another name, or give them a new password "
                f"with `reviewdesk users set-password {name}`."
            )
        conn.execute(users.insert().values(**row))
        granted = [{"queue": q, "reviewer": name, "granted_by": "added with the account",
                    "granted_at": row["created_at"]} for q in chosen]  # fmt: skip
        if granted:
            conn.execute(store.insert_ignore_stmt(queue_grants), granted)
    return _public(row, {name: chosen})


def set_password(store: ReviewStore, name: str, password: str) -> None:
    """Give a user a new password; it also unlocks the account and ends the user's sessions."""
    _check_password(password)
    new_hash = hash_password(password)
    with store.write() as conn:
        _require_user(conn, name)
        conn.execute(
            users.update()
            .where(users.c.name == name)
            .values(password_hash=new_hash, failed_logins=0, locked_until=None)
        )
        conn.execute(sessions.delete().where(sessions.c.user == name))


def disable_user(store: ReviewStore, name: str, disabled: bool = True) -> None:
    """Disable a user (ending their sessions), or enable them again with `disabled=False`."""
    with store.write() as conn:
        _require_user(conn, name)
        conn.execute(users.update().where(users.c.name == name).values(disabled=disabled))
        if disabled:
            conn.execute(sessions.delete().where(sessions.c.user == name))


def queue_access(user: dict) -> str:
    """Which queues a user (from `list_users`) may review, in words: their grants, or all for a lead or admin."""
    if user["role"] != "reviewer":
        return f"all (as {user['role']})"
    return ", ".join(user["queues"]) or "none granted"


def list_users(store: ReviewStore) -> list[dict]:
    """Every user, by name, without password hashes."""
    with store.read() as conn:
        granted = _granted(conn)
        return [_public(dict(r), granted) for r in conn.execute(select(users).order_by(users.c.name)).mappings()]


def get_user(store: ReviewStore, name: str) -> dict | None:
    """One user without the password hash, or None."""
    with store.read() as conn:
        row = _user_row(conn, name)
        return _public(row, _granted(conn, name)) if row else None


def authenticate(store: ReviewStore, name: str, password: str, now: datetime | None = None) -> Session | None:
    """A new session if the name and password are right and the account usable; otherwise None.

    None is the only failure answer, so a caller cannot tell an unknown user from a wrong
    password, neither by the answer nor by its cost: every attempt hashes once and runs the same
    statements (see `_ATTEMPT_ROW`). Each wrong password counts; the fifth in a row locks the
    account for five minutes.
    """
    now = now or datetime.now(UTC)
    with store.read() as conn:
        row = _user_row(conn, name)
    ok = verify_password(password, row["password_hash"] if row else _dummy_hash())  # outside the write lock
    with store.write() as conn:
        row = conn.execute(_ATTEMPT_ROW, {"name": name}).mappings().first()
        if row is None:  # no users at all: no account to learn anything about
            return None
        locked = row["locked_until"] is not None and row["locked_until"] > now
        usable = row["name"] == name and not (locked or row["disabled"])
        failures, until = row["failed_logins"], row["locked_until"]  # as they were, unless this attempt counts
        if usable:
            failures, until = (0, None) if ok else (failures + 1, until)
            if failures >= MAX_FAILURES:
                failures, until = 0, now + timedelta(minutes=LOCK_MINUTES)
        conn.execute(_COUNT_ATTEMPT, {"row": row["name"]})
        conn.execute(_SETTLE, {"row": row["name"], "failures": failures, "until": until})
        if not (usable and ok):
            return None
        token = secrets.token_urlsafe(32)
        conn.execute(sessions.insert().values(token=token, user=name, created_at=now, last_seen=now))
    return Session(token, row["name"], row["role"], now)


def check_session(store: ReviewStore, token: str, idle_minutes: float, now: datetime | None = None) -> dict | None:
    """The session's user (without password hash) if it is live, and marks it as seen; else None.

    A session idle for longer than `idle_minutes`, or whose user is disabled, ends here. The app
    checks on every rerun, so this only reads unless `last_seen` is over `TOUCH_SECONDS` old:
    reruns do not queue for the write lock behind submissions.
    """
    now = now or datetime.now(UTC)
    if not token:
        return None
    with store.read() as conn:
        session = conn.execute(select(sessions).where(sessions.c.token == token)).mappings().first()
        user = _user_row(conn, session["user"]) if session is not None else None
    if session is None:
        return None
    if user is None or user["disabled"] or now - session["last_seen"] > timedelta(minutes=idle_minutes):
        with store.write() as conn:
            conn.execute(sessions.delete().where(sessions.c.token == token))
        return None
    if now - session["last_seen"] > timedelta(seconds=TOUCH_SECONDS):
        with store.write() as conn:
            conn.execute(sessions.update().where(sessions.c.token == token).values(last_seen=now))
    return _public(user)  # grants are checked by each review step, not per rerun


def logout(store: ReviewStore, token: str) -> None:
    """End a session; ending an unknown or already ended one is fine."""
    with store.write() as conn:
        conn.execute(sessions.delete().where(sessions.c.token == token))


def session_secret(data_dir: Path, given: str | None = None) -> bytes:
    """The server's secret for signing session cookies: `given` (the same on every replica of a team's app),
    else one made once (random, mode 0600) in `data_dir`, then read."""
    if given is not None:
        return given.encode()
    path = Path(data_dir) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_text().strip()
        if len(secret) < 64:
            raise ConfigError(f"{path} is damaged (too short): delete it; every browser then logs in again.") from None
        return secret.encode()
    secret = secrets.token_hex(32)
    with os.fdopen(fd, "w") as f:  # another process racing us reads it only once it is whole: see above
        f.write(secret)
    return secret.encode()


def _signature(secret: bytes, token: str, expires: int) -> str:
    digest = hmac.new(secret, f"{token}.{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign_session(secret: bytes, token: str, now: datetime | None = None, hours: float = COOKIE_HOURS) -> str:
    """A cookie value for `token`: `token.expiry.signature`, the expiry in Unix seconds `hours` from now."""
    expires = int(((now or datetime.now(UTC)) + timedelta(hours=hours)).timestamp())
    return f"{token}.{expires}.{_signature(secret, token, expires)}"


def signed_token(secret: bytes, value: object, now: datetime | None = None) -> str | None:
    """The session token in a cookie value made by `sign_session`, if its signature holds and it has not
    expired; else None. The token must still pass `check_session`: this only proves the server issued it."""
    if not isinstance(value, str) or value.count(".") != 2:
        return None
    token, expires, signature = value.split(".")
    if not (expires.isascii() and expires.isdigit()) or int(expires) <= (now or datetime.now(UTC)).timestamp():
        return None
    expected = _signature(secret, token, int(expires)).encode()
    return token if hmac.compare_digest(signature.encode(errors="replace"), expected) else None


__all__ = [
    "Session",
    "add_user",
    "authenticate",
    "check_session",
    "disable_user",
    "get_user",
    "hash_password",
    "list_users",
    "logout",
    "queue_access",
    "session_secret",
    "set_password",
    "sign_session",
    "signed_token",
    "verify_password",
]
