"""Helpers for tests that run reviewdesk in another process: the review app started as users start it
(`reviewdesk app`), and code run with a full disk (a file-size limit: writes past it fail with EFBIG)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import NamedTuple

import psutil

ROOT = Path(__file__).resolve().parents[1]
REVIEWDESK = str(Path(sys.executable).parent / "reviewdesk")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path | None:
    """Debian's PostgreSQL server programs (the newest installed), or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@contextmanager
def postgres_cluster(bindir: Path) -> Iterator[str]:
    """A throwaway PostgreSQL cluster (initdb in a temp dir, loopback, a free port): its URL; gone after."""
    root = Path(tempfile.mkdtemp(prefix="reviewdesk-pg-"))  # not under pytest's 0700 dirs: postgres must reach it
    root.chmod(0o777)
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    port = free_port()
    data = root / "data"
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "reviewdesk"],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run(
        [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "start",
         "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=200"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql+psycopg://reviewdesk@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


class Served(NamedTuple):
    """A `reviewdesk app` process, its Streamlit server child, and the app's URL."""

    cli: subprocess.Popen
    server: psutil.Process
    url: str


def healthy(url: str, path: str = "/_stcore/health") -> bool:
    try:
        with urllib.request.urlopen(f"{url}{path}", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@contextmanager
def reviewdesk_app(data_dir: Path, log: Path, env: dict[str, str] | None = None) -> Iterator[Served]:
    """`reviewdesk app` on a free loopback port, healthy; afterwards every process it started is gone."""
    port = free_port()
    command = [REVIEWDESK, "--data-dir", str(data_dir), "--queues-dir", str(ROOT / "queues"), "app", "--port",
               str(port)]  # fmt: skip
    with log.open("wb") as out:
        cli = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=os.environ | (env or {}))
    url, started = f"http://127.0.0.1:{port}", []
    try:
        deadline = time.monotonic() + 60
        while not healthy(url):
            assert cli.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)
        started = psutil.Process(cli.pid).children(recursive=True)
        yield Served(cli, started[0], url)
    finally:
        with suppress(psutil.NoSuchProcess):
            started += psutil.Process(cli.pid).children(recursive=True)
        for p in started:  # a server the command left behind (the defect these tests catch) is killed here
            with suppress(psutil.NoSuchProcess):
                p.kill()
        cli.kill()
        cli.wait()


def gone(process: psutil.Process, within: float) -> bool:
    """Whether `process` exits (or is a zombie) within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


FULL_DISK = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead of killing us
exec(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), int(sys.argv[2])))
exec(sys.argv[3])
"""


def with_full_disk(setup: str, limit: int, then: str) -> subprocess.CompletedProcess:
    """Run python `setup`, then with no file growing past `limit` bytes (a full disk) run `then`."""
    return subprocess.run([sys.executable, "-c", FULL_DISK, setup, str(limit), then], capture_output=True, text=True,
                          timeout=120, env=os.environ | {"COLUMNS": "200"})  # fmt: skip


def reviewdesk_with_full_disk(args: list[str], limit: int) -> subprocess.CompletedProcess:
    """The CLI with `args`, with no file growing past `limit` bytes."""
    return with_full_disk("from reviewdesk.cli import app", limit, f"app({json.dumps(args)}, prog_name='reviewdesk')")
