"""Publishing a warehouse batch to the review store: complete payloads, idempotent, crash-safe, concurrent."""

from __future__ import annotations

import json
import multiprocessing
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from publish_support import (
    demo_warehouse,
    insert_pairwise_batch,
    insert_single_batch,
    load_queue,
    store_contents,
    write_in_process,
)
from review_support import reset_postgres
from sqlalchemy import text

from reviewdesk.errors import ConfigError, NotFound, ReviewdeskError
from reviewdesk.review import publication as publish_mod
from reviewdesk.review.publication import publish
from reviewdesk.stores.review_migrations import MIGRATIONS
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import RUN_FIELDS as SHOWN_RUN_FIELDS

# Reviewers see every run field; the demo's known answers (the gold source) are held back from them.
SEES_ALL = {"reviewer_sees": list(SHOWN_RUN_FIELDS), "gold_source": "json_extract(metadata, '$.demo_truth')"}


@pytest.fixture
def wh(tmp_path: Path):
    with demo_warehouse(tmp_path) as wh:
        yield wh


@pytest.fixture
def store(tmp_path: Path):
    with ReviewStore(f"sqlite:///{tmp_path / 'review.sqlite'}") as s:
        yield s


def warehouse_runs(wh: Warehouse) -> dict[str, dict]:
    cols = ", ".join(SHOWN_RUN_FIELDS)
    return {r[0]: dict(zip(SHOWN_RUN_FIELDS, r, strict=True)) for r in wh.execute(f"SELECT {cols} FROM runs")}


def assert_payload_matches_run(shown: dict, run: dict) -> None:
    """A payload run equals its warehouse run, field by field, except the hidden demo_truth."""
    assert list(shown) == list(SHOWN_RUN_FIELDS)
    for field in ("inputs", "outputs"):
        assert shown[field] == json.loads(run[field])
    metadata = json.loads(run["metadata"])
    assert "demo_truth" in metadata and "demo_truth" not in shown["metadata"]
    assert shown["metadata"] == {k: v for k, v in metadata.items() if k != "demo_truth"}
    assert datetime.fromisoformat(shown["start_time"]) == run["start_time"]
    for field in set(SHOWN_RUN_FIELDS) - {"inputs", "outputs", "metadata", "start_time"}:
        assert shown[field] == run[field], field


def test_publish_writes_queue_rubric_batch_and_items_with_complete_payloads(wh: Warehouse, store: ReviewStore):
    queue = load_queue("support-quality", **SEES_ALL)
    n = insert_single_batch(wh, queue, "b1", n=20, gold=2)
    report = publish(wh, store, queue, "b1")

    assert report.as_dict() == {"batch_id": "b1", "queue": queue.name, "items": n, "published": n,
                                "already_published": False}  # fmt: skip
    assert store.queue(queue.name)["config"] == queue.model_dump(mode="json")
    assert store.rubric(queue.name, queue.rubric_version) == queue.rubric.model_dump(mode="json")
    batch = store.batch("b1")
    assert (batch["queue"], batch["rubric_version"], batch["strategy"], batch["seed"], batch["size"]) == (
        queue.name, queue.rubric_version, "random", 42, 20,
    )  # fmt: skip
    assert batch["item_count"] == n == store.count_items(queue.name)

    runs = warehouse_runs(wh)
    expected = wh.execute(
        "SELECT item_id, position, run_id, inclusion_probability, is_gold, gold_answer, reviewers_needed "
        "FROM items WHERE batch_id = 'b1' ORDER BY position"
    )
    items = store.items(queue.name)
    assert [i["item_id"] for i in items] == [e[0] for e in expected]
    for item, (_, position, run_id, prob, is_gold, gold, reviewers) in zip(items, expected, strict=True):
        assert (item["position"], item["run_id"], item["inclusion_probability"], item["is_gold"]) == (
            position, run_id, prob, is_gold,
        )  # fmt: skip
        assert (item["kind"], item["rubric_version"], item["reviewers_needed"]) == (
            "single",
            queue.rubric_version,
            reviewers,
        )
        assert item["run_a"] is item["run_b"] is item["left_run_id"] is None
        assert item["gold_answer"] == (json.loads(gold) if gold else None)
        assert item["published_at"] == batch["published_at"]
        assert list(item["payload"]["runs"]) == [run_id]
        assert_payload_matches_run(item["payload"]["runs"][run_id], runs[run_id])
    assert sum(i["is_gold"] for i in items) == 2
    with store.read() as conn:  # the known answers never reach a payload
        assert conn.execute(text("SELECT count(*) FROM items WHERE payload LIKE '%demo_truth%'")).scalar() == 0


