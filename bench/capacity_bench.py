"""Capacity benchmark: how many reviewers one app process serves (issue 17). N reviewers at once, each
in their own browser context of Debian's Chromium (Playwright's async API drives them side by side),
review on one `streamlit run` of the app, on the demo data with 100,000 items published in one queue
(the data `bench/browser_bench.py` builds and keeps).

Each reviewer logs in (their own account, granted the queue), opens it and then, per item, presses 1
and 4 (each waits for the page to settle, as a person sees it) and Ctrl+Enter, then thinks for
`--think` seconds on average (uniform, half to one and a half times) before the next item. Submit is
timed inside the page as in browser_bench: from Ctrl+Enter's keydown to the first frame with the next
item's answer drawn. Memory per reviewer: how the server's resident memory (a fresh server for each
N, measured once all N review) grows from the fewest reviewers to the most, over their difference; the
first session's one-off cost (the app's imports, its caches) is then left out.

Reported at 5, 10 and 20 reviewers (`--reviewers`), beside the target Submit p95 <= 500 ms, and the
sizing rule that follows: the most reviewers per process (and per core) within it. The browsers run on
the same 2 cores as the server: a real team's browsers do not, so the figures are on the safe side.
Run with `.venv/bin/python bench/capacity_bench.py [--reviewers 5,10,20] [--items-each N] [--think S]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics

import psutil
from browser_bench import CACHE, CAPTION, CHROMIUM_ARGS, KEYDOWN, NEXT_ITEM_DRAWN, QUEUE, ROOT, SETTLED, build, served
from playwright.async_api import TimeoutError as PlaywrightTimeout

from reviewdesk.config import Settings
from reviewdesk.review.access import grant
from reviewdesk.review.accounts import add_user, get_user
from reviewdesk.review.qualification import qualify
from reviewdesk.stores.reviewstore import ReviewStore

PASSWORD = "bench password 1"
LEAD = "bench-lead"  # grants the queue and qualifies the reviewers in it
TARGET_P95 = 500.0  # ms: Submit to the next item, what a reviewer still feels as immediate enough
LOST_AFTER_MS = 10_000  # a number key's form rerun not back by then is counted as lost
WARM_UP = 2  # items each reviewer answers before their Submits count


def accounts(data, count: int) -> list[str]:
    """`count` reviewer accounts, each granted QUEUE and qualified in it (live items, not its training)."""
    names = [f"bench-reviewer-{i:02d}" for i in range(count)]
    with ReviewStore(Settings.load(data).review_url) as store:
        if get_user(store, LEAD) is None:
            add_user(store, LEAD, "lead", PASSWORD)
        for name in names:
            if get_user(store, name) is None:
                add_user(store, name, "reviewer", PASSWORD)
            grant(store, QUEUE, name, by=LEAD)
            qualify(store, QUEUE, name, LEAD, "capacity bench: reviewers start qualified")
    return names


async def settle(page) -> None:
    await page.wait_for_function(f"() => {SETTLED} && document.querySelector('[data-testid=\"stApp\"]')"
                                 ".getAttribute('data-test-script-state') === 'notRunning'")  # fmt: skip
    await page.wait_for_timeout(150)  # a key pressed as a run ends can be lost (see tests/conftest.py AppPage)


async def review(browser, url: str, name: str, items: int, think: float, ready: asyncio.Barrier) -> tuple:
    """One reviewer: log in, open the queue, wait for everyone, then answer and submit `items` items; returns
    (their Submit times, number keys whose rerun was lost, 1 if a Submit never drew the next item, else 0)."""
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(120_000)
    await context.add_init_script(KEYDOWN)
    page = await context.new_page()
    try:
        await page.goto(url)
        await page.get_by_role("textbox", name="Username").fill(name)
        await page.get_by_role("textbox", name="Password").fill(PASSWORD)
        await page.get_by_role("button", name="Log in").click()
        await page.get_by_test_id("stSidebarNav").get_by_role("link", name="Review", exact=True).click()
        await page.get_by_test_id("stButtonGroup").get_by_role("radio", name=QUEUE, exact=True).click()
        await page.get_by_text("Keys answer").filter(has_text="Correctness").wait_for()
        await ready.wait()
        times, lost, rng = [], 0, random.Random(name)
        for n in range(items + WARM_UP):
            await settle(page)
            await page.mouse.click(5, 5)  # focus on nothing that takes keys
            await page.keyboard.press("1")
            await page.get_by_text("Keys answer").filter(has_text="Helpfulness").wait_for()
            await settle(page)
            await page.keyboard.press("4")
            try:  # the form's rerun moves the highlight on: every criterion answered, no "Keys answer" left
                await page.get_by_text("Keys answer").wait_for(state="detached", timeout=LOST_AFTER_MS)
            except PlaywrightTimeout:  # the choice shows selected, but its rerun never came back: counted
                lost += 1
            await settle(page)
            old = await page.evaluate(f"() => {CAPTION}.innerText")
            await page.evaluate(NEXT_ITEM_DRAWN, old)
            await page.keyboard.press("Control+Enter")
            try:
                took = await asyncio.wait_for(page.evaluate("window.benchDone"), LOST_AFTER_MS / 1000 * 3)
            except TimeoutError:  # the next item never came: counted, shown, and this reviewer stops
                await page.screenshot(path=str(CACHE / f"capacity-stuck-{name}.png"))
                return times, lost, 1
            if n >= WARM_UP:
                times.append(took)
            await asyncio.sleep(rng.uniform(think / 2, think * 1.5))
        return times, lost, 0
    except Exception:
        await ready.abort()  # the others wait for everyone at the barrier: let them stop too
        await page.screenshot(path=str(CACHE / f"capacity-{name}.png"))
        raise
    finally:
        await context.close()


def resident(server: psutil.Process) -> int:
    return sum(p.memory_info().rss for p in [server, *server.children(recursive=True)])


async def crowd(url: str, names: list[str], items: int, think: float, server: psutil.Process) -> tuple:
    """Everyone in `names` at once; returns (Submit times in ms, number keys whose rerun was lost, Submits whose
    next item never came, the server's memory in bytes once all review)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        ready = asyncio.Barrier(len(names) + 1)
        tasks = [asyncio.create_task(review(browser, url, n, items, think, ready)) for n in names]
        await ready.wait()
        memory = resident(server)
        done = await asyncio.gather(*tasks)
        await browser.close()
    lost_keys, stuck = sum(d[1] for d in done), sum(d[2] for d in done)
    return [t for times, _, _ in done for t in times], lost_keys, stuck, memory


def p95(values: list[float]) -> float:
    return sorted(values)[round(0.95 * (len(values) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reviewers", default="5,10,20", help="reviewers at once, comma-separated, in turn")
    parser.add_argument("--items-each", type=int, default=12, help="timed Submits per reviewer")
    parser.add_argument("--think", type=float, default=3.0, help="mean seconds between items (a fast reviewer)")
    args = parser.parse_args()
    counts = [int(n) for n in args.reviewers.split(",")]
    data = build(100_000)
    names = accounts(data, max(counts))
    rows = []
    for count in counts:  # a fresh server each time, so memory starts from the same place
        with served(ROOT, data, CACHE / f"streamlit-capacity-{count}.log") as url:
            server = next(p for p in psutil.Process(os.getpid()).children() if "streamlit" in " ".join(p.cmdline()))
            times, lost, stuck, memory = asyncio.run(crowd(url, names[:count], args.items_each, args.think, server))
        rows.append((count, statistics.median(times), p95(times), memory / 2**20))
        print(f"{count:3d} reviewers: Submit p50 {rows[-1][1]:6.0f} ms, p95 {rows[-1][2]:6.0f} ms "
              f"(target <= {TARGET_P95:.0f} ms: {'ok' if rows[-1][2] <= TARGET_P95 else 'MISSED'}), "
              f"server memory {rows[-1][3]:.0f} MiB, number keys whose form rerun never came back: {lost}, "
              f"Submits whose next item never came: {stuck}")  # fmt: skip
    if len(rows) > 1:
        (fewest, _, _, low), (most, _, _, high) = rows[0], rows[-1]
        print(f"memory per reviewer: {(high - low) / (most - fewest):.1f} MiB (from {fewest} to {most} reviewers)")
    within = [count for count, _, worst, _ in rows if worst <= TARGET_P95]
    cores = psutil.cpu_count()
    if within:
        print(f"sizing: one app process serves at least {max(within)} reviewers at Submit p95 <= {TARGET_P95:.0f} ms "
              f"on this {cores}-core machine (browsers included), so {max(within) / cores:.1f} per core")  # fmt: skip
    else:
        print(f"sizing: even {min(counts)} reviewers miss Submit p95 <= {TARGET_P95:.0f} ms here")


if __name__ == "__main__":
    main()
