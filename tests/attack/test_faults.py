"""Faults are messages: a full disk, a damaged store or a lost database server gives the CLI one line and
exit 2, and the review app a plain notice; no traceback, no server paths, nothing half-written."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from process_support import reviewdesk_app, reviewdesk_with_full_disk, with_full_disk
from review_support import PASSWORD, reset_postgres, seed_queue, store_with_reviewers
from sqlalchemy import create_engine, text
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from reviewdesk.cli import app
from reviewdesk.review import accounts
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import item_submissions
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "review_app" / "app.py")
QUEUE = "support-quality"


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


def assert_a_message(result: subprocess.CompletedProcess, *words: str) -> None:
    """Exit 2 and one short error naming `words`, no traceback."""
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output and "Error:" in output, output
    for word in words:
        assert word in " ".join(output.split()), output


def test_ingest_on_a_full_disk_is_a_message_and_leaves_nothing_behind(tmp_path: Path):
    """It printed DuckDB's TransactionException traceback with exit 1 (1 means "some records rejected")."""
    data, runs = tmp_path / "data", tmp_path / "runs.jsonl"
    assert cli("demo-data", "--runs", "1000", "--seed", "1", "--out", str(runs)).exit_code == 0
    assert cli("--data-dir", str(data), "init").exit_code == 0
    limit = (data / "warehouse.duckdb").stat().st_size + 16 * 1024
    result = reviewdesk_with_full_disk(["--data-dir", str(data), "ingest", str(runs)], limit)
    assert_a_message(result, "Free some disk space", "safe to rerun")
    with Warehouse(data / "warehouse.duckdb") as wh:
        assert wh.scalar("SELECT count(*) FROM runs") == 0  # all or nothing
    again = cli("--data-dir", str(data), "ingest", str(runs), "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["inserted"] == 1000


@pytest.mark.parametrize("store", ["warehouse.duckdb", "review.sqlite"])
def test_a_damaged_store_is_a_message(tmp_path: Path, store: str):
    data = tmp_path / "data"
    data.mkdir()
    (data / store).write_bytes(b"not a database, just junk " * 500)
    command = ["quarantine"] if store.endswith("duckdb") else ["users", "list"]
    result = cli("--data-dir", str(data), *command)
    assert result.exit_code == 2 and not isinstance(result.exception, Exception), repr(result.exception)
    assert "damaged" in result.output and "backup" in result.output, result.output


def test_submit_on_a_full_disk_is_a_store_fault_and_keeps_the_review(tmp_path: Path):
    """submit_and_next raised SQLAlchemy's OperationalError (disk I/O error) into the app."""
    with store_with_reviewers(tmp_path) as store:
        seed_queue(store)
        item = next_item(store, QUEUE, "reviewer1")
        setup = (f"from reviewdesk.stores.reviewstore import ReviewStore; from reviewdesk.errors import StoreFault\n"
                 f"from reviewdesk.review.submissions import submit_and_next; from reviewdesk.review.drafts import "
                 f"Draft\nstore = ReviewStore({store.url!r})")  # fmt: skip
        draft = "Draft({'correctness': 'correct'})"
        then = (f"try:\n    submit_and_next(store, {item['item_id']!r}, 'reviewer1', {draft})\n"
                "except StoreFault as e:\n    print('StoreFault:', e)")  # fmt: skip
        result = with_full_disk(setup, 1, then)
        assert result.returncode == 0 and result.stdout.startswith("StoreFault:"), result.stdout + result.stderr
        assert "review store" in result.stdout and "disk" in result.stdout
        assert item_submissions(store, item["item_id"]) == []  # nothing half-written
        assert next_item(store, QUEUE, "reviewer1")["item_id"] == item["item_id"]  # still held: submit again


def test_the_app_shows_a_plain_notice_when_the_store_is_damaged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Logging in showed the full traceback, with the store's path."""
    from review_app.session import STORE_NOTICE
    (tmp_path / "review.sqlite").write_bytes(b"not a database, just junk " * 500)
    monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input[0].input("reviewer1")
    at.text_input[1].input(PASSWORD)
    at = at.button[0].click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [STORE_NOTICE]
    assert str(tmp_path) not in STORE_NOTICE


APP_UNDER_A_FULL_DISK = """
import json
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(%r, default_timeout=30).run()
at.text_input[0].input("reviewer1")
at.text_input[1].input(%r)
at = at.button[0].click().run().switch_page("views/review.py").run()
at.radio[0].set_value("correct")
at.get("segmented_control")[0].set_value(4)
"""
SUBMIT = """
at = next(b for b in at.button if b.label == "Submit").click().run()
print(json.dumps({"errors": [e.value for e in at.error], "exceptions": [e.value for e in at.exception],
                  "radio": at.radio[0].value}))
"""


def test_the_app_shows_a_plain_notice_when_the_disk_is_full_under_a_submit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Submit raised SQLAlchemy's OperationalError into the page; now a plain notice, and the answer stays."""
    from review_app.session import STORE_NOTICE
    with store_with_reviewers(tmp_path) as store:
        seed_queue(store, assignees=["reviewer1"])
    monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(tmp_path))
    result = with_full_disk(APP_UNDER_A_FULL_DISK % (APP, PASSWORD), 1, SUBMIT)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert shown == {"errors": [STORE_NOTICE], "exceptions": [], "radio": "correct"}


def test_a_lost_postgres_connection_is_a_store_fault_and_the_next_call_reconnects(postgres_url: str):
    from reviewdesk.errors import StoreFault
    victim = f"{postgres_url}?application_name=reviewdesk-fault-victim"
    with ReviewStore(victim) as store:
        reset_postgres(store)
        accounts.add_user(store, "alice", "reviewer", PASSWORD)
        assert accounts.authenticate(store, "alice", PASSWORD) is not None  # the pool holds a live connection
        killer = create_engine(postgres_url)
        with killer.connect() as conn:
            killed = conn.scalar(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                      "WHERE application_name = 'reviewdesk-fault-victim'"))  # fmt: skip
        killer.dispose()
        assert killed >= 1
        with pytest.raises(StoreFault, match="database server is up") as fault:
            accounts.list_users(store)
        assert fault.value.exit_code == 2 and "Traceback" not in str(fault.value)
        assert [u["name"] for u in accounts.list_users(store)] == ["alice"]  # a new connection


def test_the_server_shows_browsers_no_error_details(tmp_path: Path, chromium):
    """An uncaught error (here: an unsupported review store URL, found at login) showed the browser the
    full traceback with server paths and the URL's password. `reviewdesk app` serves with no details."""
    env = {"REVIEWDESK_REVIEW_STORE_URL": "mysql://admin:s3cret@db.internal/review"}
    with reviewdesk_app(tmp_path / "data", tmp_path / "app.log", env=env) as served:
        page = chromium.new_page()
        try:
            page.goto(served.url)
            page.get_by_role("textbox", name="Username").fill("reviewer1")
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.get_by_text("This app has encountered an error").wait_for(timeout=20_000)
            shown = page.inner_text("body")
        finally:
            page.close()
    for leak in ("Traceback", str(ROOT), "site-packages", "s3cret", "mysql"):
        assert leak not in shown, shown