def test_pairwise_items_keep_both_runs_and_the_left_side(wh: Warehouse, store: ReviewStore):
    queue = load_queue("support-ab", **SEES_ALL)
    n = insert_pairwise_batch(wh, queue, "p1")
    assert n > 5
    assert publish(wh, store, queue, "p1").published == n
    runs = warehouse_runs(wh)
    expected = {r[0]: r[1:] for r in wh.execute("SELECT item_id, run_a, run_b, left_run_id FROM items")}
    items = store.items(queue.name, batch_id="p1")
    assert len(items) == n
    for item in items:
        assert (item["run_a"], item["run_b"], item["left_run_id"]) == expected[item["item_id"]]
        assert item["kind"] == "pairwise" and item["run_id"] is None
        assert set(item["payload"]["runs"]) == {item["run_a"], item["run_b"]}
        for run_id, shown in item["payload"]["runs"].items():
            assert_payload_matches_run(shown, runs[run_id])
        a, b = (item["payload"]["runs"][r] for r in (item["run_a"], item["run_b"]))
        assert a["inputs"] == b["inputs"] and a["model"] != b["model"]
    assert {i["left_run_id"] == i["run_a"] for i in items} == {True, False}  # both sides get shown left


def test_publishing_the_same_batch_twice_changes_nothing(wh: Warehouse, store: ReviewStore):
    queue = load_queue("support-quality")
    n = insert_single_batch(wh, queue, "b1")
    publish(wh, store, queue, "b1")
    before = store_contents(store)
    marked = wh.scalar("SELECT published_at FROM batches WHERE batch_id = 'b1'")

    again = publish(wh, store, queue, "b1")
    assert (again.items, again.published, again.already_published) == (n, 0, True)
    assert store_contents(store) == before
    assert wh.scalar("SELECT published_at FROM batches WHERE batch_id = 'b1'") == marked


def test_rubric_edit_publishes_a_new_rubric_version_and_keeps_the_old(wh: Warehouse, store: ReviewStore):
    old = load_queue("support-quality")
    insert_single_batch(wh, old, "b1", n=5)
    publish(wh, store, old, "b1")
    rubric = old.rubric.model_dump(mode="json")
    new = load_queue("support-quality", rubric={**rubric, "instructions": "Correctness first, then tone."})
    insert_single_batch(wh, new, "b2", n=5)
    wh.execute("UPDATE items SET item_id = 'v2-' || item_id WHERE batch_id = 'b2'")
    publish(wh, store, new, "b2")

    assert store.rubric(old.name, old.rubric_version) == rubric
    assert store.rubric(new.name, new.rubric_version)["instructions"] == "Correctness first, then tone."
    assert store.queue(old.name)["rubric_version"] == new.rubric_version
    versions = {i["batch_id"]: i["rubric_version"] for i in store.items(old.name)}
    assert versions == {"b1": old.rubric_version, "b2": new.rubric_version}
    # the old batch, already published, republishes as a no-op under the edited queue
    assert publish(wh, store, new, "b1").already_published


def test_batch_drawn_with_a_rubric_the_store_never_saw_is_refused(wh: Warehouse, store: ReviewStore):
    old = load_queue("support-quality")
    insert_single_batch(wh, old, "b1", n=5)
    new = load_queue("support-quality", rubric={**old.rubric.model_dump(mode="json"), "instructions": "Edited."})
    with pytest.raises(ConfigError, match=r"rubric version .* Draw a new batch"):
        publish(wh, store, new, "b1")
    assert store.batch("b1") is None and store.queue(old.name) is None  # rolled back


