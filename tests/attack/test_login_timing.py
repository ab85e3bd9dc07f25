"""Uniform login cost: a login attempt's time and store work tell nothing about which accounts exist.

The defect: a known name cost a write transaction (counting the failure) that an unknown one did not,
about 2 ms more per attempt on SQLite, enough to list accounts by timing the login form.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from reviewdesk.review import accounts
from reviewdesk.stores.reviewstore import ReviewStore

PASSWORD = "correct horse battery"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A SQLite store with three accounts (one disabled), hashed at a low scrypt cost: then the store work,
    not the hash, is what the timing compares (both kinds of attempt hash once, at the same cost)."""
    monkeypatch.setitem(accounts.SCRYPT, "n", 2**4)
    with ReviewStore(f"sqlite:///{tmp_path / 'review.sqlite'}") as s:
        for name in ("alice", "bob", "carol"):
            accounts.add_user(s, name, "reviewer", PASSWORD)
        accounts.disable_user(s, "carol")
        yield s


def statements(store: ReviewStore, name: str, password: str, now: datetime) -> list[str]:
    """The SQL one login attempt sends to the store, in order."""
    sent: list[str] = []

    def record(conn, cursor, statement, *_):
        sent.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        assert accounts.authenticate(store, name, password, now=now) is None
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    return sent


def test_every_failed_attempt_runs_the_same_statements(store: ReviewStore):
    for i in range(5):  # lock bob
        accounts.authenticate(store, "bob", "wrong password", now=T0 + timedelta(seconds=i))
    now = T0 + timedelta(seconds=10)
    unknown = statements(store, "nobody", "wrong password", now)
    assert unknown == statements(store, "alice", "wrong password", now)  # a known name, wrong password
    assert unknown == statements(store, "bob", PASSWORD, now)  # locked
    assert unknown == statements(store, "carol", PASSWORD, now)  # disabled
    assert any(s.lstrip().upper().startswith("UPDATE") for s in unknown)  # a row is written either way


def test_unknown_names_do_not_change_anyones_lockout(store: ReviewStore):
    for i in range(20):
        assert accounts.authenticate(store, f"nobody{i}", "wrong password", now=T0) is None
    assert [(u["failed_logins"], u["locked_until"]) for u in accounts.list_users(store)] == [(0, None)] * 3
    for _ in range(4):
        accounts.authenticate(store, "alice", "wrong password", now=T0)
        accounts.authenticate(store, "zed", "wrong password", now=T0)  # unknown, in between
    assert accounts.get_user(store, "alice")["failed_logins"] == 4
    assert accounts.authenticate(store, "alice", "wrong password", now=T0) is None  # the fifth locks
    assert accounts.get_user(store, "alice")["locked_until"] == T0 + timedelta(minutes=accounts.LOCK_MINUTES)
    assert accounts.authenticate(store, "alice", PASSWORD, now=T0) is None


def test_known_and_unknown_names_cost_the_same_within_a_millisecond(store: ReviewStore):
    """Interleaved pairs (the order alternating), medians of many: the machine is shared and noisy.
    Each pair is 10 minutes after the last, so alice's account is never locked: every known attempt is
    the wrong-password path, the one that counts a failure."""
    known, unknown = [], []
    started = time.monotonic()
    for i in range(400):
        now = T0 + timedelta(minutes=10 * i)
        for name in ("alice", "nobody") if i % 2 else ("nobody", "alice"):
            t = time.perf_counter()
            accounts.authenticate(store, name, "wrong password", now=now)
            (known if name == "alice" else unknown).append(time.perf_counter() - t)
        if time.monotonic() - started > 8:  # a very slow disk: enough pairs by now to compare medians
            break
    gap_ms = (statistics.median(known) - statistics.median(unknown)) * 1000
    assert abs(gap_ms) < 1, f"median login of a known name {gap_ms:+.2f} ms vs an unknown one ({len(known)} pairs)"
