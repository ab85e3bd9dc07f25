"""Oversight for leads: per-reviewer progress and flagged reviews, with hand-computed answers; queue limits."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from review_support import T0, dialect_store, seed_queue

from reviewdesk.errors import AccessDenied, ConfigError, NotFound, ReviewConflict
from reviewdesk.review import access, accounts
from reviewdesk.review.access import my_queues
from reviewdesk.review.drafts import Draft
from reviewdesk.review.oversight import FlaggedSubmission, ReviewerProgress, flagged_items, reviewer_progress
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import revise, submit, submit_and_next
from reviewdesk.stores.review_schema import items
from reviewdesk.stores.reviewstore import ReviewStore

PASSWORD = "correct horse battery"
QUEUE, AB = "support-quality", "support-ab"
OK = {"correctness": "correct"}


def sec(n: float):
    return T0 + timedelta(seconds=n)


def item(pos: int, queue: str = QUEUE) -> str:
    return f"{queue}-b1-{pos:04d}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    with dialect_store(request.param, tmp_path, lambda: request.getfixturevalue("postgres_url")) as s:
        for name in ("reviewer1", "reviewer2", "reviewer3"):
            accounts.add_user(s, name, "reviewer", PASSWORD)
        accounts.add_user(s, "lead", "lead", PASSWORD)
        seed_queue(s, QUEUE, n=10, reviewers_needed=2)  # assignees: reviewer1-3
        seed_queue(s, AB, n=3, reviewers_needed=2)
        yield s


def test_reviewer_progress_counts_items_revisions_median_and_live_holds(store: ReviewStore):
    # reviewer1: first revisions took 60 s and 120 s (median 90); one has no shown time; one edit.
    submit(store, item(1), "reviewer1", Draft(OK, shown_at=sec(0)), now=sec(60))
    submit(store, item(2), "reviewer1", Draft(OK, shown_at=sec(60)), now=sec(180))
    submit(store, item(3), "reviewer1", Draft(OK), now=sec(200))  # no reservation, no shown_at: not timed
    revise(store, item(1), "reviewer1", Draft({"correctness": "incorrect"}, shown_at=sec(250)), now=sec(300))
    # reviewer2: 30 s, 90 s and 45 s (median 45); then holds an item from 1000 s (expires at 2800 s).
    submit(store, item(1), "reviewer2", Draft(OK, shown_at=sec(0)), now=sec(30))
    submit(store, item(4), "reviewer2", Draft(OK, shown_at=sec(30)), now=sec(120))
    submit(store, item(5), "reviewer2", Draft(OK, shown_at=sec(120)), now=sec(165))
    assert next_item(store, QUEUE, "reviewer2", now=sec(1000)) is not None
    # reviewer3's hold has expired by 2400 s; lead holds one (not an assignee) but submitted nothing.
    assert next_item(store, QUEUE, "reviewer3", now=sec(0)) is not None
    assert next_item(store, QUEUE, "lead", now=sec(2000)) is not None
    # work in the other queue does not count here
    submit(store, item(1, AB), "reviewer3", Draft(OK, shown_at=sec(0)), now=sec(10))
    assert next_item(store, AB, "reviewer1", now=sec(2000)) is not None

    # backlog: open items (QUEUE: 9 of 10, item 1 has its two reviews) less the open ones they reviewed
    assert reviewer_progress(store, QUEUE, now=sec(2400)) == [
        ReviewerProgress("lead", 0, 0, None, None, 1, granted=False, backlog=9),
        ReviewerProgress("reviewer1", 3, 4, 90.0, sec(300), 0, granted=True, backlog=9 - 2),  # items 2, 3
        ReviewerProgress("reviewer2", 3, 3, 45.0, sec(165), 1, granted=True, backlog=9 - 2),  # items 4, 5
        ReviewerProgress("reviewer3", 0, 0, None, None, 0, granted=True, backlog=9),
    ]
    assert reviewer_progress(store, AB, now=sec(2400)) == [
        ReviewerProgress("reviewer1", 0, 0, None, None, 1, granted=True, backlog=3),
        ReviewerProgress("reviewer2", 0, 0, None, None, 0, granted=True, backlog=3),
        ReviewerProgress("reviewer3", 1, 1, 10.0, sec(10), 0, granted=True, backlog=3 - 1),
    ]


def test_reviewer_progress_lists_grantees_until_revoked_and_refuses_unknown_queues(store: ReviewStore):
    seed_queue(store, QUEUE, n=2, batch_id="b2", assignees=[])  # republished without assignees: grants stay
    assert [(r.reviewer, r.granted, r.backlog) for r in reviewer_progress(store, QUEUE)] == [
        ("reviewer1", True, 12), ("reviewer2", True, 12), ("reviewer3", True, 12),
    ]  # fmt: skip
    for name in ("reviewer1", "reviewer2", "reviewer3"):
        assert access.revoke(store, QUEUE, name)
    assert reviewer_progress(store, QUEUE) == []  # granted to nobody, and nobody worked on it
    with pytest.raises(NotFound, match="No queue 'nope'"):
        reviewer_progress(store, "nope")


def test_flagged_items_are_latest_revisions_with_flags_newest_first(store: ReviewStore):
    with store.write() as conn:  # make one item pairwise, to see both of its runs
        conn.execute(
            items.update()
            .where(items.c.item_id == item(1, AB))
            .values(kind="pairwise", run_id=None, run_a="run-a", run_b="run-b", left_run_id="run-b")
        )
    pii, broken, other = {"reason": "contains personal data (PII)"}, {"reason": "broken run"}, {"reason": "other"}
    submit(store, item(1), "reviewer1", Draft(OK, comment="Shows an email address.", flags=[pii]), now=sec(60))
    submit(store, item(1), "reviewer2", Draft(OK, comment="fine"), now=sec(70))  # no flag
    submit(store, item(2), "reviewer2", Draft(OK, flags=[broken, other]), now=sec(120))
    submit(store, item(3), "reviewer3", Draft(OK, flags=[pii]), now=sec(30))
    revise(store, item(3), "reviewer3", Draft(OK, flags=[]), now=sec(200))  # flag taken back: not listed
    submit(store, item(4), "reviewer1", Draft(OK), now=sec(10))
    revise(store, item(4), "reviewer1", Draft(OK, comment="Rude.", flags=[{"reason": "harmful content"}]), now=sec(300))
    submit(store, item(1, AB), "reviewer1", Draft(OK, comment="<b>both</b> empty", flags=[other]), now=sec(250))

    expected = [
        FlaggedSubmission(item(4), QUEUE, "reviewer1", ["harmful content"], "Rude.", sec(300), ["run-4"]),
        FlaggedSubmission(item(1, AB), AB, "reviewer1", ["other"], "<b>both</b> empty", sec(250), ["run-a", "run-b"]),
        FlaggedSubmission(item(2), QUEUE, "reviewer2", ["broken run", "other"], None, sec(120), ["run-2"]),
        FlaggedSubmission(item(1), QUEUE, "reviewer1", [pii["reason"]], "Shows an email address.", sec(60), ["run-1"]),
    ]
    assert flagged_items(store) == expected
    assert flagged_items(store, AB) == [expected[1]]
    assert flagged_items(store, "nope") == []


def test_grants_decide_my_queues_and_a_revoke_ends_holds(store: ReviewStore):
    assert [q["name"] for q in my_queues(store, "reviewer1")] == [AB, QUEUE]
    held = next_item(store, QUEUE, "reviewer1", now=sec(0))
    assert access.revoke(store, QUEUE, "reviewer1") and not access.revoke(store, QUEUE, "reviewer1")
    assert [q["name"] for q in my_queues(store, "reviewer1")] == [AB]
    assert accounts.get_user(store, "reviewer1")["queues"] == [AB]
    with pytest.raises(AccessDenied, match="not granted"):  # the next action is refused ...
        submit(store, held["item_id"], "reviewer1", Draft(OK), now=sec(10))
    assert next_item(store, QUEUE, "reviewer2", now=sec(20))["item_id"] == held["item_id"]  # ... and the hold ended
    assert access.grant(store, QUEUE, "reviewer1", by="lead") and not access.grant(store, QUEUE, "reviewer1", by="lead")
    assert [q["name"] for q in my_queues(store, "reviewer1")] == [AB, QUEUE]
    assert access.grants(store)[QUEUE] == ["reviewer1", "reviewer2", "reviewer3"]
    with pytest.raises(NotFound, match="No user 'nobody'"):
        access.grant(store, QUEUE, "nobody", by="lead")
    with pytest.raises(ConfigError, match="no grant is needed"):
        access.grant(store, QUEUE, "lead", by="lead")
    with pytest.raises(ConfigError, match="not a queue name"):
        access.grant(store, "../x", "reviewer1", by="lead")


def test_a_paused_queue_hands_out_nothing_but_keeps_answers_to_held_items(store: ReviewStore):
    held = next_item(store, QUEUE, "reviewer1", now=sec(0))
    access.set_paused(store, QUEUE, True, by="lead", now=sec(5))
    assert [q["paused"] for q in my_queues(store, "reviewer1")] == [False, True]  # AB, QUEUE
    for who in ("reviewer2", "lead"):
        with pytest.raises(ReviewConflict, match="paused by lead"):
            next_item(store, QUEUE, who, now=sec(10))
    result, following = submit_and_next(store, held["item_id"], "reviewer1", Draft(OK), now=sec(10))
    assert not result.duplicate and following is None  # stored; nothing new handed out
    access.set_paused(store, QUEUE, False, by="lead")
    assert next_item(store, QUEUE, "reviewer2", now=sec(20)) is not None
    with pytest.raises(NotFound):
        access.set_paused(store, "nope", True, by="lead")
