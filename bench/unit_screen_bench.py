"""Browser benchmark: a trace item of 200 steps on the review screen, in Debian's Chromium (Playwright)
against `streamlit run` (issue 18).

Targets: the first view under 1 s; each step opened under 200 ms.
- first view: from the click on the trace queue's pill to the first animation frame where the trace's
  final answer is drawn and nothing is stale; beside it, the same figure for a run-level item in the
  same run (the review screen as it draws one run).
- open a step: from the click on a step's row to the first frame where its output is drawn (in the
  content pane's rendered text, nothing stale); "whole" is the first frame where that output is also
  not clipped by the expander's opening animation.
Both are timed inside the page, from the click (a capture listener installed before the app's) on.

The baseline is the app at `--base` (default `main`, extracted with `git archive`), served the same way
on its own copy of the data; the two apps are measured in turns, round by round, in the same run.
`--docs N` gives every tool step N bytes of retrieved documents instead of a short result (bodies of a
realistic size). The items are published by hand into a new review store, as the payload contract says
publish writes them (tests/unit_support.py builds them). Run with
`.venv/bin/python bench/unit_screen_bench.py [--rounds N] [--docs BYTES] [--base REF]`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from browser_bench import CHROMIUM_ARGS, ROOT, SETTLED, base_checkout, p95, served, settle

sys.path.insert(0, str(ROOT / "tests"))  # the tests' hand-built unit items
from review_support import PASSWORD, seed_batch
from unit_support import unit_payload, unit_queue, wide_trace

from reviewdesk.config import Settings
from reviewdesk.review import accounts
from reviewdesk.stores.reviewstore import ReviewStore

STEPS = 200
TARGETS = {"first view": 1000.0, "open a step": 200.0}
CLICKED = "window.benchDown = 0; addEventListener('click', () => { window.benchDown = performance.now(); }, true);"
# Resolves to [drawn, whole] ms: `text` in the content pane's rendered text (nothing stale), then the element
# holding it also inside its expander's box (no longer clipped while the expander opens); whole = drawn off an expander.
DRAWN = f"""(text) => {{ window.benchDone = new Promise(done => {{ let drawn = 0; const check = () => {{
    const pane = document.querySelector('.st-key-content_pane'), now = performance.now() - window.benchDown;
    if (!drawn && pane && pane.innerText.includes(text) && {SETTLED}) drawn = now;
    const el = drawn && [...pane.querySelectorAll('[data-testid="stHtml"], [data-testid="stMarkdown"]')]
        .find(e => e.checkVisibility() && e.innerText.includes(text));
    const box = el && (el.closest('details') || el).getBoundingClientRect();
    if (el && el.getBoundingClientRect().bottom <= box.bottom + 1) done([drawn, now]);
    else requestAnimationFrame(check); }}; check(); }}); }}"""


def with_documents(steps: list[dict], size: int) -> list[dict]:
    """`steps` with every tool step a retrieval of three documents of `size` bytes in all."""
    text = ("Orders ship within two days of payment; refunds take five. " * (1 + size // 180))[: size // 3]
    docs = [{"page_content": text, "metadata": {"source": f"policy-{n}.md"}} for n in range(3)]
    return [{**s, "run_type": "retriever", "outputs": {"documents": docs}} if s["run_type"] == "tool" else s
            for s in steps]  # fmt: skip


def build(data: Path, docs: int) -> None:
    """A store with reviewer `bench`, a trace queue holding one trace of STEPS steps and a run queue of one run."""
    with ReviewStore(Settings.load(data).review_url) as store:
        accounts.add_user(store, "bench", "reviewer", PASSWORD)
        traces = unit_queue("bench-traces", "trace", assignees=["bench"])
        steps = with_documents(wide_trace(STEPS), docs) if docs else wide_trace(STEPS)
        seed_batch(store, traces, n=1, reviewers_needed=1, payloads=[unit_payload("trace", "w", steps)])
        runs = unit_queue("bench-runs", "run", [], assignees=["bench"])
        seed_batch(store, runs, n=1, reviewers_needed=1)


def timed(page, text: str, click) -> list[float]:
    """[drawn, whole]: milliseconds from the click to the first settled frame whose content pane shows `text`."""
    page.evaluate(DRAWN, text)
    click()
    ms = page.evaluate("window.benchDone")
    settle(page)
    return ms


def review_page(browser, url: str):
    """A 1400x900 page logged in as `bench`, on the review page."""
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
    return page


def one_round(page, n: int, times: dict[str, list[float]]) -> None:
    """The run item then the trace (first view), then model-call steps 4n+2 and 4n+4 each opened and closed."""
    pills = page.get_by_test_id("stButtonGroup")
    times["run item"].append(timed(page, "answer 1", lambda: pills.get_by_role("radio", name="bench-runs").click())[0])
    times["first view"].append(timed(page, "trip planned",
                                     lambda: pills.get_by_role("radio", name="bench-traces").click())[0])  # fmt: skip
    for i in (4 * n + 1, 4 * n + 3):  # the model calls are the odd steps of wide_trace, at positions i + 1
        row = page.locator(f"[class*='st-key-content-'][class*='-step-{i + 1}'] summary").first
        drawn, whole = timed(page, f"Thinking, step {i}:", row.click)
        times["open a step"].append(drawn)
        times["open a step, whole"].append(whole)
        row.click()
        settle(page)
        page.wait_for_timeout(500)  # the closing animation


def measure(browser, apps: dict[str, str], rounds: int) -> dict[str, dict[str, list[float]]]:
    """Each app's figures, the apps taking turns round by round (the first two rounds warm up)."""
    pages = {name: review_page(browser, url) for name, url in apps.items()}
    times = {name: {k: [] for k in ("first view", "run item", "open a step", "open a step, whole")} for name in apps}
    for n in range(rounds + 2):
        for name in list(apps)[:: 1 if n % 2 else -1]:
            one_round(pages[name], n, times[name] if n >= 2 else {k: [] for k in times[name]})
    shots = Path(tempfile.gettempdir()) / "reviewdesk-shots"
    for name, page in pages.items():
        page.screenshot(path=str(shots / f"unit-trace-200-{name}.png"))
        page.context.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--docs", type=int, default=0, help="bytes of retrieved documents in every tool step")
    parser.add_argument("--base", default="main", help="the baseline app's git ref")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.base], check=True,
                            capture_output=True, text=True).stdout.strip()  # fmt: skip
    codes = {"branch": ROOT, "base": base_checkout(commit)}
    (Path(tempfile.gettempdir()) / "reviewdesk-shots").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        for name in codes:
            build(Path(tmp) / name, args.docs)
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        with served(codes["branch"], Path(tmp) / "branch", Path(tmp) / "branch.log") as branch, \
                served(codes["base"], Path(tmp) / "base", Path(tmp) / "base.log") as base:  # fmt: skip
            times = measure(browser, {"branch": branch, "base": base}, args.rounds)
        browser.close()
    print(f"{STEPS}-step trace, tool steps with {args.docs:,} bytes of documents; base = {args.base} ({commit})")
    for figure in times["branch"]:
        target = TARGETS.get(figure)
        note = f"target p95 < {target:.0f} ms" if target else ""
        row = [f"p50 {statistics.median(t[figure]):5.0f} p95 {p95(t[figure]):5.0f}" for t in times.values()]
        print(f"{figure:19} branch {row[0]} ms | base {row[1]} ms  {note}")
    for name, t in times.items():
        ratio = statistics.median(t["first view"]) / statistics.median(t["run item"])
        print(f"{name}: first view of the trace / a run item (p50): {ratio:.1f}x")


if __name__ == "__main__":
    main()
