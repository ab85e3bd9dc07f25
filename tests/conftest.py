"""Shared fixtures: real DuckDB files in temp dirs, one Prefect test API for the session, and for the
end-to-end tests the review app under `streamlit run` with Debian's Chromium driving it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from demo_support import build_demo, demo_copy, qualify_demo_reviewers
from process_support import free_port, healthy, postgres_bin, postgres_cluster

from reviewdesk.stores.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]


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

    with prefect_test_harness(server_startup_timeout=300):  # 30 s by default; a loaded 2-core machine took 77 s
        yield


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL server on loopback, or REVIEWDESK_TEST_POSTGRES_URL if given.

    CI installs Debian's postgresql and sets REQUIRE_POSTGRES=1, so there a missing server fails
    the test instead of skipping it.
    """
    if url := os.environ.get("REVIEWDESK_TEST_POSTGRES_URL"):
        yield url
        return
    bindir = postgres_bin()
    if bindir is None:
        message = "no PostgreSQL server: apt-get install postgresql, or set REVIEWDESK_TEST_POSTGRES_URL"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    with postgres_cluster(bindir) as url:
        yield url


PHOENIX_BIN = ROOT / ".venv-phoenix" / "bin" / "phoenix"  # `make phoenix` installs it in its own venv
PHOENIX_START_SECONDS = 180  # measured: 20 s, 51 s while 7 other test runs share the 2 cores (migrations included)


