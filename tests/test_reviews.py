"""Reviewing: next item, reservations, submissions and revisions, access, progress, and a race of processes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from publish_support import demo_warehouse, insert_single_batch, load_queue
from review_support import (
    PASSWORD,
    T0,
    check_race,
    dialect_store,
    race_in_processes,
    race_in_threads,
    reset_postgres,
    review_in_process,
    seed_queue,
    store_with_reviewers,
)
from sqlalchemy import event, func, inspect, select, text

from reviewdesk.errors import AccessDenied, NotFound, ReviewConflict
from reviewdesk.review import access, accounts
from reviewdesk.review.drafts import Draft, missing_answers
from reviewdesk.review.oversight import progress
from reviewdesk.review.publication import publish
from reviewdesk.review.reservations import next_item, release
from reviewdesk.review.submissions import item_submissions, revise, submit, submit_and_next
from reviewdesk.review.suggestions import suggestion_shown
from reviewdesk.stores.review_migrations import MIGRATIONS
from reviewdesk.stores.review_schema import items, submissions
from reviewdesk.stores.reviewstore import ReviewStore

QUEUE = "support-quality"


@pytest.fixture
def store(tmp_path: Path):
    with store_with_reviewers(tmp_path) as s:
        yield s


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path):
    """`store` on each dialect: access is checked by statements that differ between them."""
    with dialect_store(request.param, tmp_path, lambda: request.getfixturevalue("postgres_url")) as s:
        for name in ("reviewer1", "reviewer2", "reviewer3"):
            accounts.add_user(s, name, "reviewer", PASSWORD)
        yield s


def review_all(store: ReviewStore, reviewer: str, queue: str = QUEUE, now=T0) -> list[str]:
    """Take and submit items until none is left for `reviewer`; the ids in the order received."""
    got = []
    while (item := next_item(store, queue, reviewer, now=now)) is not None:
        got.append(item["item_id"])
        assert not submit(store, item["item_id"], reviewer, Draft({"correctness": "correct"}), now=now).duplicate
    return got


def test_schema_has_review_tables_constraints_and_indexes(store: ReviewStore):
    insp = inspect(store.engine)
    assert {"users", "sessions", "reservations", "submissions"} <= set(insp.get_table_names())
    assert insp.get_pk_constraint("reservations")["constrained_columns"] == ["item_id", "reviewer"]
    uniques = [u["column_names"] for u in insp.get_unique_constraints("submissions")]
    assert ["item_id", "reviewer", "revision"] in uniques
    assert {"priority", "reviews_done"} <= {c["name"] for c in insp.get_columns("items")}
    seed_queue(store, n=3, priorities={2: 1.0})
    seen = []
    listen = lambda conn, cursor, statement, params, context, many: seen.append((statement, params))  # noqa: E731
    event.listen(store.engine, "before_cursor_execute", listen)
    assert next_item(store, QUEUE, "reviewer1")["item_id"].endswith("0002")
    event.remove(store.engine, "before_cursor_execute", listen)
    [(candidate, params)] = [(s, p) for s, p in seen if "reviews_done <" in s]
    with store.read() as conn:
        plan = " ".join(r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {candidate}", params))
    # walks the partial index of items still needing reviews (finished ones are not in it), no sort
    assert "ix_items_open_order" in plan and "TEMP B-TREE" not in plan


def test_m002_and_m003_upgrade_a_store_made_before_them(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'review.sqlite'}"
    with ReviewStore(url) as store, store.write() as conn:  # roll the file back to its m001 shape
        for table in ("sessions", "submissions", "reservations", "users"):
            conn.execute(text(f"DROP TABLE {table}"))
        conn.execute(text("DROP INDEX ix_items_open_order"))  # m007's (it replaced m002's ix_items_review_order)
        conn.execute(text("DROP INDEX ix_items_batch_progress"))  # m013's, on m002's reviews_done
        conn.execute(text("DROP INDEX ix_items_queue_progress"))
        conn.execute(text("ALTER TABLE items DROP COLUMN priority"))
        conn.execute(text("ALTER TABLE items DROP COLUMN reviews_done"))
        conn.execute(text("ALTER TABLE items DROP COLUMN suggestions"))
        conn.execute(
            text(
                "DELETE FROM migrations WHERE name IN ('m002_users_reservations_submissions', "
                "'m003_item_suggestions', 'm007_open_items_index', 'm013_progress_indexes')"
            )
        )
    with ReviewStore(url) as store:
        assert sorted(store.applied()) == sorted(MIGRATIONS)  # m005 stayed applied, so the order differs
        seed_queue(store, n=2)  # assignees reviewer1..3: granted as it is first published
        accounts.add_user(store, "reviewer1", "reviewer", PASSWORD)
        assert next_item(store, QUEUE, "reviewer1", now=T0)["item_id"] == "support-quality-b1-0001"


def test_next_item_skips_items_already_reviewed_and_respects_reviewers_needed(store: ReviewStore):
    seed_queue(store, n=3, reviewers_needed=2)
    ids = ["support-quality-b1-0001", "support-quality-b1-0002", "support-quality-b1-0003"]
    assert review_all(store, "reviewer1") == ids
    assert review_all(store, "reviewer2") == ids
    assert review_all(store, "reviewer3") == []  # every item has its two reviews
    with store.read() as conn:
        per_item = dict(conn.execute(select(submissions.c.item_id, func.count()).group_by(submissions.c.item_id)).all())
    assert per_item == dict.fromkeys(ids, 2)
    assert progress(store, QUEUE, "reviewer3").as_dict() == {
        "items": 3, "needed": 6, "done": 6, "complete": 3, "done_by_me": 0, "left_for_me": 0,
    }  # fmt: skip


def test_reservations_hold_capacity_and_expire(store: ReviewStore):
    seed_queue(store, n=2, reviewers_needed=1)  # reservation_minutes: 30
    first = next_item(store, QUEUE, "reviewer1", now=T0)
    assert first["item_id"].endswith("0001") and first["reserved_until"] == T0 + timedelta(minutes=30)
    again = next_item(store, QUEUE, "reviewer1", now=T0 + timedelta(minutes=5))  # a reload: same item, renewed
    assert again["item_id"] == first["item_id"] and again["reserved_until"] == T0 + timedelta(minutes=35)
    assert next_item(store, QUEUE, "reviewer2", now=T0)["item_id"].endswith("0002")
    assert next_item(store, QUEUE, "reviewer3", now=T0) is None  # both held
    late = T0 + timedelta(minutes=36)  # reviewer1's hold has expired
    assert next_item(store, QUEUE, "reviewer3", now=late)["item_id"] == first["item_id"]
    with pytest.raises(ReviewConflict, match="already has enough reviews"):
        submit(store, first["item_id"], "reviewer1", Draft({"correctness": "correct"}), now=late)
    assert not submit(store, first["item_id"], "reviewer3", Draft({"correctness": "correct"}), now=late).duplicate


def test_submitting_without_a_reservation_needs_room(store: ReviewStore):
    seed_queue(store, n=1, reviewers_needed=1)
    item_id = "support-quality-b1-0001"
    assert submit(store, item_id, "reviewer1", Draft({"correctness": "correct"}), now=T0).revision == 1
    with pytest.raises(ReviewConflict, match="already has enough reviews"):
        submit(store, item_id, "reviewer2", Draft({"correctness": "wrong"}), now=T0)
    with pytest.raises(NotFound, match="No item 'nope'"):
        submit(store, "nope", "reviewer1", Draft({"correctness": "correct"}))
    with pytest.raises(NotFound, match="No queue 'nope'"):
        next_item(store, "nope", "reviewer1")


def test_priority_orders_items_higher_first_then_position(store: ReviewStore):
    seed_queue(store, n=6, reviewers_needed=1, priorities={5: 2.0, 3: 0.5, 2: -1.0})
    order = [i[-1] for i in review_all(store, "reviewer1")]
    assert order == ["5", "3", "1", "4", "6", "2"]


def test_gold_items_are_served_without_their_answer(store: ReviewStore):
    seed_queue(store, n=4, reviewers_needed=1, gold=2)
    served = []
    while (item := next_item(store, QUEUE, "reviewer1", now=T0)) is not None:
        served.append(item)
        submit(store, item["item_id"], "reviewer1", Draft({"correctness": "correct"}), now=T0)
    assert len(served) == 4  # gold items are interleaved like any other
    for item in served:
        assert "gold_answer" not in item and "is_gold" not in item
        assert "correct" not in repr(item)


def test_double_submit_stores_one_submission_and_says_so(store: ReviewStore):
    seed_queue(store, n=2, reviewers_needed=2)
    item = next_item(store, QUEUE, "reviewer1", now=T0)
    flags = [{"reason": "pii"}]
    shown = T0 + timedelta(seconds=1)
    draft = Draft({"correctness": "correct", "helpfulness": 4}, comment="fine", correction="Better: ...", flags=flags,
                  suggestion_shown=True, shown_at=shown)  # fmt: skip
    first = submit(store, item["item_id"], "reviewer1", draft, now=T0 + timedelta(minutes=2))
    second = submit(store, item["item_id"], "reviewer1", Draft({"correctness": "wrong"}), now=T0 + timedelta(minutes=2))
    assert not first.duplicate and second.duplicate
    assert (second.submission_id, second.revision) == (first.submission_id, 1)
    [row] = item_submissions(store, item["item_id"])
    assert row["answers"] == {"correctness": "correct", "helpfulness": 4}
    assert (row["comment"], row["correction"], row["flags"]) == ("fine", "Better: ...", flags)
    assert row["suggestion_shown"] is True and row["rubric_version"] == load_queue(QUEUE).rubric_version
    assert (row["shown_at"], row["submitted_at"]) == (shown, T0 + timedelta(minutes=2))
    with store.read() as conn:
        assert conn.scalar(select(items.c.reviews_done).where(items.c.item_id == item["item_id"])) == 1


def test_shown_at_defaults_to_the_reservation_time(store: ReviewStore):
    seed_queue(store, n=1)
    item = next_item(store, QUEUE, "reviewer1", now=T0)
    submit(store, item["item_id"], "reviewer1", Draft({"correctness": "correct"}), now=T0 + timedelta(minutes=3))
    assert item_submissions(store, item["item_id"])[0]["shown_at"] == T0


def test_revision_adds_a_row_and_keeps_the_previous(store: ReviewStore):
    seed_queue(store, n=1)
    item_id = "support-quality-b1-0001"
    with pytest.raises(NotFound, match="submit it first"):
        revise(store, item_id, "reviewer1", Draft({"correctness": "wrong"}))
    submit(store, item_id, "reviewer1", Draft({"correctness": "correct"}, suggestion_shown=True), now=T0)
    edit = revise(store, item_id, "reviewer1", Draft({"correctness": "wrong"}, comment="misread it"), now=T0)
    assert (edit.revision, edit.duplicate) == (2, False)
    again = revise(store, item_id, "reviewer1", Draft({"correctness": "wrong"}, comment="misread it"), now=T0)
    assert again == edit.__class__(edit.submission_id, 2, True)  # a double click adds nothing
    rows = item_submissions(store, item_id, "reviewer1")
    assert [(r["revision"], r["answers"]["correctness"]) for r in rows] == [(1, "correct"), (2, "wrong")]
    assert rows[1]["suggestion_shown"] is True  # carried over
    assert progress(store, QUEUE, "reviewer1").done_by_me == 1  # a revision is not another review


def test_skip_releases_the_reservation(store: ReviewStore):
    seed_queue(store, n=2, reviewers_needed=1)
    held = next_item(store, QUEUE, "reviewer1", now=T0)
    assert next_item(store, QUEUE, "reviewer2", now=T0)["item_id"] != held["item_id"]
    assert release(store, held["item_id"], "reviewer1") is True
    assert release(store, held["item_id"], "reviewer1") is False
    assert next_item(store, QUEUE, "reviewer3", now=T0)["item_id"] == held["item_id"]


def test_store_enforces_grants_and_roles(any_store: ReviewStore):
    store = any_store
    seed_queue(store, n=3)  # assignees: reviewer1..3, granted as the queue is first published
    accounts.add_user(store, "zed", "reviewer", PASSWORD)  # granted nothing
    accounts.add_user(store, "limited", "reviewer", PASSWORD, queues=["support-ab"])  # before its first batch
    accounts.add_user(store, "lead1", "lead", PASSWORD)
    item_id = "support-quality-b1-0001"
    for who in ("zed", "limited", "ghost"):
        with pytest.raises(AccessDenied):
            next_item(store, QUEUE, who)
        with pytest.raises(AccessDenied):
            submit(store, item_id, who, Draft({"correctness": "correct"}))
    with pytest.raises(AccessDenied, match="not granted to 'zed'"):  # checked with the item's queue
        submit_and_next(store, item_id, "zed", Draft({"correctness": "correct"}))
    with pytest.raises(AccessDenied, match="No user 'ghost'"):
        submit_and_next(store, item_id, "ghost", Draft({"correctness": "correct"}))
    assert next_item(store, QUEUE, "lead1") is not None  # leads and admins review any queue
    accounts.disable_user(store, "reviewer1")
    with pytest.raises(AccessDenied, match="disabled"):
        next_item(store, QUEUE, "reviewer1")
    with pytest.raises(AccessDenied, match="disabled"):
        submit(store, item_id, "reviewer1", Draft({"correctness": "correct"}))
    held = next_item(store, QUEUE, "lead1")["item_id"]
    assert submit_and_next(store, held, "lead1", Draft({"correctness": "correct"}))[0].duplicate is False

    seed_queue(store, name="support-ab", n=2, assignees=[])  # a file naming nobody grants it to nobody
    assert next_item(store, "support-ab", "limited") is not None  # granted before the first batch
    with pytest.raises(AccessDenied, match="not granted to 'zed'"):
        next_item(store, "support-ab", "zed")
    access.grant(store, "support-ab", "zed", by="lead1")  # the app, or `reviewdesk users grant`
    assert next_item(store, "support-ab", "zed") is not None


def test_progress_counts_for_the_queue_and_the_reviewer(store: ReviewStore):
    seed_queue(store, n=4, reviewers_needed=2)
    for _ in range(3):
        item = next_item(store, QUEUE, "reviewer1", now=T0)
        submit(store, item["item_id"], "reviewer1", Draft({}), now=T0)
    item = next_item(store, QUEUE, "reviewer2", now=T0)
    submit(store, item["item_id"], "reviewer2", Draft({}), now=T0)
    assert progress(store, QUEUE).as_dict() == {
        "items": 4, "needed": 8, "done": 4, "complete": 1, "done_by_me": None, "left_for_me": None,
    }  # fmt: skip
    mine = progress(store, QUEUE, "reviewer1")
    assert (mine.done_by_me, mine.left_for_me) == (3, 1)


def test_suggestion_policies():
    ids = [f"item-{i}" for i in range(400)]
    show, hide = load_queue(QUEUE, suggestions="show"), load_queue(QUEUE, suggestions="hide")
    assert all(suggestion_shown(show, i, "r") for i in ids)
    assert not any(suggestion_shown(hide, i, "r") for i in ids)
    after = load_queue(QUEUE, suggestions="after_answer")
    assert not suggestion_shown(after, "item-1", "r") and suggestion_shown(after, "item-1", "r", answered=True)
    randomized = load_queue(QUEUE, suggestions="randomized")
    shown = [suggestion_shown(randomized, i, "r1") for i in ids]
    assert 150 < sum(shown) < 250  # about half
    assert shown == [suggestion_shown({"suggestions": "randomized"}, i, "r2") for i in ids]  # fixed per item


def test_published_batch_is_reviewed_end_to_end(tmp_path: Path, store: ReviewStore):
    queue = load_queue(QUEUE)
    with demo_warehouse(tmp_path, runs=120) as wh:
        insert_single_batch(wh, queue, "b-pub", n=6, gold=2)
        publish(wh, store, queue, "b-pub")
    first = next_item(store, QUEUE, "reviewer1")
    assert first["item_id"] == "b-pub-0001" and first["payload"]["runs"][first["run_id"]]["outputs"]
    assert "gold_answer" not in first
    assert submit(store, first["item_id"], "reviewer1", Draft({"correctness": "correct"})).revision == 1
    assert progress(store, QUEUE, "reviewer1").as_dict() == {
        "items": 6, "needed": 12, "done": 1, "complete": 0, "done_by_me": 1, "left_for_me": 5,
    }  # fmt: skip


def test_racing_processes_never_overfill_an_item(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'review.sqlite'}"
    with ReviewStore(url) as store:
        seed_queue(store, n=12, reviewers_needed=3, assignees=[])
    outcomes = race_in_processes(url, QUEUE, review_in_process)
    errors = [o[1] for o in outcomes if o[0] != "ok"]
    assert errors == [], errors
    assert not any("locked" in msg for o in outcomes for msg in o[2])
    with ReviewStore(url) as store:
        check_race(store, needed=3)
        assert progress(store, QUEUE).complete == 12  # and every slot was filled
    assert all(not dup for o in outcomes for item_id, dup in o[1] if item_id != "direct")


def test_postgres_race_for_the_last_slot(postgres_url: str):
    with ReviewStore(postgres_url) as store:
        reset_postgres(store)
        seed_queue(store, n=5, reviewers_needed=2, assignees=[])
        assert race_in_threads(store, lambda reviewer: review_all(store, reviewer, now=None)) == []
        check_race(store, needed=2)
        assert progress(store, QUEUE).complete == 5


def test_missing_answers_names_required_criteria_left_empty() -> None:
    criteria = [
        {"key": "correctness", "required": True}, {"key": "helpfulness", "required": True},
        {"key": "notes", "required": False}, {"key": "safe", "required": True},
    ]  # fmt: skip
    assert missing_answers(criteria, {"correctness": "correct", "helpfulness": None, "safe": False}) == ["helpfulness"]
    assert missing_answers(criteria, {"correctness": "", "helpfulness": 3, "safe": True}) == ["correctness"]
    assert missing_answers(criteria, {"correctness": "x", "helpfulness": 0, "safe": False}) == []
