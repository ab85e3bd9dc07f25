"""The app command: start the Streamlit review app on this data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reviewdesk.cli.main import app, handle_errors, out, settings

if TYPE_CHECKING:
    from reviewdesk.config import Settings

APP = Path(__file__).resolve().parents[2] / "review_app" / "app.py"


def start_app(s: Settings, port: int, address: str) -> int:
    """Serve the review app on `s`'s data directory until Ctrl+C; returns Streamlit's exit code."""
    env = os.environ | {"REVIEWDESK_DATA_DIR": str(s.data_dir.resolve()), "REVIEWDESK_QUEUES_DIR": str(s.queues_dir)}
    if s.review_store_url:
        env["REVIEWDESK_REVIEW_STORE_URL"] = s.review_store_url
    out.print(f"Review app on [bold]http://{address}:{port}[/bold] (Ctrl+C stops it).")
    command = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port), "--server.address",
               address, "--server.headless", "true", "--browser.gatherUsageStats", "false"]  # fmt: skip
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 0


PortOption = Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to serve the review app on.")]
AddressOption = Annotated[str, typer.Option("--address", help="Interface the review app listens on.")]


@app.command("app")
@handle_errors
def serve(ctx: typer.Context, port: PortOption = 8501, address: AddressOption = "127.0.0.1") -> None:
    """Start the review app (Streamlit) on the data directory's review store."""
    raise typer.Exit(start_app(settings(ctx), port, address))
