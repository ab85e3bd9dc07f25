"""Qualification: training on gold items before live items, held retries, monitoring pauses and a lead's
actions, enforced by the store for every client (SQLite and PostgreSQL); training answers never become
submissions, labels or consensus."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from review_support import PASSWORD, T0, dialect_store, seed_queue
from sqlalchemy import event, func, select

from reviewdesk.errors import AccessDenied, ConfigError
from reviewdesk.review import accounts
from reviewdesk.review.drafts import Draft
from reviewdesk.review.monitoring import live_gold_accuracy
from reviewdesk.review.qualification import (
    NotQualified,
    lead_notices,
    mark_seen,
    pause,
    qualify,
    reviewer_history,
    send_back,
    standing,
    standings,
)
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import submit, submit_and_next
from reviewdesk.review.training import answer_training, training_attempts
from reviewdesk.stores.review_schema import items, reservations, submissions, training_answers
from reviewdesk.stores.reviewstore import ReviewStore

QUEUE = "support-quality"
TRAINING = {"items": 4, "pass_accuracy": 0.75, "feedback": "immediate", "retry_after_hours": 24}
MONITORING = {"window": 3, "min_accuracy": 0.6}
GOLD = 6  # items 1..6 of 12 are gold, their known answer {"correctness": "correct"}
RIGHT, WRONG = {"correctness": "correct", "helpfulness": 3}, {"correctness": "incorrect", "helpfulness": 3}


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReviewStore]:
    """reviewer1-3 and lead; support-quality with 12 items (6 gold), training and monitoring."""
    with dialect_store(request.param, tmp_path, lambda: request.getfixturevalue("postgres_url")) as s:
        for name in ("reviewer1", "reviewer2", "reviewer3"):
            accounts.add_user(s, name, "reviewer", PASSWORD)
        accounts.add_user(s, "lead", "lead", PASSWORD)
        seed_queue(s, n=12, gold=GOLD, training=TRAINING, monitoring=MONITORING)
        with s.write() as conn:  # an explanation travels in the gold answer's `explanation` key
            known = {"correctness": "correct", "explanation": "Every fact is right."}
            conn.execute(items.update().where(items.c.is_gold.is_(True)).values(gold_answer=known))
        yield s


def gold_ids() -> list[str]:
    return [f"{QUEUE}-b1-{pos:04d}" for pos in range(1, GOLD + 1)]


def train(store: ReviewStore, reviewer: str, answers: list[dict], now=T0) -> list:
    """Answer training items with `answers` in turn; the feedback of each."""
    out = []
    for a in answers:
        item = next_item(store, QUEUE, reviewer, now=now)
        assert item["training"] is True
        out.append(answer_training(store, item["item_id"], reviewer, a, now=now))
    return out


def count(store: ReviewStore, table) -> int:
    with store.read() as conn:
        return conn.scalar(select(func.count()).select_from(table))


def test_a_new_reviewer_gets_training_items_and_every_live_answer_is_refused(store: ReviewStore):
    item = next_item(store, QUEUE, "reviewer1", now=T0)
    assert item["training"] is True and (item["training_position"], item["training_items"]) == (1, 4)
    assert item["item_id"] in gold_ids() and "gold_answer" not in item and "is_gold" not in item
    assert standing(store, QUEUE, "reviewer1").state == "training"
    live = f"{QUEUE}-b1-0010"
    for send in (submit, submit_and_next):  # whatever the client: the store refuses, live or training item
        for target in (live, item["item_id"]):
            with pytest.raises(NotQualified, match="needs its training first"):
                send(store, target, "reviewer1", Draft(RIGHT), now=T0)
    assert count(store, submissions) == 0 and count(store, reservations) == 0
    with store.read() as conn:
        assert conn.scalar(select(func.sum(items.c.reviews_done))) == 0


def test_passing_qualifies_with_feedback_after_each_answer_and_live_items_skip_trained_gold(store: ReviewStore):
    feedback = train(store, "reviewer1", [RIGHT, WRONG, RIGHT, RIGHT])
    assert [f.position for f in feedback] == [1, 2, 3, 4] and [f.total for f in feedback] == [4] * 4
    assert [f.marks for f in feedback] == [{"correctness": True}, {"correctness": False}, *[{"correctness": True}] * 2]
    assert all(f.right_answers == {"correctness": "correct"} and f.explanation == "Every fact is right."
               for f in feedback)  # fmt: skip
    assert [f.finished for f in feedback] == [False, False, False, True]
    assert (feedback[-1].passed, feedback[-1].accuracy, feedback[-1].state) == (True, 0.75, "qualified")  # 3 of 4
    trained = {f.item_id for f in feedback}
    assert len(trained) == 4 and count(store, training_answers) == 4 and count(store, submissions) == 0
    seen = []
    while (item := next_item(store, QUEUE, "reviewer1", now=T0)) is not None:
        assert "training" not in item
        seen.append(item["item_id"])
        submit(store, item["item_id"], "reviewer1", Draft(RIGHT), now=T0)
    assert len(seen) == 12 - 4 and not trained & set(seen)  # they saw the answers of those four
    again = answer_training(store, feedback[0].item_id, "reviewer1", WRONG, now=T0)  # a double click
    assert again.marks == {"correctness": True} and count(store, training_answers) == 4
    [attempt] = training_attempts(store, QUEUE, "reviewer1")
    assert (attempt["answered"], attempt["graded"], attempt["correct"], attempt["accuracy"]) == (4, 4, 3, 0.75)


def test_failing_holds_until_retry_after_hours_then_a_new_attempt_prefers_unseen_gold(store: ReviewStore):
    first = train(store, "reviewer2", [RIGHT, WRONG, WRONG, RIGHT])  # 2 of 4 = 0.5 < 0.75
    assert (first[-1].passed, first[-1].accuracy, first[-1].state) == (False, 0.5, "held")
    assert first[-1].retry_at == T0 + timedelta(hours=24)
    [failed] = lead_notices(store)  # a lead may want to help, or qualify by hand
    assert (failed.reviewer, failed.event, failed.reason) == (
        "reviewer2", "failed", "failed training: 2 of 4 answers right (50%; 75% needed)")
    with pytest.raises(NotQualified, match="try again from") as held:
        next_item(store, QUEUE, "reviewer2", now=T0 + timedelta(hours=23, minutes=59))
    assert (held.value.state, held.value.retry_at) == ("held", T0 + timedelta(hours=24))
    with pytest.raises(NotQualified):
        submit(store, f"{QUEUE}-b1-0010", "reviewer2", Draft(RIGHT), now=T0 + timedelta(hours=1))
    later = T0 + timedelta(hours=24)
    retry = next_item(store, QUEUE, "reviewer2", now=later)
    assert (retry["attempt"], retry["training_position"], retry["state"]) == (2, 1, "retraining")
    second = train(store, "reviewer2", [RIGHT] * 4, now=later)
    unseen = set(gold_ids()) - {f.item_id for f in first}
    assert {f.item_id for f in second[:2]} == unseen  # the two gold items the first attempt did not use, first
    assert second[-1].state == "qualified"
    assert next_item(store, QUEUE, "reviewer2", now=later)["item_id"] not in gold_ids()
    events = [(e.event, e.state, e.by) for e in reversed(reviewer_history(store, QUEUE, "reviewer2"))]
    assert events == [("training_started", "training", "training"), ("failed", "held", "training"),
                      ("retraining_started", "retraining", "training"),
                      ("passed", "qualified", "training")]  # fmt: skip


def test_monitoring_sends_back_to_training_under_min_accuracy_over_a_full_window(store: ReviewStore):
    for name in ("reviewer1", "reviewer2"):
        qualify(store, QUEUE, name, "lead", "known reviewer", now=T0)

    def answer_gold(reviewer: str, right: list[bool]) -> None:  # the gold items come first (position order)
        for ok in right:
            item = next_item(store, QUEUE, reviewer, now=T0)
            assert item["item_id"] in gold_ids()
            submit(store, item["item_id"], reviewer, Draft(RIGHT if ok else WRONG), now=T0)

    answer_gold("reviewer1", [True, False])  # 1 of 2: the window (3) is not full, nobody is judged
    assert standing(store, QUEUE, "reviewer1").state == "qualified"
    assert live_gold_accuracy(store, QUEUE, "reviewer1")["accuracy"] == 0.5
    answer_gold("reviewer2", [True, True, False])  # 2 of 3 = 0.67 >= 0.6: stays
    assert standing(store, QUEUE, "reviewer2").state == "qualified"
    held = next_item(store, QUEUE, "reviewer1", now=T0)  # the third gold item, held when the pause comes
    result, following = submit_and_next(store, held["item_id"], "reviewer1", Draft(WRONG), now=T0)  # 1 of 3 = 0.33
    assert not result.duplicate and following is None
    now = standing(store, QUEUE, "reviewer1")
    assert (now.state, now.attempt, now.changed_by) == ("retraining", 1, "monitoring")
    assert "gold accuracy 33% (1 of 3 answers) over the last 3 gold items, under 60%" in now.reason
    [notice] = lead_notices(store)
    assert (notice.reviewer, notice.event, notice.detail["accuracy"]) == ("reviewer1", "paused_by_monitoring", 1 / 3)
    item = next_item(store, QUEUE, "reviewer1", now=T0)  # paused on their next item: back to training
    assert item["training"] is True and "gold accuracy 33%" in item["state_reason"]
    with pytest.raises(NotQualified):
        submit(store, f"{QUEUE}-b1-0011", "reviewer1", Draft(RIGHT), now=T0)
    assert mark_seen(store, notice.event_id, "lead") and not mark_seen(store, notice.event_id, "lead")
    assert lead_notices(store) == []


def test_a_lead_pauses_qualifies_and_sends_back_with_reasons_all_recorded(store: ReviewStore):
    qualify(store, QUEUE, "reviewer3", "lead", "trained elsewhere", now=T0)
    held = next_item(store, QUEUE, "reviewer3", now=T0)
    pause(store, QUEUE, "reviewer3", "lead", "rushing through items", now=T0)
    with store.read() as conn:  # the pause ended their hold: the item goes to others
        mine = select(func.count()).select_from(reservations).where(reservations.c.reviewer == "reviewer3")
        assert conn.scalar(mine) == 0
    with pytest.raises(NotQualified, match="lead paused your reviewing in support-quality: rushing through items"):
        next_item(store, QUEUE, "reviewer3", now=T0)
    with pytest.raises(NotQualified):
        submit(store, held["item_id"], "reviewer3", Draft(RIGHT), now=T0)
    send_back(store, QUEUE, "reviewer3", "lead", "talked it through; train again", now=T0)
    item = next_item(store, QUEUE, "reviewer3", now=T0)
    assert item["training"] is True and item["attempt"] == 1  # sent back from a lead's qualification (attempt 0)
    with pytest.raises(ConfigError, match="Say why"):
        qualify(store, QUEUE, "reviewer3", "lead", "  ")
    with pytest.raises(AccessDenied, match="Only an active lead or admin may qualify"):
        qualify(store, QUEUE, "reviewer3", "reviewer1", "I say so")
    with pytest.raises(ConfigError, match="need no qualification"):
        qualify(store, QUEUE, "lead", "lead", "me")
    history = [(e.event, e.by, e.reason) for e in reversed(reviewer_history(store, QUEUE, "reviewer3"))]
    assert history == [("qualified_by_lead", "lead", "trained elsewhere"),
                       ("paused_by_lead", "lead", "rushing through items"),
                       ("sent_back_by_lead", "lead", "talked it through; train again")]  # fmt: skip
    assert {s.reviewer: s.state for s in standings(store, QUEUE)} == {
        "reviewer1": "new", "reviewer2": "new", "reviewer3": "retraining"}  # fmt: skip


def test_leads_need_no_training_and_queues_without_it_never_look(store: ReviewStore, tmp_path: Path):
    assert "training" not in next_item(store, QUEUE, "lead", now=T0)  # leads and admins review without it
    seed_queue(store, name="support-ab", n=2)  # no training block: as before
    seen: list[str] = []
    listen = lambda conn, cursor, statement, *rest: seen.append(statement)  # noqa: E731
    event.listen(store.engine, "before_cursor_execute", listen)
    item = next_item(store, "support-ab", "reviewer1", now=T0)
    submit(store, item["item_id"], "reviewer1", Draft({"preference": "tie"}), now=T0)
    event.remove(store.engine, "before_cursor_execute", listen)
    assert "training" not in item and not [s for s in seen if "reviewer_states" in s or "training_answers" in s]
