"""Browser benchmark: the review screen in Debian's Chromium (Playwright) against `streamlit run`, on the
demo data with 100,000 items published in one queue, while reviewer processes submit through the library.

Targets (issue 13: the review screen):
- Submit (Ctrl+Enter) until the next item's answer text is drawn: p50 <= 150 ms, p95 <= 250 ms;
- a number key until its choice shows as selected: p95 <= 100 ms.

Both are timed inside the page, from the key's `keydown` (a listener installed before the app's) to the
first animation frame where the result is on screen: for Submit, the position caption names another
item, that item's last chat message (its answer) has its text drawn (as markdown, or as code in the
base app) and nothing is stale (no element left from the item before); for a key, the first
criterion's radio is checked (the app selects it in the page, then reruns the form: the time until
that rerun is done too, with the radio still checked, is reported beside it). The baseline is the
same run's figures for today's main (the app at BASE, extracted with `git archive` into a temp dir and
served the same way), on a copy of the same data (with the `users.queues` column BASE reads:
review-store m012 turned it into grants), under the same load. Meanwhile `--load` reviewer processes
(8 by default) submit through the library into the store of the app being measured, at `--rate`
submissions/s in all (Poisson arrivals; `--rate 0`: as fast as they can).

The data dir (the demo with 100,000 more items in support-quality) is built once with the demo and
ingest library and kept in /tmp/reviewdesk-browser-bench between runs. Run with
`.venv/bin/python bench/browser_bench.py [--items N] [--submits N] [--load N] [--rate R]` (the first
run builds the data: a few minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from review_bench import reviewer
from sqlalchemy import inspect, text

from reviewdesk.config import Settings
from reviewdesk.demo.run import run_demo
from reviewdesk.queues import load_queues
from reviewdesk.review.accounts import add_user, get_user
from reviewdesk.review.steps import publish_step, sample_step
from reviewdesk.stores.reviewstore import ReviewStore

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path("/tmp/reviewdesk-browser-bench")
BASE = "43b2ae2"  # main before issues 13, 14 and 16
QUEUE = "support-quality"
USER, PASSWORD = "bench-lead", "bench password 1"
TARGETS = {"submit p50": 150.0, "submit p95": 250.0, "key p95": 100.0}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip
# Before the app's own listeners: the moment each key went down, in the page's clock.
KEYDOWN = "window.benchDown = 0; addEventListener('keydown', () => { window.benchDown = performance.now(); }, true);"
SETTLED = "!document.querySelector('[data-stale=\"true\"], [data-testid=\"stSkeleton\"]')"
CAPTION = ("[...document.querySelectorAll('[data-testid=\"stCaptionContainer\"]')]"
           ".find(c => c.innerText.includes('of batch'))")
NEXT_ITEM_DRAWN = f"""(old) => {{ window.benchDone = new Promise(done => {{ const check = () => {{
    const caption = {CAPTION}, answers = document.querySelectorAll('[data-testid="stChatMessage"], .answer');
    const answer = answers[answers.length - 1];  // .answer: one st.html per run; stChatMessage: before it
    if (caption && caption.innerText !== old && answer && (answer.matches('.answer')
        || answer.querySelector('[data-testid="stHtml"], [data-testid="stCode"]'))
        && answer.innerText.trim() && {SETTLED}) done(performance.now() - window.benchDown);
    else requestAnimationFrame(check); }}; check(); }}); }}"""
# A key: the first frame with the choice selected (what the reviewer waits for), and, apart, the first
# frame where the form's rerun has also drawn (the keys moved on to the next criterion, nothing stale)
# with the choice still selected.
KEYS_LINE = ("[...document.querySelectorAll('[data-testid=\"stMarkdownContainer\"]')]"
             ".find(c => c.innerText.startsWith('Keys answer'))?.innerText")
KEY_SHOWN = f"""() => {{ const before = {KEYS_LINE};
    window.benchSettled = new Promise(settled => {{ window.benchDone = new Promise(done => {{
    let shown = null; const check = () => {{
    const checked = document.querySelector('[data-testid="stRadio"] input:checked');
    if (checked && shown === null) {{ shown = performance.now() - window.benchDown; done(shown); }}
    if (checked && {KEYS_LINE} !== before && {SETTLED}) settled(performance.now() - window.benchDown);
    else requestAnimationFrame(check); }}; check(); }}); }}); }}"""


def build(items: int) -> Path:
    """The demo data dir with `items` more items published in QUEUE, built once and kept in CACHE."""
    data = CACHE / f"data-{items}"
    if (data / "built").exists():
        return data
    shutil.rmtree(data, ignore_errors=True)
    settings = Settings.load(data, ROOT / "queues")
    print(f"building the demo with {items:,} more items in {QUEUE} under {data} (once) ...", flush=True)
    run_demo(settings, runs=int(items * 2.5), seed=11, simulate=False)  # enough runs pass the queue's filter
    queue = next(q for q in load_queues(settings.queues_dir) if q.name == QUEUE)
    batch = sample_step(settings, queue, size=items, seed=11)
    publish_step(settings, queue, batch.batch_id)
    (data / "built").write_text("")
    return data


def base_data(data: Path) -> Path:
    """A copy of `data` that the BASE app can read: its users table with the old `queues` column (NULL: any queue)."""
    copy = data.with_name(data.name + "-base")
    if not (copy / "built").exists():
        shutil.rmtree(copy, ignore_errors=True)
        ReviewStore(Settings.load(data).review_url).close()  # migrated, checkpointed and closed first
        shutil.copytree(data, copy)
        with ReviewStore(Settings.load(copy).review_url) as store, store.write() as conn:
            if "queues" not in {c["name"] for c in inspect(conn).get_columns("users")}:
                conn.execute(text("ALTER TABLE users ADD COLUMN queues JSON"))
    return copy


@contextlib.contextmanager
def loaded(url: str, processes: int, rate: float) -> Iterator[None]:
    """`processes` reviewers submitting through the library into the store at `url` meanwhile."""
    names = [f"bench-load-{i}" for i in range(processes)]
    with ReviewStore(url) as store:
        for name in [USER, *names]:
            if get_user(store, name) is None:
                add_user(store, name, "lead", PASSWORD)  # leads: any queue, whatever its grants
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(processes + 1), ctx.Queue()
    interval = processes / rate if rate else 0.0
    procs = [ctx.Process(target=reviewer, args=(url, n, 3600, False, interval, barrier, results)) for n in names]
    for p in procs:
        p.start()
    if procs:
        barrier.wait()
    try:
        yield
    finally:
        for p in procs:
            p.terminate()


def base_checkout(ref: str = BASE) -> Path:
    """The app at commit `ref`, extracted with `git archive` (no worktree is registered)."""
    where = CACHE / f"base-{ref}"
    if not (where / "review_app" / "app.py").exists():
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True).stdout
        where.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(where, filter="data")
    return where


@contextlib.contextmanager
def served(code: Path, data: Path, log: Path) -> Iterator[str]:
    """`streamlit run` of `code`'s review app on `data`, with `reviewdesk app`'s flags; yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {"REVIEWDESK_DATA_DIR": str(data), "REVIEWDESK_QUEUES_DIR": str(ROOT / "queues"),
                        "PYTHONPATH": str(code)}  # fmt: skip
    own = f"import json; from reviewdesk.cli.serve import server_command as c; print(json.dumps(c({port}, '')))"
    flags = json.loads(subprocess.run([sys.executable, "-c", own], env=env, cwd=code, check=True, capture_output=True,
                                      text=True).stdout)  # fmt: skip  (each version serves with its own flags)
    flags[flags.index("--server.address") + 1] = "127.0.0.1"
    command = [*flags, "--server.fileWatcherType", "none"]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=code, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                break
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def settle(page) -> None:
    page.wait_for_function(f"() => {SETTLED} && document.querySelector('[data-testid=\"stApp\"]')"
                           ".getAttribute('data-test-script-state') === 'notRunning'")  # fmt: skip
    page.wait_for_timeout(150)