@pytest.fixture(scope="session")
def phoenix_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Arize Phoenix server (`phoenix serve`: SQLite in a temp dir, loopback, no telemetry), started
    once per session, or REVIEWDESK_TEST_PHOENIX_URL if given.

    `make test` installs it (`make phoenix`); CI sets REQUIRE_PHOENIX=1, so there a missing or broken
    server fails the test instead of skipping it.
    """
    if url := os.environ.get("REVIEWDESK_TEST_PHOENIX_URL"):
        yield url.rstrip("/")
        return
    required = os.environ.get("REQUIRE_PHOENIX") == "1" or os.environ.get("CI") == "true"
    if not PHOENIX_BIN.exists():
        message = f"no Phoenix server at {PHOENIX_BIN}: run `make phoenix`"
        if required:
            pytest.fail(message)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("phoenix")
    (server := work / "server").mkdir()  # Phoenix's working dir (its SQLite database); the log stays beside it
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(server), "PHOENIX_WORKING_DIR": str(server),
        "PHOENIX_HOST": "127.0.0.1", "PHOENIX_PORT": str(port), "PHOENIX_GRPC_PORT": str(free_port()),
        "PHOENIX_TELEMETRY_ENABLED": "false", "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
    }  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    give_up = pytest.fail if required else pytest.skip
    with running([str(PHOENIX_BIN), "serve"], server, env, work / "phoenix.log", f"{url}/healthz",
                 PHOENIX_START_SECONDS, "phoenix serve", give_up):  # fmt: skip
        yield url


@contextlib.contextmanager
def running(command: list[str], cwd: Path, env: dict, log: Path, health: str, timeout: float, name: str,
            give_up=pytest.fail) -> Iterator[None]:  # fmt: skip
    """A server process (`command`, its output in `log`) up once `health` answers 200; stopped after. If it
    exits or is not healthy within `timeout` seconds, `give_up` (fail or skip) with the end of its output."""
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if healthy(health, path=""):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                exited = proc.poll() is not None
                state = f"exited with {proc.returncode}" if exited else f"not healthy after {timeout:g} s"
                give_up(f"{name} {state}; the end of its output:\n{log.read_text(errors='replace')[-8000:]}")
            time.sleep(0.25)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class LiveApp(NamedTuple):
    """The review app served by `streamlit run` on a demo data directory."""

    url: str
    data_dir: Path


@contextlib.contextmanager
def serving(data_dir: Path, queues_dir: Path, log: Path) -> Iterator[str]:
    """The review app on `data_dir` served by `streamlit run` on a free loopback port, the way `reviewdesk app`
    starts it; yields its URL once healthy, and stops it after."""
    from reviewdesk.cli.serve import server_command
    from reviewdesk.config import Settings

    settings = Settings.load(data_dir, queues_dir)
    env = os.environ | {"REVIEWDESK_DATA_DIR": str(settings.data_dir), "REVIEWDESK_QUEUES_DIR": str(queues_dir)}
    if settings.review_store_url:
        env["REVIEWDESK_REVIEW_STORE_URL"] = settings.review_store_url
    port = free_port()
    # No file watcher: edits elsewhere in the working tree must not reload the app under test.
    command = [*server_command(port, "127.0.0.1"), "--server.fileWatcherType", "none"]
    url = f"http://127.0.0.1:{port}"
    with running(command, ROOT, env, log, f"{url}/_stcore/health", 60, "streamlit run"):
        yield url


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The demo (800 runs, seed 3: accounts with DEMO_PASSWORD, a published batch per queue) served
    by `streamlit run` on a free loopback port, the way `reviewdesk app` starts it."""
    from reviewdesk.config import Settings
    from reviewdesk.demo.run import run_demo

    root = tmp_path_factory.mktemp("live-app")
    settings = Settings.load(root / "data", ROOT / "queues")
    run_demo(settings, runs=800, seed=3, simulate=False)
    qualify_demo_reviewers(settings.data_dir)
    with serving(settings.data_dir, ROOT / "queues", root / "streamlit.log") as url:
        yield LiveApp(url, settings.data_dir)


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium under Playwright (`playwright install` cannot download browsers here).

    `make test` installs it; CI sets REQUIRE_BROWSER=1, so there a missing browser fails the test
    instead of skipping it.
    """
    if not CHROMIUM.exists():
        message = f"no browser at {CHROMIUM}: `make test` installs it (apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER") == "1" or os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class AppPage:
    """A browser page on the live app. Every key or click reruns the app, and a key pressed before
    the page has settled from the previous rerun can be lost or applied twice (a bug of the review
    view's number keys), so `with app.rerun(): action` returns only once the run that the action
    caused has finished on the server (Streamlit's script_finished message on the page's websocket)
    and in the page (script state notRunning, no stale elements left, two frames painted)."""

    def __init__(self, page) -> None:
        self.page = page
        self.runs = 0  # runs finished: the page's, or a fragment's that a key or click caused
        self.cut_short = 0  # runs stopped early for a rerun the app asked for (work thrown away)
        self.timers: set[str] = set()  # fragments that rerun on a timer (the countdown): their runs do not count
        self.drawn: set[str] = set()  # fragments that drew something in the run under way
        self.finished: list[tuple[str, list[str]]] = []  # each run's end and what it drew: told on a timeout
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload: str | bytes) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if not isinstance(payload, bytes):
            return
        msg = ForwardMsg.FromString(payload)
        kind = msg.WhichOneof("type")
        if kind == "auto_rerun":
            self.timers.add(msg.auto_rerun.fragment_id)
        elif kind == "delta" and msg.delta.fragment_id:
            self.drawn.add(msg.delta.fragment_id)
        elif kind == "script_finished":
            self.finished.append((ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished), sorted(self.drawn)))
            self.cut_short += msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN
            if msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY or (
                msg.script_finished == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY and self.drawn - self.timers
            ):
                self.runs += 1
            self.drawn.clear()

    @contextlib.contextmanager
    def rerun(self, timeout: float = 20) -> Iterator[None]:
        before, deadline, seen = self.runs, time.monotonic() + timeout, len(self.finished)
        yield
        while self.runs == before:
            if time.monotonic() > deadline:
                raise AssertionError(f"the app did not finish a run within {timeout} s; runs ended since "
                                     f"(timers {sorted(self.timers)}): {self.finished[seen:]}")  # fmt: skip
            self.page.wait_for_timeout(20)  # lets Playwright deliver the websocket frames
        from playwright.sync_api import expect

        expect(self.page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")
        expect(self.page.locator("[data-stale='true']")).to_have_count(0)
        self.page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")

    def unfocus(self) -> None:
        """Take the focus off any field (the number keys then answer), by clicking the item's position line."""
        self.page.get_by_test_id("stCaptionContainer").filter(has_text="of batch").click()

    def pick_queue(self, queue: str) -> None:
        """Choose `queue` among the Review page's queue pills (no rerun if it is chosen already)."""
        pill = self.page.get_by_test_id("stButtonGroup").get_by_role("radio", name=queue, exact=True)
        if pill.get_attribute("aria-checked") == "true":
            return
        with self.rerun():
            pill.click()


@contextlib.contextmanager
def opened(chromium, url: str) -> Iterator[AppPage]:
    """A fresh browser context (so a fresh Streamlit session) on the app at `url`, first run done."""
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(20_000)
    app = AppPage(context.new_page())
    with app.rerun():
        app.page.goto(url)
    yield app
    context.close()


@pytest.fixture
def app_page(chromium, live_app: LiveApp) -> Iterator[AppPage]:
    """A fresh browser context on the demo app's start page, first run done."""
    with opened(chromium, live_app.url) as app:
        yield app


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo data dir with published queues and no reviews, built once (see demo_support)."""
    return build_demo(tmp_path_factory.mktemp("demo-template") / "data")


@pytest.fixture
def demo_stores(demo_template: Path, tmp_path: Path):
    """Both stores of a fresh copy of the demo template, for tests that review, collect and resolve."""
    with demo_copy(demo_template, tmp_path / "data") as both:
        yield both
