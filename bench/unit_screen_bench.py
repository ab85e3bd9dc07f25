"""Browser benchmark: a trace item of 200 steps on the review screen, in Debian's Chromium (Playwright)
against `streamlit run` (issue 18).

Targets: the first view under 1 s; each step opened under 200 ms.
- first view: from the click on the trace queue's pill to the first animation frame where the trace's
  final answer is drawn and nothing is stale; beside it, the same figure for a run-level item in the
  same run (the baseline: the review screen as it draws one run).
- open a step: from the click on a step's row to the first frame where its output is drawn.
Both are timed inside the page, from the click (a capture listener installed before the app's) on.

The items are published by hand into a new review store, as the payload contract says publish writes
them (tests/unit_support.py builds them). Run with `.venv/bin/python bench/unit_screen_bench.py [--rounds N]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from browser_bench import CHROMIUM_ARGS, ROOT, SETTLED, p95, served, settle

sys.path.insert(0, str(ROOT / "tests"))  # the tests' hand-built unit items
from review_support import PASSWORD, seed_batch
from unit_support import unit_payload, unit_queue, wide_trace

from reviewdesk.config import Settings
from reviewdesk.review import accounts
from reviewdesk.stores.reviewstore import ReviewStore

STEPS = 200
TARGETS = {"first view p95": 1000.0, "open a step p95": 200.0}
CLICKED = "window.benchDown = 0; addEventListener('click', () => { window.benchDown = performance.now(); }, true);"
DRAWN = f"""(text) => {{ window.benchDone = new Promise(done => {{ const check = () => {{
    const pane = document.querySelector('.st-key-content_pane');
    if (pane && pane.innerText.includes(text) && {SETTLED}) done(performance.now() - window.benchDown);
    else requestAnimationFrame(check); }}; check(); }}); }}"""


def build(data: Path) -> None:
    """A store with reviewer `bench`, a trace queue holding one trace of STEPS steps and a run queue of one run."""
    with ReviewStore(Settings.load(data).review_url) as store:
        accounts.add_user(store, "bench", "reviewer", PASSWORD)
        traces = unit_queue("bench-traces", "trace", assignees=["bench"])
        seed_batch(store, traces, n=1, reviewers_needed=1, payloads=[unit_payload("trace", "w", wide_trace(STEPS))])
        runs = unit_queue("bench-runs", "run", [], assignees=["bench"])
        seed_batch(store, runs, n=1, reviewers_needed=1)


def timed(page, text: str, click) -> float:
    """Milliseconds from the click to the first settled frame whose content pane shows `text`."""
    page.evaluate(DRAWN, text)
    click()
    ms = page.evaluate("window.benchDone")
    settle(page)
    return ms


def measure(browser, url: str, rounds: int) -> dict[str, list[float]]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(60_000)
    context.add_init_script(CLICKED)
    page = context.new_page()
    page.goto(url)
    page.get_by_role("textbox", name="Username").fill("bench")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Review", exact=True).click()
    page.get_by_role("button", name="Submit").wait_for()
    pills = page.get_by_test_id("stButtonGroup")
    times: dict[str, list[float]] = {"first view": [], "run item": [], "open a step": []}
    for n in range(rounds + 2):  # the first two rounds warm up
        run = timed(page, "answer 1", lambda: pills.get_by_role("radio", name="bench-runs", exact=True).click())
        first = timed(page, "trip planned", lambda: pills.get_by_role("radio", name="bench-traces", exact=True).click())
        if n >= 2:
            times["run item"].append(run)
            times["first view"].append(first)
    for i in range(1, 2 * rounds, 2):  # the model calls: steps 2, 4, ...; each opened, then closed again
        row = page.locator(f"[class*='st-key-content-'][class*='-step-{i + 1}'] summary").first
        times["open a step"].append(timed(page, f"Thinking, step {i}:", row.click))
        row.click()
        settle(page)
    page.screenshot(path=str(Path(tempfile.gettempdir()) / "reviewdesk-shots" / "unit-trace-200.png"))
    context.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    (Path(tempfile.gettempdir()) / "reviewdesk-shots").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        data = Path(tmp) / "data"
        build(data)
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        with served(ROOT, data, Path(tmp) / "streamlit.log") as url:
            times = measure(browser, url, args.rounds)
        browser.close()
    for name, values in times.items():
        target = TARGETS.get(f"{name} p95")
        note = f"target < {target:.0f} ms" if target else "baseline: a run-level item, same run"
        print(f"{name:12} p50 {statistics.median(values):6.0f} ms  p95 {p95(values):6.0f} ms  ({note})")
    ratio = statistics.median(times["first view"]) / statistics.median(times["run item"])
    print(f"first view of a {STEPS}-step trace / a run item (p50): {ratio:.1f}x")


if __name__ == "__main__":
    main()
