"""The app command: start the Streamlit review app on this data directory, and stop it with us.

The server is a child process. SIGTERM, SIGINT and SIGHUP sent to the command are passed on to it
(and it is killed if it outlives them by `GRACE_SECONDS`); on Linux it also gets SIGTERM when the
command dies any other way (even SIGKILL), so stopping the command never leaves a server behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reviewdesk.cli.main import app, handle_errors, out, settings

if TYPE_CHECKING:
    from reviewdesk.config import Settings

APP = Path(__file__).resolve().parents[2] / "review_app" / "app.py"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
GRACE_SECONDS = 10


def server_command(port: int, address: str) -> list[str]:
    """`streamlit run` of the review app, headless, on `address:port`; uncaught errors show no details to
    the browser (no traceback, no server paths: the server's log has them), and reviewers get no developer
    toolbar (no Deploy button, no rerun or clear-cache menu: `client.toolbarMode minimal`).

    No full garbage collection after every run (`runner.postScriptGC false`): with the app's libraries
    loaded, Streamlit's `gc.collect(2)` took 80% of the script thread's time while a reviewer pressed keys
    (py-spy), and a key pressed meanwhile waited for it. Python's own collector still runs."""
    return [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port), "--server.address",
            address, "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--client.showErrorDetails", "none", "--client.toolbarMode", "minimal",
            "--runner.postScriptGC", "false"]  # fmt: skip


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, a `preexec_fn` that makes the child get SIGTERM when this process dies; elsewhere None."""
    if sys.platform != "linux":
        return None
    import ctypes

    prctl, parent = ctypes.CDLL(None, use_errno=True).prctl, os.getpid()  # looked up before the fork

    def preexec() -> None:
        prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before that call
            os._exit(0)

    return preexec


def supervise(child: subprocess.Popen) -> int:
    """Wait for `child`, passing `STOP_SIGNALS` on to it; kill it if it outlives one by `GRACE_SECONDS`.
    Returns its exit code; it never outlives this call."""
    stopping: list[float] = []

    def forward(signum: int, _frame: object) -> None:
        stopping.append(time.monotonic())
        if child.poll() is None:
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in STOP_SIGNALS}
    try:
        while True:
            try:
                return child.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                if stopping and time.monotonic() - stopping[0] > GRACE_SECONDS:
                    child.kill()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child.poll() is None:
            child.kill()
            child.wait()


def start_app(s: Settings, port: int, address: str) -> int:
    """Serve the review app on `s`'s data directory until Ctrl+C or SIGTERM; returns Streamlit's exit code."""
    env = os.environ | {"REVIEWDESK_DATA_DIR": str(s.data_dir.resolve()), "REVIEWDESK_QUEUES_DIR": str(s.queues_dir)}
    if s.review_store_url:
        env["REVIEWDESK_REVIEW_STORE_URL"] = s.review_store_url
    out.print(f"Review app on [bold]http://{address}:{port}[/bold] (Ctrl+C stops it).")
    return supervise(subprocess.Popen(server_command(port, address), env=env, preexec_fn=_die_with_parent()))


PortOption = Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to serve the review app on.")]
AddressOption = Annotated[str, typer.Option("--address", help="Interface the review app listens on.")]


@app.command("app")
@handle_errors
def serve(ctx: typer.Context, port: PortOption = 8501, address: AddressOption = "127.0.0.1") -> None:
    """Start the review app (Streamlit) on the data directory's review store."""
    raise typer.Exit(start_app(settings(ctx), port, address))
