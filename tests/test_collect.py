"""Collect: submissions validated against their rubric version, loaded once, atomically, with reasons."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from review_support import T0, add_reviewers, reset_postgres, seed_queue
from sqlalchemy import select, text

from reviewdesk.labels import collection as collect_module
from reviewdesk.labels.collection import collect, validate, watermark
from reviewdesk.review import accounts
from reviewdesk.review.drafts import Draft
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import revise, submit
from reviewdesk.stores.review_schema import submissions
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse

RUBRIC = {
    "criteria": [
        {"key": "correctness", "type": "categorical", "options": ["correct", "incorrect"], "required": True},
        {"key": "helpfulness", "type": "ordinal", "options": [1, 2, 3, 4, 5], "required": True},
        {"key": "score", "type": "numeric", "min": 0, "max": 1, "required": False},
        {"key": "ok", "type": "boolean", "required": False},
        {"key": "notes", "type": "text", "required": False},
    ]
}


def row(sid: int, answers, run_a=None, run_b=None) -> dict:
    return {"submission_id": sid, "answers": answers, "run_a": run_a, "run_b": run_b, "rubric_version": "v1"}


def test_validate_gives_every_reason_of_every_bad_submission():
    rows = [
        row(1, {"correctness": "correct", "helpfulness": 4, "score": 0.5, "ok": True, "notes": "fine"}),
        row(2, {"correctness": "maybe", "helpfulness": "4", "score": 3, "ok": "yes", "notes": 5}),
        row(3, {"notes": None}),
        row(4, {"correctness": "correct", "helpfulness": 1, "tone": "rude"}),
        row(5, ["correct"]),
        row(6, {"correctness": "correct", "helpfulness": True}),  # a boolean is not the option 1
    ]
    assert validate(rows, RUBRIC, "single") == {
        2: [
            "correctness: 'maybe' must be one of correct, incorrect",
            "helpfulness: '4' must be one of 1, 2, 3, 4, 5",
            "score: 3 must be between 0 and 1",
            "ok: 'yes' must be true or false",
            "notes: 5 must be text",
        ],
        3: ["correctness: required, but not answered", "helpfulness: required, but not answered"],
        4: ["tone: not a criterion of rubric v1"],
        5: ["answers must be an object of criterion: value"],
        6: ["helpfulness: True must be text or a number"],
    }


def test_pairwise_preference_must_name_one_of_the_items_runs():
    ok = {"correctness": "correct", "helpfulness": 3}
    rows = [
        row(1, {**ok, "preference": "run-a"}, "run-a", "run-b"),
        row(2, {**ok, "preference": "tie"}, "run-a", "run-b"),
        row(3, {**ok, "preference": "A better"}, "run-a", "run-b"),  # a screen side, not a run
        row(4, ok, "run-a", "run-b"),
    ]
    assert validate(rows, RUBRIC, "pairwise") == {
        3: ["preference must name one of the item's two runs, or tie"],
        4: ["preference: required, but not answered"],
    }


@pytest.fixture
def stores(tmp_path: Path):
    with ReviewStore(f"sqlite:///{tmp_path / 'review.sqlite'}") as store, Warehouse(tmp_path / "wh.duckdb") as wh:
        for name in ("reviewer1", "reviewer2"):
            accounts.add_user(store, name, "reviewer", "correct horse battery")
        seed_queue(store, n=4, reviewers_needed=2)  # assignees reviewer1..3: granted at first publish
        yield store, wh


def review(store: ReviewStore, reviewer: str, answers: dict, **extra) -> str:
    item = next_item(store, "support-quality", reviewer, now=T0)
    submit(store, item["item_id"], reviewer, Draft(answers, **extra), now=T0)
    return item["item_id"]


def test_collect_loads_labels_keeps_rejections_and_loads_nothing_twice(stores):
    store, wh = stores
    a = review(store, "reviewer1", {"correctness": "correct", "helpfulness": 4, "notes": "ok"}, comment="c1")
    review(store, "reviewer2", {"correctness": "correct", "helpfulness": 2})
    review(store, "reviewer1", {"correctness": "wrong", "helpfulness": 9})
    result = collect(store, wh, now=T0 + timedelta(minutes=1))
    assert result.as_dict() == {"read": 3, "loaded": 2, "rejected": 1, "labels": 5, "watermark": 3, "flag_only": 0}
    assert wh.execute(
        "SELECT reviewer, criterion, value, value_num FROM labels WHERE item_id = ? ORDER BY ALL", [a]
    ) == [
        ("reviewer1", "correctness", "correct", None),
        ("reviewer1", "helpfulness", "4", 4.0),
        ("reviewer1", "notes", "ok", None),
        ("reviewer2", "correctness", "correct", None),
        ("reviewer2", "helpfulness", "2", 2.0),
    ]
    [(reasons,)] = wh.execute("SELECT reasons FROM rejected_submissions")
    assert reasons == ["correctness: 'wrong' must be one of correct, partially_correct, incorrect",
                       "helpfulness: 9 must be one of 1, 2, 3, 4, 5"]  # fmt: skip
    assert wh.scalar("SELECT comment FROM submissions WHERE item_id = ? AND reviewer = 'reviewer1'", [a]) == "c1"
    again = collect(store, wh, now=T0 + timedelta(minutes=2))
    assert again.as_dict() == {"read": 0, "loaded": 0, "rejected": 0, "labels": 0, "watermark": 3, "flag_only": 0}
    assert wh.scalar("SELECT count(*) FROM labels") == 5


def test_a_new_revision_replaces_the_reviewers_labels_of_the_item(stores):
    store, wh = stores
    a = review(store, "reviewer1", {"correctness": "correct", "helpfulness": 4, "notes": "first"})
    collect(store, wh, now=T0 + timedelta(minutes=1))
    revise(store, a, "reviewer1", Draft({"correctness": "incorrect", "helpfulness": 2}), now=T0 + timedelta(minutes=2))
    revise(store, a, "reviewer1", Draft({"correctness": "bad", "helpfulness": 2}), now=T0 + timedelta(minutes=3))
    result = collect(store, wh, now=T0 + timedelta(minutes=4))
    assert (result.loaded, result.rejected) == (1, 1)  # the invalid third revision leaves the second in force
    assert wh.execute("SELECT criterion, value, revision FROM labels ORDER BY criterion") == [
        ("correctness", "incorrect", 2), ("helpfulness", "2", 2),
    ]  # fmt: skip


def test_a_crash_midway_loses_nothing_and_duplicates_nothing(stores, monkeypatch):
    store, wh = stores
    for reviewer in ("reviewer1", "reviewer2"):
        for _ in range(4):
            review(store, reviewer, {"correctness": "correct", "helpfulness": 3})
    real_load = collect_module._load
    calls = []

    def crash_on_second_chunk(*args):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_load(*args)

    monkeypatch.setattr(collect_module, "_load", crash_on_second_chunk)
    with pytest.raises(OSError):
        collect(store, wh, now=T0 + timedelta(minutes=1), chunk=3)
    assert watermark(wh) == 3 and wh.scalar("SELECT count(*) FROM submissions") == 3  # the first chunk only
    monkeypatch.setattr(collect_module, "_load", real_load)
    result = collect(store, wh, now=T0 + timedelta(minutes=1), chunk=3)
    assert (result.read, result.watermark) == (5, 8)
    assert wh.scalar("SELECT count(*) FROM submissions") == 8
    assert wh.scalar("SELECT count(*) FROM labels") == 16
    assert wh.scalar("SELECT count(*) FROM (SELECT DISTINCT item_id, reviewer, criterion FROM labels)") == 16


def test_a_failed_transaction_leaves_the_warehouse_as_it_was(stores, monkeypatch):
    store, wh = stores
    review(store, "reviewer1", {"correctness": "correct", "helpfulness": 3})
    monkeypatch.setattr(collect_module, "LABEL_COLUMNS", [*collect_module.LABEL_COLUMNS, "no_such_column"])
    with pytest.raises(Exception, match="does not have a column with name \"no_such_column\""):
        collect(store, wh, now=T0 + timedelta(minutes=1))
    assert watermark(wh) == 0  # the submissions insert before the failing labels insert was rolled back
    assert wh.scalar("SELECT count(*) FROM submissions") == 0


def test_each_submission_is_checked_against_the_rubric_version_of_its_item(stores):
    store, wh = stores
    criteria = [{"key": "correctness", "type": "categorical", "options": ["correct", "incorrect"]}]
    new = seed_queue(store, n=1, batch_id="b2", reviewers_needed=1, promotion=None,
                     rubric={"instructions": "Only correctness now.", "criteria": criteria})  # fmt: skip
    item = next_item(store, "support-quality", "reviewer1", now=T0)
    assert item["item_id"] == "b2-0001" and item["rubric_version"] == new.rubric_version
    submit(store, "b2-0001", "reviewer1", Draft({"correctness": "incorrect"}), now=T0)  # complete under the new rubric
    review(store, "reviewer1", {"correctness": "correct"})  # a first-batch item: its rubric wants helpfulness
    result = collect(store, wh, now=T0 + timedelta(minutes=1))
    assert (result.loaded, result.rejected) == (1, 1)
    assert wh.execute("SELECT item_id, reasons FROM rejected_submissions") == [
        ("support-quality-b1-0001", ["helpfulness: required, but not answered"])
    ]



def test_postgres_stores_and_warehouses_from_before_txid_collect_on_from_their_watermark(
    postgres_url: str, tmp_path: Path
):
    answers = {"correctness": "correct", "helpfulness": 3}
    with ReviewStore(postgres_url) as store:
        reset_postgres(store)
        seed_queue(store, n=3, reviewers_needed=1)  # assignees reviewer1..3: granted at first publish
        add_reviewers(store, ["x"])
        with store.write() as conn:  # the review store as it was before m008
            conn.execute(text("ALTER TABLE submissions DROP COLUMN txid"))
            conn.execute(text("DELETE FROM migrations WHERE name = 'm008_submission_txid'"))
        old = [submit(store, f"support-quality-b1-000{i}", "x", Draft(answers)).submission_id for i in (1, 2)]
    with Warehouse(tmp_path / "wh.duckdb") as wh:  # a warehouse from before m012 that collected the first
        wh.execute("ALTER TABLE collect_state DROP COLUMN txid")
        wh.execute("DELETE FROM _migrations WHERE name = 'm012_collect_state_txid'")
        wh.execute("INSERT INTO collect_state VALUES ('review_store', ?, now())", [old[0]])
    with ReviewStore(postgres_url) as store, Warehouse(tmp_path / "wh.duckdb") as wh:  # reopened: migrated
        new = submit(store, "support-quality-b1-0003", "x", Draft(answers)).submission_id
        with store.read() as conn:
            txids = dict(conn.execute(select(submissions.c.submission_id, submissions.c.txid)).all())
        assert txids[old[0]] == txids[old[1]] == 0 and txids[new] > 0
        result = collect(store, wh)
        assert (result.read, watermark(wh)) == (2, new)
        assert [sid for (sid,) in wh.execute("SELECT submission_id FROM submissions ORDER BY 1")] == [old[1], new]
