"""Signals reach the server: stopping `reviewdesk app` stops its Streamlit server too, whatever stops it."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from process_support import gone, reviewdesk_app


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=["SIGTERM", "SIGINT", "SIGKILL"])
def test_stopping_the_app_command_stops_its_server(tmp_path: Path, sig: signal.Signals):
    """SIGTERM (a service manager, `kill`) once left the server running, orphaned. SIGINT is Ctrl+C sent to the
    command alone; SIGKILL cannot be forwarded, so the server must notice that its parent died."""
    with reviewdesk_app(tmp_path / "data", tmp_path / "app.log") as app:
        app.cli.send_signal(sig)
        assert gone(app.server, within=8), f"the Streamlit server outlived `reviewdesk app` after {sig.name}"
        app.cli.wait(timeout=8)
    if sig != signal.SIGKILL:
        assert app.cli.returncode == 0  # stopped as asked, not crashed
