import sqlite3
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest
from publish_support import load_queue, store_contents
from sqlalchemy import inspect, text
from sqlalchemy.exc import SAWarning

from reviewdesk.errors import ConfigError, ReviewdeskError
from reviewdesk.stores.review_migrations import MIGRATIONS
from reviewdesk.stores.review_schema import rubrics
from reviewdesk.stores.reviewstore import JSONText, ReviewStore


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def store(tmp_path: Path):
    with ReviewStore(sqlite_url(tmp_path / "review.sqlite")) as s:
        yield s


def test_new_store_is_created_in_wal_mode_with_busy_timeout_and_foreign_keys(tmp_path: Path):
    path = tmp_path / "fresh" / "nested" / "review.sqlite"
    with ReviewStore(sqlite_url(path)) as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert path.exists()
    with sqlite3.connect(path) as raw:  # WAL is a property of the file, seen by any client
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_schema_has_the_tables_and_indexes_the_app_reads(store: ReviewStore):
    insp = inspect(store.engine)
    assert {"migrations", "queues", "rubrics", "batches", "items"} <= set(insp.get_table_names())
    assert insp.get_pk_constraint("rubrics")["constrained_columns"] == ["queue", "version"]
    with warnings.catch_warnings():  # ix_items_review_order is on an expression, which is not reflected
        warnings.simplefilter("ignore", SAWarning)
        indexes = {ix["name"]: ix["column_names"] for ix in insp.get_indexes("items")}
    assert indexes["ix_items_queue_position"] == ["queue", "position"]
    assert indexes["ix_items_batch_id"] == ["batch_id"]
    item_columns = {c["name"] for c in insp.get_columns("items")}
    assert {
        "run_id",
        "run_a",
        "run_b",
        "left_run_id",
        "payload",
        "gold_answer",
        "inclusion_probability",
    } <= item_columns


def test_migrations_are_recorded_once_and_idempotent(tmp_path: Path):
    url = sqlite_url(tmp_path / "review.sqlite")
    ReviewStore(url).close()
    with ReviewStore(url) as store:
        assert store.applied() == list(MIGRATIONS)
        assert store.migrate() == []
        with store.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM migrations")).scalar() == len(MIGRATIONS)


def test_new_migration_is_applied_on_next_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    url = sqlite_url(tmp_path / "review.sqlite")
    ReviewStore(url).close()

    def m999_notes(conn):
        conn.execute(text("CREATE TABLE notes (name TEXT PRIMARY KEY)"))

    monkeypatch.setitem(MIGRATIONS, "m999_notes", m999_notes)
    with ReviewStore(url) as store:
        assert store.applied()[-1] == "m999_notes"
        with store.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM notes")).scalar() == 0


