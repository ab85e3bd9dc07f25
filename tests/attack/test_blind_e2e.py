"""Blind review in a real browser: while a reviewer reviews runs ingested from each format, no hidden
value (model and run names, providers, costs, latencies, gold answers) appears anywhere in the page.

One app serves a single and a pairwise queue per format (native, LangSmith, OTel), each with the
default `reviewer_sees`; the single queue has gold items whose known answer sits in a metadata key
the old deny-list did not strip. The reviewer opens every item, every expander and every collapsed
JSON node, and the page's whole text and HTML are searched. Screenshots go to pytest's tmp dir.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml
from blind_support import ANSWER_KEY, FORMATS, GOLD_FROM_METADATA, demo_runs, hidden_strings
from conftest import AppPage, opened, serving
from test_e2e import log_in

from reviewdesk.config import Settings
from reviewdesk.demo.exports import write_runs
from reviewdesk.demo.run import DEMO_PASSWORD
from reviewdesk.ingest import ingest_file
from reviewdesk.review.accounts import add_user
from reviewdesk.review.publication import publish
from reviewdesk.sample.designs import draw_batch
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
REVIEWER = "reviewer1"
LAST = "Nothing left for you in this queue"


class BlindApp(NamedTuple):
    url: str
    hidden: dict[str, set[str]]  # format -> every value its reviewer must not see
    items: dict[str, int]  # queue -> items published


def queue_file(queues_dir: Path, example: str, name: str, fmt: str, **changes: object) -> dict:
    """An example queue renamed, narrowed to one format's runs, small, for REVIEWER alone, default reviewer_sees."""
    raw = yaml.safe_load((ROOT / "queues" / f"{example}.yaml").read_text())
    for key in ("reviewer_sees", "promotion", "schedule", "gold_fraction", "gold_source", "training", "monitoring"):
        raw.pop(key, None)
    raw["sampling"] = {"filter": f"{raw['sampling']['filter']} AND source_format = '{fmt}'", "size": 1}
    raw |= {"name": name, "assignees": [REVIEWER], "reviewers_per_item": 1, "overlap_fraction": 0.0, **changes}
    (queues_dir / f"{name}.yaml").write_text(yaml.safe_dump(raw))
    return raw


@pytest.fixture(scope="module")
def blind_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlindApp]:
    from reviewdesk.queues import load_queues

    root = tmp_path_factory.mktemp("blind-app")
    queues_dir, settings = root / "queues", Settings.load(root / "data", root / "queues")
    queues_dir.mkdir()
    settings.ensure_dirs()
    hidden, items = {}, {}
    with Warehouse(settings.warehouse_path) as wh, ReviewStore(settings.review_url) as store:
        for seed, fmt in enumerate(FORMATS, start=1):  # a seed each: the formats' run ids must differ
            write_runs(demo_runs(fmt, 200, seed), root / f"{fmt}.jsonl", fmt=fmt)
            ingest_file(wh, root / f"{fmt}.jsonl", fmt)
            queue_file(queues_dir, "support-quality", f"blind-{fmt}", fmt, gold_fraction=0.5,
                       gold_source=GOLD_FROM_METADATA[fmt])  # fmt: skip
            queue_file(queues_dir, "support-ab", f"blind-{fmt}-ab", fmt)
        for queue in load_queues(queues_dir):
            batch = draw_batch(wh, queue, seed=1)
            items[queue.name] = publish(wh, store, queue, batch.batch_id).items
        gold = [json.loads(g) for (g,) in wh.execute("SELECT gold_answer FROM items WHERE is_gold")]
        references = {g["reference"] for g in gold if g.get("reference")}  # the gold answers' corrections
        for fmt in FORMATS:
            names = {ANSWER_KEY[fmt], "failure_mode"}
            hidden[fmt] = hidden_strings(wh, f"source_format = '{fmt}'") | references | names
        add_user(store, REVIEWER, "reviewer", DEMO_PASSWORD)
    assert all(n == (1 if name.endswith("-ab") else 2) for name, n in items.items()), items  # 1 gold, 1 sampled
    with serving(settings.data_dir, queues_dir, root / "streamlit.log") as url:
        yield BlindApp(url, hidden, items)


# Opens every expander, then every collapsed JSON node (a frame after each, for React to draw it).
UNFOLD_JS = """async () => {
    const frame = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    document.querySelectorAll("[data-testid='stExpander'] details:not([open]) > summary").forEach(s => s.click());
    await frame();
    for (let i = 0; i < 200; i++) {
        const icon = document.querySelector("[data-testid='stJson'] .collapsed-icon");
        if (!icon) return i;
        icon.click();
        await frame();
    }
    throw new Error("JSON nodes kept appearing collapsed");
}"""


def review_every_item(app: AppPage, queue: str, hidden: set[str], shots: Path) -> int:
    """Look at each item of the queue on screen in turn (skipping it to see the next); return how many were seen."""
    page, seen = app.page, 0
    while not page.get_by_text(LAST).count():
        page.evaluate(UNFOLD_JS)
        text = page.locator("body").text_content() + page.content()
        shown = sorted(s for s in hidden if s in text)
        assert not shown, f"{queue}, item {seen + 1}: the page shows {shown}"
        if seen == 0:
            page.screenshot(path=shots / f"{queue}.png", full_page=True)
        seen += 1
        with app.rerun(timeout=60):  # every JSON node unfolded makes a heavy page: a loaded CI machine took > 20 s once
            page.keyboard.press("Control+k")
    return seen


@pytest.fixture(scope="module")
def reviewing(chromium, blind_app: BlindApp) -> Iterator[AppPage]:
    """The reviewer, logged in once, on the Review page."""
    with opened(chromium, blind_app.url) as app:
        log_in(app, REVIEWER, DEMO_PASSWORD)
        with app.rerun():
            app.page.get_by_test_id("stSidebarNav").get_by_role("link", name="Review", exact=True).click()
        yield app


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_hidden_value_reaches_the_reviewers_page(reviewing: AppPage, blind_app: BlindApp, fmt: str, tmp_path: Path):
    for queue in (f"blind-{fmt}", f"blind-{fmt}-ab"):  # a single queue with gold items, then a pairwise one
        reviewing.pick_queue(queue)
        assert review_every_item(reviewing, queue, blind_app.hidden[fmt], tmp_path) == blind_app.items[queue]
