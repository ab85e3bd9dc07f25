"""The README's demo command ends by serving the review app, with the demo accounts ready to log in."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from reviewdesk.demo.run import DEMO_PASSWORD
from reviewdesk.queues import load_queues
from reviewdesk.review.accounts import authenticate
from reviewdesk.review.reservations import next_item
from reviewdesk.stores.reviewstore import ReviewStore

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_publishes_then_serves_the_app_until_stopped(tmp_path: Path):
    port = free_port()
    command = [str(Path(sys.executable).parent / "reviewdesk"), "--data-dir", str(tmp_path / "d"), "--queues-dir",
               str(ROOT / "queues"), "demo", "--runs", "800", "--port", str(port)]  # fmt: skip
    env = os.environ | {"COLUMNS": "200"}
    proc = subprocess.Popen(  # its own process group: stopping it stops the Streamlit child too, as Ctrl+C does
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True
    )
    try:
        deadline, healthy = time.monotonic() + 90, False
        while time.monotonic() < deadline and proc.poll() is None and not healthy:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    healthy = r.status == 200
            except OSError:
                time.sleep(0.5)
        assert healthy, f"the app did not come up; demo exited {proc.poll()}"
        with ReviewStore(f"sqlite:///{tmp_path / 'd' / 'review.sqlite'}") as store:
            assert authenticate(store, "reviewer1", DEMO_PASSWORD) is not None
            assert next_item(store, "support-quality", "reviewer1") is not None  # a published batch to review
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        output = proc.communicate(timeout=30)[0]
    assert f"http://127.0.0.1:{port}" in output
    assert f"log in as reviewer1 / {DEMO_PASSWORD}" in output
    queues = load_queues(ROOT / "queues")  # the summary shows every queue's batch and datasets, traces and sessions too
    batches = output.split("Batches for reviewers", 1)[1].split("Simulated reviewers", 1)[0]
    assert sorted(line.split("│")[1].strip() for line in batches.splitlines() if "│ b-" in line) == sorted(
        q.name for q in queues
    )
    assert all(f"New: {rule.name} v1 in" in output for q in queues if q.promotion for rule in q.promotion.datasets)