def timed(page, setup: str, key: str, arg: object = None) -> float:
    """Milliseconds from `key` going down to the first frame where `setup`'s condition holds."""
    page.evaluate(setup, arg)
    page.keyboard.press(key)
    return page.evaluate("window.benchDone")


def measure(browser, url: str, submits: int, shot: Path) -> dict[str, list[float]]:
    """Log in, open QUEUE on the review page, then per item: key 1 (timed), key 4, Ctrl+Enter (timed).
    A failure leaves a screenshot at `shot`."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(60_000)
    context.add_init_script(KEYDOWN)
    page = context.new_page()
    try:
        return review(page, url, submits)
    except Exception:
        page.screenshot(path=str(shot))
        raise
    finally:
        context.close()


def review(page, url: str, submits: int) -> dict[str, list[float]]:
    page.goto(url)
    page.get_by_role("textbox", name="Username").fill(USER)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Review", exact=True).click()
    page.get_by_role("button", name="Submit").wait_for()
    page.locator("[data-testid='stSelectbox'], [data-testid='stButtonGroup']").first.wait_for()
    if page.get_by_test_id("stSelectbox").filter(has_text="Queue").count():  # main's queue picker
        page.get_by_test_id("stSelectbox").filter(has_text="Queue").click()
        page.get_by_role("option", name=QUEUE, exact=True).click()
    else:
        page.get_by_test_id("stButtonGroup").get_by_role("radio", name=QUEUE, exact=True).click()
    page.get_by_text("Keys answer").filter(has_text="Correctness").wait_for()
    times: dict[str, list[float]] = {"submit": [], "key": [], "key settled": []}
    for n in range(submits + 2):  # the first two rounds warm up
        settle(page)
        page.mouse.click(5, 5)  # focus on nothing that takes keys
        key = timed(page, KEY_SHOWN, "1")
        settled = page.evaluate("window.benchSettled")
        settle(page)
        page.keyboard.press("4")
        page.get_by_text("Keys answer").wait_for(state="detached")
        settle(page)
        old = page.evaluate(f"() => {CAPTION}.innerText")
        submit = timed(page, NEXT_ITEM_DRAWN, "Control+Enter", old)
        if n >= 2:
            times["key"].append(key)
            times["key settled"].append(settled)
            times["submit"].append(submit)
    return times


def p95(values: list[float]) -> float:
    return sorted(values)[round(0.95 * (len(values) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--submits", type=int, default=30)
    parser.add_argument("--load", type=int, default=8, help="reviewer processes submitting meanwhile")
    parser.add_argument("--rate", type=float, default=200.0, help="their submissions/s in all; 0: no pause")
    args = parser.parse_args()
    data = build(args.items)
    from playwright.sync_api import sync_playwright

    figures = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for label, code, where in (("this branch", ROOT, data), ("main " + BASE, base_checkout(), base_data(data))):
            name = label.split()[0]
            with loaded(Settings.load(where).review_url, args.load, args.rate), \
                    served(code, where, CACHE / f"streamlit-{name}.log") as app_url:  # fmt: skip
                figures[label] = measure(browser, app_url, args.submits, CACHE / f"{name}.png")
        browser.close()
    load = f"{args.load} reviewer processes submitting at {args.rate:g}/s in all" if args.rate else "no pause"
    print(f"review screen in Chromium, {args.items:,} items published in {QUEUE}, {args.submits} items each, "
          f"{load}")  # fmt: skip
    for label, times in figures.items():
        s, k, r = times["submit"], times["key"], times["key settled"]
        print(f"  {label:14s} submit p50 {statistics.median(s):6.1f} ms  p95 {p95(s):6.1f} ms   "
              f"key p50 {statistics.median(k):6.1f} ms  p95 {p95(k):6.1f} ms   "
              f"(key's rerun done: p50 {statistics.median(r):6.1f} ms  p95 {p95(r):6.1f} ms)")  # fmt: skip
    mine, base = figures["this branch"], figures[f"main {BASE}"]
    for name, target in TARGETS.items():
        kind, stat = name.split()
        value = (statistics.median if stat == "p50" else p95)(mine[kind])
        was = (statistics.median if stat == "p50" else p95)(base[kind])
        verdict = "ok" if value <= target else "MISSED"
        print(f"{name}: {value:.0f} ms (target <= {target:.0f} ms: {verdict}; main {was:.0f} ms, {was / value:.1f}x)")


if __name__ == "__main__":
    main()
