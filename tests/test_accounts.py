"""Accounts and sessions: hashed passwords, one generic failure, lockout, idle expiry, disabling."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from review_support import T0
from sqlalchemy import select

from reviewdesk.errors import AlreadyExists, ConfigError, NotFound, ReviewdeskError
from reviewdesk.review import accounts
from reviewdesk.stores.review_schema import sessions, users
from reviewdesk.stores.reviewstore import ReviewStore

PASSWORD = "correct horse battery"


@pytest.fixture
def store(tmp_path: Path):
    with ReviewStore(f"sqlite:///{tmp_path / 'review.sqlite'}") as s:
        yield s


def stored_hashes(store: ReviewStore) -> dict[str, str]:
    with store.read() as conn:
        return dict(conn.execute(select(users.c.name, users.c.password_hash)).all())


def test_passwords_are_salted_scrypt_hashes_never_plain_text(store: ReviewStore):
    accounts.add_user(store, "alice", "reviewer", PASSWORD)
    accounts.add_user(store, "bob", "reviewer", PASSWORD)
    hashes = stored_hashes(store)
    assert all(h.startswith("scrypt$") and PASSWORD not in h for h in hashes.values())
    assert hashes["alice"] != hashes["bob"]  # a random salt per user
    raw = (Path(store.engine.url.database)).read_bytes()
    assert PASSWORD.encode() not in raw
    assert accounts.verify_password(PASSWORD, hashes["alice"])
    assert not accounts.verify_password(PASSWORD + "x", hashes["alice"])


def test_add_list_disable_and_new_password(store: ReviewStore):
    accounts.add_user(store, "carol", "lead", PASSWORD)
    accounts.add_user(store, "alice", "reviewer", PASSWORD, queues=["support-quality"])
    listed = accounts.list_users(store)
    assert [u["name"] for u in listed] == ["alice", "carol"]
    assert listed[0]["queues"] == ["support-quality"] and listed[1]["queues"] == []  # a grant; leads need none
    assert all("password_hash" not in u for u in listed)

    session = accounts.authenticate(store, "alice", PASSWORD)
    assert session is not None and session.role == "reviewer"
    accounts.set_password(store, "alice", "a brand new secret")
    assert accounts.check_session(store, session.token, idle_minutes=30) is None  # sessions end
    assert accounts.authenticate(store, "alice", PASSWORD) is None
    assert accounts.authenticate(store, "alice", "a brand new secret") is not None

    accounts.disable_user(store, "alice")
    assert accounts.get_user(store, "alice")["disabled"] is True
    assert accounts.authenticate(store, "alice", "a brand new secret") is None
    accounts.disable_user(store, "alice", disabled=False)
    assert accounts.authenticate(store, "alice", "a brand new secret") is not None


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda s: accounts.add_user(s, "alice", "reviewer", PASSWORD), AlreadyExists, "exists already"),
        (lambda s: accounts.add_user(s, "zed", "superuser", PASSWORD), ConfigError, "use one of reviewer, lead"),
        (lambda s: accounts.add_user(s, "zed", "reviewer", "short"), ConfigError, "at least 8 characters"),
        (lambda s: accounts.add_user(s, " ", "reviewer", PASSWORD), ConfigError, "non-empty"),
        (lambda s: accounts.set_password(s, "nobody", PASSWORD), NotFound, "add one with `add_user`"),
        (lambda s: accounts.disable_user(s, "nobody"), NotFound, "No user 'nobody'"),
    ],
    ids=["exists", "bad-role", "short-password", "no-name", "unknown-set-password", "unknown-disable"],
)
def test_account_errors_say_what_to_do(store: ReviewStore, call, error, match):
    accounts.add_user(store, "alice", "reviewer", PASSWORD)
    with pytest.raises(error, match=match) as err:
        call(store)
    assert isinstance(err.value, ReviewdeskError)


def test_wrong_credentials_give_one_generic_failure(store: ReviewStore):
    accounts.add_user(store, "alice", "reviewer", PASSWORD)
    accounts.add_user(store, "dora", "reviewer", PASSWORD)
    accounts.disable_user(store, "dora")
    outcomes = [
        accounts.authenticate(store, "alice", "wrong password"),
        accounts.authenticate(store, "nobody", PASSWORD),
        accounts.authenticate(store, "dora", PASSWORD),
        accounts.authenticate(store, "", ""),
    ]
    assert outcomes == [None, None, None, None]


def test_five_failures_lock_the_account_for_five_minutes(store: ReviewStore):
    accounts.add_user(store, "alice", "reviewer", PASSWORD)
    for i in range(4):
        assert accounts.authenticate(store, "alice", "nope", now=T0 + timedelta(seconds=i)) is None
    assert accounts.authenticate(store, "alice", PASSWORD, now=T0 + timedelta(seconds=5)) is not None  # resets
    for i in range(5):
        assert accounts.authenticate(store, "alice", "nope", now=T0 + timedelta(seconds=10 + i)) is None
    locked_at = T0 + timedelta(seconds=14)
    assert accounts.get_user(store, "alice")["locked_until"] == locked_at + timedelta(minutes=5)
    assert accounts.authenticate(store, "alice", PASSWORD, now=locked_at + timedelta(minutes=4, seconds=59)) is None
    assert accounts.authenticate(store, "alice", PASSWORD, now=locked_at + timedelta(minutes=5, seconds=1)) is not None
    assert accounts.get_user(store, "alice")["failed_logins"] == 0


def test_sessions_expire_after_idle_time_and_on_logout(store: ReviewStore):
    accounts.add_user(store, "alice", "reviewer", PASSWORD)
    session = accounts.authenticate(store, "alice", PASSWORD, now=T0)
    assert session is not None and len(session.token) >= 32
    user = accounts.check_session(store, session.token, idle_minutes=30, now=T0 + timedelta(minutes=20))
    assert user["name"] == "alice" and "password_hash" not in user
    # activity at +20 min keeps it alive until +50 min
    assert accounts.check_session(store, session.token, idle_minutes=30, now=T0 + timedelta(minutes=45)) is not None
    assert accounts.check_session(store, session.token, idle_minutes=30, now=T0 + timedelta(minutes=76)) is None
    assert accounts.check_session(store, session.token, idle_minutes=30, now=T0 + timedelta(minutes=77)) is None

    other = accounts.authenticate(store, "alice", PASSWORD, now=T0)
    accounts.logout(store, other.token)
    assert accounts.check_session(store, other.token, idle_minutes=30, now=T0) is None
    assert accounts.check_session(store, "made-up-token", idle_minutes=30) is None


def test_disabling_a_user_ends_their_sessions(store: ReviewStore):
    accounts.add_user(store, "alice", "reviewer", PASSWORD)
    session = accounts.authenticate(store, "alice", PASSWORD)
    accounts.disable_user(store, "alice")
    assert accounts.check_session(store, session.token, idle_minutes=30) is None
    with store.read() as conn:
        assert conn.scalar(select(sessions.c.token).where(sessions.c.user == "alice")) is None


def test_checking_a_session_writes_last_seen_only_when_it_is_stale(store: ReviewStore):
    accounts.add_user(store, "alice", "reviewer", PASSWORD)
    session = accounts.authenticate(store, "alice", PASSWORD, now=T0)

    def last_seen():
        with store.read() as conn:
            return conn.scalar(select(sessions.c.last_seen).where(sessions.c.token == session.token))

    soon = T0 + timedelta(seconds=accounts.TOUCH_SECONDS - 1)
    assert accounts.check_session(store, session.token, idle_minutes=30, now=soon) is not None
    assert last_seen() == T0  # a rerun a moment later only reads
    later = T0 + timedelta(seconds=accounts.TOUCH_SECONDS + 1)
    assert accounts.check_session(store, session.token, idle_minutes=30, now=later) is not None
    assert last_seen() == later