def test_warehouse_marks_the_batch_published_at_the_store_time(wh: Warehouse, store: ReviewStore):
    queue = load_queue("support-quality")
    insert_single_batch(wh, queue, "b1")
    assert wh.scalar("SELECT published_at FROM batches WHERE batch_id = 'b1'") is None
    publish(wh, store, queue, "b1")
    assert wh.scalar("SELECT published_at FROM batches WHERE batch_id = 'b1'") == store.batch("b1")["published_at"]


def test_crash_between_store_commit_and_warehouse_mark_is_completed_by_a_rerun(
    wh: Warehouse, store: ReviewStore, monkeypatch: pytest.MonkeyPatch
):
    queue = load_queue("support-quality")
    n = insert_single_batch(wh, queue, "b1")

    def crash(*args: object) -> None:
        raise RuntimeError("worker killed")

    monkeypatch.setattr(publish_mod, "mark_published", crash)
    with pytest.raises(RuntimeError):
        publish(wh, store, queue, "b1")
    assert store.count_items(queue.name) == n
    assert wh.scalar("SELECT published_at FROM batches WHERE batch_id = 'b1'") is None
    after_crash = store_contents(store)

    monkeypatch.undo()
    rerun = publish(wh, store, queue, "b1")
    assert (rerun.published, rerun.already_published) == (0, True)
    assert store_contents(store) == after_crash
    assert wh.scalar("SELECT published_at FROM batches WHERE batch_id = 'b1'") == store.batch("b1")["published_at"]


class FailAfter:
    """Item rows that fail (a full disk, say) once `chunks` chunks were read."""

    def __init__(self, rows, chunks: int) -> None:
        self.rows, self.left = rows, chunks

    def fetchmany(self, size: int) -> list[tuple]:
        if self.left == 0:
            raise OSError("disk full")
        self.left -= 1
        return self.rows.fetchmany(size)


def test_failure_while_writing_items_keeps_whole_chunks_and_a_rerun_completes_the_batch(
    wh: Warehouse, store: ReviewStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """By design since publishing writes in chunks (issue 17): a failure keeps the chunks already committed
    (reviewable at once), leaves the warehouse unmarked, and publishing again writes the rest, nothing twice."""
    queue = load_queue("support-quality")
    insert_single_batch(wh, queue, "b1", n=30)
    monkeypatch.setattr(publish_mod, "FIRST_CHUNK", 10)
    monkeypatch.setattr(publish_mod, "MAX_CHUNK", 10)
    monkeypatch.setattr(publish_mod, "TARGET_HOLD", 3600.0)  # chunks of exactly 10 however slow the machine
    real = publish_mod.read_items
    monkeypatch.setattr(publish_mod, "read_items", lambda *args: FailAfter(real(*args), 2))
    with pytest.raises(OSError):
        publish(wh, store, queue, "b1")
    assert [i["position"] for i in store.items(queue.name)] == list(range(1, 21))  # two whole chunks
    assert wh.scalar("SELECT published_at FROM batches WHERE batch_id = 'b1'") is None

    monkeypatch.setattr(publish_mod, "read_items", real)
    rerun = publish(wh, store, queue, "b1")
    assert (rerun.published, rerun.already_published, rerun.chunks) == (10, False, 3)
    with ReviewStore(f"sqlite:///{tmp_path / 'clean.sqlite'}") as clean:
        assert publish(wh, clean, queue, "b1").published == 30
        expected = clean.items(queue.name)
    resumed = store.items(queue.name)
    at = store.batch("b1")["published_at"]
    assert {i["published_at"] for i in resumed} == {at}
    differs = ("published_at", "priority")  # the time of publishing, and the oldest-first priority made from it
    assert [{k: v for k, v in i.items() if k not in differs} for i in resumed] == [
        {k: v for k, v in i.items() if k not in differs} for i in expected
    ]
    assert {i["priority"] for i in resumed} == {-at.timestamp()}
    assert wh.scalar("SELECT published_at FROM batches WHERE batch_id = 'b1'") == at


def test_a_large_batch_is_written_in_chunks_each_holding_the_lock_briefly(
    wh: Warehouse, store: ReviewStore, monkeypatch: pytest.MonkeyPatch
):
    queue = load_queue("support-quality")
    n = insert_single_batch(wh, queue, "b1", n=150)
    monkeypatch.setattr(publish_mod, "FIRST_CHUNK", 20)  # then sized from the rate the first was written at
    report = publish(wh, store, queue, "b1")
    assert (report.published, report.chunks > 1) == (n, True)
    assert report.longest_hold < 0.1  # MAX_HOLD of issue 17; a chunk of a few items takes a few ms
    assert [i["position"] for i in store.items(queue.name)] == list(range(1, n + 1))
    with store.read() as conn:  # the time as SQLAlchemy writes it, as the batch row has it
        stored = conn.exec_driver_sql("SELECT DISTINCT published_at FROM items").scalars().all()
        assert stored == [conn.exec_driver_sql("SELECT published_at FROM batches").scalar()]


def test_concurrent_publishers_write_each_item_once_without_lock_errors(wh: Warehouse, tmp_path: Path):
    """Three processes open a fresh store at once (racing its migrations too), then write one batch.

    Each reads its own copy of the warehouse. Chunks are separate transactions, so the three may
    share the work (by design since issue 17); together they write each item exactly once.
    """
    queue = load_queue("support-quality")
    n = insert_single_batch(wh, queue, "b1", n=150)
    wh.execute("CHECKPOINT")
    copies = []
    for i in range(3):
        copies.append(str(tmp_path / f"warehouse-{i}.duckdb"))
        shutil.copy(tmp_path / "warehouse.duckdb", copies[-1])
    url = f"sqlite:///{tmp_path / 'shared' / 'review.sqlite'}"
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=write_in_process, args=(url, queue, c, "b1", barrier, results)) for c in copies]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=10)
    assert [status for status, _ in outcomes] == ["ok"] * 3, outcomes
    assert sum(published for _, published in outcomes) == n
    with ReviewStore(url) as store:
        assert store.count_items(queue.name) == n
        assert len({i["item_id"] for i in store.items(queue.name)}) == n
        assert store.applied() == list(MIGRATIONS)