def test_failed_migration_rolls_back_and_stays_pending(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    url = sqlite_url(tmp_path / "review.sqlite")
    ReviewStore(url).close()

    def m998_broken(conn):
        conn.execute(text("CREATE TABLE half (x INT)"))
        raise RuntimeError("boom")

    monkeypatch.setitem(MIGRATIONS, "m998_broken", m998_broken)
    with pytest.raises(RuntimeError):
        ReviewStore(url)
    monkeypatch.delitem(MIGRATIONS, "m998_broken")
    with ReviewStore(url) as store:
        assert "m998_broken" not in store.applied()
        assert "half" not in inspect(store.engine).get_table_names()


def test_readers_and_new_openers_do_not_wait_for_a_writer(tmp_path: Path):
    url = sqlite_url(tmp_path / "review.sqlite")
    with ReviewStore(url) as writer, writer.write() as conn:  # holds the write lock throughout
        writer.save_queue(conn, load_queue("support-ab"))
        t = time.perf_counter()
        with ReviewStore(url) as reader:  # up to date: opening it only reads
            assert reader.queue("support-ab") is None  # WAL: the last committed state, at once
        assert time.perf_counter() - t < 1
    with ReviewStore(url) as reader:
        assert reader.queue("support-ab") is not None


def test_saving_a_queue_twice_changes_nothing(store: ReviewStore):
    queue = load_queue("support-quality")
    with store.write() as conn:
        assert store.save_queue(conn, queue) is True
    before = store_contents(store)
    with store.write() as conn:
        assert store.save_queue(conn, queue) is False
    assert store_contents(store) == before
    row = store.queue("support-quality")
    assert row["config"] == queue.model_dump(mode="json")
    assert row["rubric_version"] == queue.rubric_version
    assert (row["kind"], row["reservation_minutes"], row["suggestions"]) == ("single", 30, "show")
    assert store.rubric("support-quality", queue.rubric_version) == queue.rubric.model_dump(mode="json")


def test_rubric_edit_adds_a_version_row_and_keeps_the_old_one(store: ReviewStore):
    old = load_queue("support-quality")
    rubric = old.rubric.model_dump(mode="json")
    new = load_queue("support-quality", rubric={**rubric, "instructions": "Judge correctness first."})
    assert new.rubric_version != old.rubric_version
    with store.write() as conn:
        store.save_queue(conn, old)
    first_update = store.queue("support-quality")["updated_at"]
    with store.write() as conn:
        assert store.save_queue(conn, new) is True
    with store.read() as conn:
        versions = dict(conn.execute(rubrics.select().with_only_columns(rubrics.c.version, rubrics.c.rubric)).all())
    assert set(versions) == {old.rubric_version, new.rubric_version}
    assert versions[old.rubric_version]["instructions"] == rubric["instructions"]
    assert versions[new.rubric_version]["instructions"] == "Judge correctness first."
    row = store.queue("support-quality")
    assert row["rubric_version"] == new.rubric_version
    assert row["updated_at"] >= first_update


def test_timestamps_read_back_timezone_aware_in_utc(store: ReviewStore):
    with store.write() as conn:
        store.save_queue(conn, load_queue("support-ab"), now=datetime(2026, 11, 2, 9, 30, tzinfo=UTC))
    assert store.queue("support-ab")["updated_at"] == datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def test_insert_ignore_keeps_the_existing_row(store: ReviewStore):
    queue = load_queue("support-ab")
    with store.write() as conn:
        store.save_queue(conn, queue)
        row = {
            "queue": queue.name,
            "version": "v-test",
            "rubric": JSONText('{"a": 1}'),
            "created_at": datetime.now(UTC),
        }
        store.insert_ignore(conn, rubrics, [row])
        store.insert_ignore(conn, rubrics, [{**row, "rubric": {"a": 2}}, {**row, "version": "v-other"}])
    assert store.rubric(queue.name, "v-test") == {"a": 1}  # JSONText is stored as written
    assert store.rubric(queue.name, "v-other") == {"a": 1}


def test_foreign_keys_are_enforced(store: ReviewStore):
    with pytest.raises(Exception, match="FOREIGN KEY"), store.write() as conn:
        store.insert_ignore(
            conn, rubrics, [{"queue": "nope", "version": "v", "rubric": {}, "created_at": datetime.now(UTC)}]
        )


def test_read_helpers_on_an_empty_store(store: ReviewStore):
    assert store.queue("support-quality") is None
    assert store.rubric("support-quality", "abc") is None
    assert store.batch("b") is None
    assert store.items("support-quality") == []
    assert store.count_items("support-quality") == 0
    assert store.published_counts() == {}


@pytest.mark.parametrize(
    ("make_url", "expected"),
    [
        (lambda tmp: f"sqlite:///{tmp / 'a-file' / 'review.sqlite'}", "Cannot open the review store"),
        (lambda tmp: "not a url", "Cannot open the review store not a url"),
        (lambda tmp: "mysql://u:secret@localhost/review", "use a sqlite:/// or postgresql:// URL"),
        (lambda tmp: "postgresql://u:secret@127.0.0.1:1/review", "database server is up"),
    ],
    ids=["parent-is-a-file", "not-a-url", "unsupported-dialect", "server-down"],
)
def test_unopenable_store_gives_a_clear_error_with_the_url(tmp_path: Path, make_url, expected: str):
    (tmp_path / "a-file").write_text("not a folder")
    url = make_url(tmp_path)
    with pytest.raises(ReviewdeskError, match=expected) as err:
        ReviewStore(url)
    assert isinstance(err.value, ConfigError) and err.value.exit_code == 2
    assert "secret" not in str(err.value)  # passwords are masked
    assert "review" in str(err.value) or "url" in str(err.value)
