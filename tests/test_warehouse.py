from pathlib import Path

import duckdb
import pytest

from reviewdesk.config import Settings
from reviewdesk.errors import WarehouseLocked
from reviewdesk.stores import warehouse as wmod
from reviewdesk.stores.warehouse import MIGRATIONS, Warehouse


def test_new_data_dir_is_created_and_migrated(tmp_path: Path):
    path = tmp_path / "fresh" / "nested" / "warehouse.duckdb"
    with Warehouse(path) as wh:
        assert path.exists()
        assert wh.applied() == list(MIGRATIONS)
        assert wh.pending() == []
        cols = [r[0] for r in wh.execute("DESCRIBE runs")]
    assert cols[:3] == ["run_id", "trace_id", "parent_run_id"]
    assert {"user_feedback", "source_format", "ingested_at", "tags", "metadata"} <= set(cols)


def test_migrations_are_recorded_once_and_idempotent(tmp_path: Path):
    path = tmp_path / "w.duckdb"
    Warehouse(path).close()
    with Warehouse(path) as wh:
        assert wh.migrate() == []
        assert wh.scalar("SELECT count(*) FROM _migrations") == len(MIGRATIONS)


def test_new_migration_is_applied_on_next_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "w.duckdb"
    Warehouse(path).close()

    def m999_extra(con):
        con.execute("CREATE TABLE extra (x INT)")

    monkeypatch.setitem(MIGRATIONS, "m999_extra", m999_extra)
    with Warehouse(path) as wh:
        assert wh.applied()[-1] == "m999_extra"
        assert wh.scalar("SELECT count(*) FROM extra") == 0


def test_failed_migration_rolls_back_and_stays_pending(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "w.duckdb"
    Warehouse(path).close()

    def m998_broken(con):
        con.execute("CREATE TABLE half (x INT)")
        raise RuntimeError("boom")

    monkeypatch.setitem(wmod.MIGRATIONS, "m998_broken", m998_broken)
    with pytest.raises(RuntimeError):
        Warehouse(path)
    monkeypatch.delitem(wmod.MIGRATIONS, "m998_broken")
    with Warehouse(path) as wh:
        assert "m998_broken" not in wh.applied()
        assert wh.scalar("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'half'") == 0


def test_second_process_gets_a_clear_lock_error(tmp_path: Path):
    import subprocess
    import sys

    path = tmp_path / "w.duckdb"
    Warehouse(path).close()
    holder = duckdb.connect(str(path))
    try:
        code = f"from reviewdesk.stores.warehouse import Warehouse; Warehouse({str(path)!r})"
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert proc.returncode != 0
        assert "WarehouseLocked" in proc.stderr and "another process" in proc.stderr
    finally:
        holder.close()
    assert issubclass(WarehouseLocked, Exception)


def test_settings_paths_follow_env_and_explicit_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(tmp_path / "env"))
    s = Settings.load()
    assert s.warehouse_path == tmp_path / "env" / "warehouse.duckdb"
    assert s.review_url == f"sqlite:///{(tmp_path / 'env' / 'review.sqlite').resolve()}"
    assert (s.datasets_dir, s.models_dir, s.reports_dir) == tuple(
        tmp_path / "env" / n for n in ("datasets", "models", "reports")
    )
    assert Settings.load(tmp_path / "flag").data_dir == tmp_path / "flag"
    monkeypatch.delenv("REVIEWDESK_DATA_DIR")
    assert Settings.load().data_dir == Path("data")