def test_unknown_batch_is_not_found_with_exit_code_2(wh: Warehouse, store: ReviewStore):
    with pytest.raises(NotFound, match=r"No batch 'nope'.*reviewdesk batches list") as err:
        publish(wh, store, load_queue("support-quality"), "nope")
    assert isinstance(err.value, ReviewdeskError) and err.value.exit_code == 2
    assert store.queue("support-quality") is None


def test_batch_of_another_queue_is_refused(wh: Warehouse, store: ReviewStore):
    insert_single_batch(wh, load_queue("support-quality"), "b1")
    with pytest.raises(ConfigError, match="belongs to queue 'support-quality', not 'support-ab'") as err:
        publish(wh, store, load_queue("support-ab"), "b1")
    assert err.value.exit_code == 2
    assert store.published_counts() == {}


def test_batch_referring_to_a_missing_run_is_refused_before_writing(wh: Warehouse, store: ReviewStore):
    queue = load_queue("support-quality")
    insert_single_batch(wh, queue, "b1", n=5)
    wh.execute("UPDATE items SET run_id = 'gone' WHERE position = 3")
    with pytest.raises(NotFound, match="refers to run gone, which is not in the warehouse"):
        publish(wh, store, queue, "b1")
    assert store.published_counts() == {}


def test_publish_to_postgres_is_complete_and_idempotent(wh: Warehouse, postgres_url: str):
    with ReviewStore(postgres_url) as store:
        reset_postgres(store)
        single, pairwise = load_queue("support-quality", **SEES_ALL), load_queue("support-ab", **SEES_ALL)
        n = insert_single_batch(wh, single, "b1")
        m = insert_pairwise_batch(wh, pairwise, "p1")
        assert publish(wh, store, single, "b1").published == n
        assert publish(wh, store, pairwise, "p1").published == m
        before = store_contents(store)
        assert publish(wh, store, single, "b1").already_published
        assert store_contents(store) == before
        runs = warehouse_runs(wh)
        for item in store.items(pairwise.name):
            for run_id, shown in item["payload"]["runs"].items():
                assert_payload_matches_run(shown, runs[run_id])
        assert store.published_counts() == {single.name: n, pairwise.name: m}
        with store.read() as conn:  # analysed on publishing: the planner knows every item (refresh_statistics)
            assert conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'items'")).scalar() == n + m
