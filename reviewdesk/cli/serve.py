"""The app command: start the Streamlit review app on this data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from reviewdesk.cli.app import app, handle_errors, out, settings

APP = Path(__file__).resolve().parents[2] / "review_app" / "app.py"


@app.command("app")
@handle_errors
def serve(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to serve on.")] = 8501,
    address: Annotated[str, typer.Option("--address", help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Start the review app (Streamlit) on the data directory's review store."""
    s = settings(ctx)
    env = os.environ | {"REVIEWDESK_DATA_DIR": str(s.data_dir.resolve()), "REVIEWDESK_QUEUES_DIR": str(s.queues_dir)}
    if s.review_store_url:
        env["REVIEWDESK_REVIEW_STORE_URL"] = s.review_store_url
    out.print(f"Review app on http://{address}:{port} (Ctrl+C stops it).")
    command = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port), "--server.address",
               address, "--server.headless", "true", "--browser.gatherUsageStats", "false"]  # fmt: skip
    raise typer.Exit(subprocess.call(command, env=env))
