"""Run content in a real browser (Debian's Chromium through Playwright, against `streamlit run`): an answer's
markdown list, table and code fence are drawn as such, while a `<script>`, raw HTML with an event handler and
a remote image in the same answer stay inert, and no request the page makes leaves the loopback address.
A pair's "Highlight differences" marks the changed words. Screenshots at 1400x900 go to pytest's tmp dir and
to /tmp/reviewdesk-shots/ (artifacts, not committed).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import AppPage, serving
from playwright.sync_api import expect
from review_support import PASSWORD, seed_queue
from sqlalchemy import update
from test_e2e import log_in

from reviewdesk.config import Settings
from reviewdesk.review import accounts
from reviewdesk.stores.review_schema import items
from reviewdesk.stores.reviewstore import ReviewStore

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
SHOTS = Path("/tmp/reviewdesk-shots")
REVIEWER = "reviewer1"
ANSWER = """Here is what I found for order **A1**:

- Mug, 2 pieces
- Green tea

| Item | Price |
|:-----|------:|
| Mug  | 12.50 |
| Tea  |  4.00 |

```python
def total(prices):
    return sum(prices)
```

<script>window.__pwned = 1</script> <img src=x onerror="window.__pwned = 2">
![tracking pixel](http://example.invalid/x.png) :red[not red] [help](https://example.invalid/help)"""
CALL = {"id": "c1", "type": "function", "function": {"name": "get_order", "arguments": '{"order_id": "A1"}'}}
TURNS = [{"role": "system", "content": "You are a support agent."}] + [
    {"role": "user" if i % 2 == 0 else "assistant", "content": f"Earlier message {i}."} for i in range(8)
]
SINGLE = {
    "inputs": {"messages": [*TURNS, {"role": "user", "content": "What is in order A1, and what does it cost?"}]},
    "outputs": {"messages": [
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "c1", "content": json.dumps({"items": ["Mug", "Tea"], "total": 29.0})},
        {"role": "assistant", "content": ANSWER},
    ]},
}  # fmt: skip
ASK = {"messages": [{"role": "user", "content": "When will my order arrive?"}]}
PAIR = {
    "ra": {"inputs": ASK, "outputs": {"messages": [{"role": "assistant", "content": "It ships today by DHL."}]}},
    "rb": {"inputs": ASK, "outputs": {"messages": [{"role": "assistant", "content": "It ships tomorrow by DHL."}]}},
}


@pytest.fixture(scope="module")
def render_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The review app serving one single item (the markdown answer) and one pair, both for REVIEWER."""
    data = tmp_path_factory.mktemp("render-app") / "data"
    settings = Settings.load(data, ROOT / "queues")
    settings.ensure_dirs()
    with ReviewStore(settings.review_url) as store:
        accounts.add_user(store, REVIEWER, "reviewer", PASSWORD)
        seed_queue(store, n=1, assignees=[REVIEWER], promotion=None)
        seed_queue(store, name="support-ab", n=1, assignees=[REVIEWER], promotion=None)
        with store.write() as conn:
            single = update(items).where(items.c.queue == "support-quality")
            conn.execute(single.values(payload={"runs": {"run-1": SINGLE}}))
            conn.execute(
                update(items)
                .where(items.c.queue == "support-ab")
                .values(kind="pairwise", run_id=None, run_a="ra", run_b="rb", left_run_id="ra", payload={"runs": PAIR})
            )
    with serving(settings.data_dir, ROOT / "queues", data.parent / "streamlit.log") as url:
        yield url


@pytest.fixture
def reviewer(chromium, render_app: str) -> Iterator[tuple[AppPage, list[str]]]:
    """REVIEWER logged in on the Review page of a 1400x900 window, and every URL the page has requested."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(20_000)
    requested: list[str] = []
    context.on("request", lambda r: requested.append(r.url))
    app = AppPage(context.new_page())
    with app.rerun():
        app.page.goto(render_app)
    log_in(app, REVIEWER, PASSWORD)
    with app.rerun():
        app.page.get_by_test_id("stSidebarNav").get_by_role("link", name="Review", exact=True).click()
    yield app, requested
    context.close()


