"""Shared fixtures: real DuckDB files in temp dirs, and one Prefect test API for the session."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from reviewdesk.warehouse import Warehouse


@pytest.fixture(autouse=True)
def _keep_main_module():
    """Streamlit's AppTest leaves the app script as sys.modules['__main__']; a later test that
    spawns processes would make them run that script (and hang). Put the real one back."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data directory, also exported as REVIEWDESK_DATA_DIR."""
    d = tmp_path / "data"
    monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(d))
    return d


@pytest.fixture
def warehouse(tmp_path: Path):
    with Warehouse(tmp_path / "warehouse.duckdb") as wh:
        yield wh


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory):
    """One Prefect test server for the whole session (it takes ~12 s to start)."""
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect"))
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness():
        yield


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL server on loopback, or REVIEWDESK_TEST_POSTGRES_URL if given.

    CI installs Debian's postgresql and sets REQUIRE_POSTGRES=1, so there a missing server fails
    the test instead of skipping it.
    """
    if url := os.environ.get("REVIEWDESK_TEST_POSTGRES_URL"):
        yield url
        return
    bindir = _postgres_bin()
    if bindir is None:
        message = "no PostgreSQL server: apt-get install postgresql, or set REVIEWDESK_TEST_POSTGRES_URL"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="reviewdesk-pg-"))  # not under pytest's 0700 dirs: postgres must reach it
    root.chmod(0o777)
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = root / "data"
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "reviewdesk"],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run(
        [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "start",
         "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql+psycopg://reviewdesk@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
