"""App benchmark: reruns of the review view's script (Streamlit AppTest) on a 100,000-item queue.

Target (issue: review app): p95 of one rerun under 150 ms. A reviewer's reruns are timed as they
come in real use: re-rendering the held item, answering by number key (each click reruns), and
submitting (which reserves the next item). The baseline is AppTest rerunning a one-line script in
the same process, so the ratio says what the view itself costs. With `--load N`, N reviewer
processes submit through the store meanwhile (on a 2-core machine they also compete for the CPU).
Run with `.venv/bin/python bench/app_bench.py [--items N] [--reruns N] [--load N]`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path

import yaml
from review_bench import QUEUE, build, reviewer
from streamlit.testing.v1 import AppTest

from reviewdesk.config import Settings
from reviewdesk.review.accounts import add_user
from reviewdesk.stores.reviewstore import ReviewStore
from schemas.queue import QueueConfig

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "review_app" / "app.py")
PASSWORD = "bench password 1"


def timed(step) -> float:
    t = time.perf_counter()
    at = step()
    assert not at.exception, at.exception
    return (time.perf_counter() - t) * 1000


def click(at: AppTest, label: str) -> AppTest:
    return next(b for b in at.button if b.label == label).click().run()


def review_reruns(at: AppTest, reruns: int) -> dict[str, list[float]]:
    """Per kind of rerun, its times in ms: plain, number key, submit (+ next item)."""
    times: dict[str, list[float]] = {"rerun": [], "key": [], "submit": []}
    while len(times["rerun"]) < reruns:
        times["rerun"].append(timed(at.run))
        times["key"].append(timed(lambda: click(at, "correct")))
        times["key"].append(timed(lambda: click(at, "4")))
        times["submit"].append(timed(lambda: click(at, "Submit")))
    return times


def baseline(reruns: int) -> list[float]:
    def page():
        import streamlit as st

        st.write("hello")

    at = AppTest.from_function(page).run()
    return [timed(at.run) for _ in range(reruns)]


def p95(values: list[float]) -> float:
    return sorted(values)[int(0.95 * (len(values) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--reruns", type=int, default=40)
    parser.add_argument("--load", type=int, default=0, help="reviewer processes submitting meanwhile")
    args = parser.parse_args()
    queue = QueueConfig.model_validate(
        {**yaml.safe_load((ROOT / "queues" / f"{QUEUE}.yaml").read_text()), "assignees": []}
    )
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.load(tmp)
        names = [f"bench-reviewer-{i}" for i in range(args.load)]
        with ReviewStore(settings.review_url) as store:
            build(store, queue, args.items, names)
            add_user(store, "bench-app", "reviewer", PASSWORD)
        os.environ["REVIEWDESK_DATA_DIR"] = tmp
        at = AppTest.from_file(APP, default_timeout=60).run()
        at.text_input[0].input("bench-app")
        at.text_input[1].input(PASSWORD)
        at = at.button[0].click().run().switch_page("views/review.py").run()
        at.pills[0].set_value(QUEUE).run()
        review_reruns(at, 3)  # warm up: imports, caches, first reservation

        ctx = multiprocessing.get_context("spawn")
        barrier, results = ctx.Barrier(args.load + 1), ctx.Queue()
        load_args = (3600, False, 0.0, barrier, results)  # closed loop: submit_and_next, no think time
        procs = [ctx.Process(target=reviewer, args=(settings.review_url, n, *load_args)) for n in names]
        for p in procs:
            p.start()
        if procs:
            barrier.wait()
        times = review_reruns(at, args.reruns)
        for p in procs:
            p.terminate()
        base = baseline(args.reruns)
    every = [t for ts in times.values() for t in ts]
    load = f"{args.load} reviewer processes submitting meanwhile" if args.load else "no other load"
    print(f"review view on {args.items:,} published items, {len(every)} reruns ({load})")
    for kind, ts in times.items():
        print(f"  {kind:7s} p50 {statistics.median(ts):6.1f} ms  p95 {p95(ts):6.1f} ms")
    print(f"all reruns: p95 {p95(every):.1f} ms (target < 150 ms)")
    ratio = statistics.median(every) / statistics.median(base)
    print(f"baseline AppTest rerun of a one-line script: p50 {statistics.median(base):.1f} ms; "
          f"review view p50 is {ratio:.1f}x that")  # fmt: skip


if __name__ == "__main__":
    main()