def shoot(app: AppPage, tmp_path: Path, name: str) -> None:
    """A 1400x900 screenshot into the test's tmp dir, copied to SHOTS."""
    path = tmp_path / f"{name}.png"
    app.page.screenshot(path=path)
    SHOTS.mkdir(exist_ok=True)
    shutil.copy(path, SHOTS / path.name)


def off_machine(urls: list[str]) -> list[str]:
    """The requested URLs that go anywhere but this machine's loopback address."""
    return [u for u in urls if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).hostname
            not in ("127.0.0.1", "localhost")]  # fmt: skip


def test_markdown_is_drawn_while_script_html_and_remote_images_stay_inert(reviewer, tmp_path: Path):
    app, requested = reviewer
    page = app.page
    app.pick_queue("support-quality")
    answer = page.get_by_test_id("stHtml").filter(has_text="Here is what I found")
    expect(answer).to_have_count(1)
    expect(answer.locator("ul > li")).to_have_count(2)
    expect(answer.locator("table td")).to_have_text(["Mug", "12.50", "Tea", "4.00"])
    expect(answer.locator("pre span[style]").first).to_be_visible()  # the fence, highlighted
    expect(answer).to_contain_text("[image: tracking pixel](http://example.invalid/x.png)")
    expect(answer).to_contain_text("<script>window.__pwned = 1</script>")
    expect(answer).to_contain_text(":red[not red]")
    link = answer.get_by_role("link", name="help")
    expect(link).to_have_attribute("target", "_blank")
    assert {"noopener", "noreferrer"} <= set((link.get_attribute("rel") or "").split())

    # The tool call is a named call, its result a tool bubble; the earlier turns are folded away.
    expect(page.get_by_text('get_order(order_id="A1")')).to_be_visible()
    expect(page.locator(".turn-tool").filter(has_text="tool result: get_order")).to_have_count(1)
    expect(page.get_by_text("Show 9 earlier messages")).to_be_visible()
    expect(page.get_by_text("Earlier message 3.")).not_to_be_visible()
    expect(page.get_by_text("What is in order A1, and what does it cost?")).to_be_visible()

    shoot(app, tmp_path, "render-single")
    answer.scroll_into_view_if_needed()
    shoot(app, tmp_path, "render-single-answer")
    assert page.evaluate("() => window.__pwned") is None
    run = ".st-key-content_pane [data-testid='stHtml']"  # the run's markup (the page's own scripts are elsewhere)
    inert = f"img[src*='example.invalid'], {run} script, {run} img"
    assert page.locator(inert).count() == 0

    with app.rerun():  # raw text: the exact answer, as code text
        page.get_by_text("Raw text").click()
    exact = page.locator(f"{run} pre").filter(has_text="![tracking pixel](http://example.invalid/x.png)")
    expect(exact).to_have_count(1)
    assert page.evaluate("() => window.__pwned") is None
    page.wait_for_timeout(500)  # time for any late fetch to show up
    assert requested and not off_machine(requested), off_machine(requested)


def test_highlight_differences_marks_the_changed_words_of_a_pair(reviewer, tmp_path: Path):
    app, requested = reviewer
    page = app.page
    app.pick_queue("support-ab")
    expect(page.get_by_text("It ships tomorrow by DHL.")).to_be_visible()
    with app.rerun():
        page.get_by_text("Highlight differences").click()
    marked = page.get_by_test_id("stHtml").locator("span[style*='background']")
    expect(marked).to_have_text(["today", "tomorrow"])
    marked.first.scroll_into_view_if_needed()
    shoot(app, tmp_path, "render-pair-differences")
    assert not off_machine(requested), off_machine(requested)
