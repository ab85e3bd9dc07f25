"""Shared fixtures: real DuckDB files in temp dirs, and one Prefect test API for the session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reviewdesk.warehouse import Warehouse


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
