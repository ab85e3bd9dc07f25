"""Reports are safe to open (issue 12, item 8): run questions, answers, models and trace ids, reviewer
comments and flag reasons reach `data/reports/` as text. The flagged report is rendered the way a product
owner would see it (a CommonMark renderer, then Chromium): no request leaves the page and no dialog opens.
The escaping is property-tested with hypothesis; spreadsheets get no formula (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from demo_support import demo_copy
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from reviewdesk.datasets.flagged import COLUMNS, to_csv, to_markdown, write_flagged
from reviewdesk.quality.markdown import markdown
from reviewdesk.queues import get_queue
from reviewdesk.review.drafts import Draft
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import submit
from reviewdesk.review.triage import resolve_flag

ROOT = Path(__file__).resolve().parents[2]
QUALITY = "support-quality"
NOW = datetime(2025, 1, 2, 3, 4, tzinfo=UTC)
EVIL = "http://evil.test"
HOSTILE = {  # what a run or a reviewer may carry, each aimed at a way Markdown reaches the network or runs code
    "question": f"Refund? ![q]({EVIL}/q.png) <img src={EVIL}/q2.png onerror=alert('q')>\n\n<script>alert(1)</script>",
    "answer": f"<iframe src={EVIL}/frame></iframe> [click]({EVIL}/a) <{EVIL}/auto> &lt;b&gt; `x` www.evil.test",
    "comment": f"=HYPERLINK(\"{EVIL}/c\")\n\n- <link rel=stylesheet href={EVIL}/c.css>\n[r]: {EVIL}/ref\n[r]",
    "reason": f"![r]({EVIL}/r.png) <video poster={EVIL}/v.png>",
    "model": f"<img src={EVIL}/m.png>",
    "trace": f"t) ![t]({EVIL}/t.png",
}
RUN_URL = "https://traces.example/runs/{run_id}?trace={trace_id}"
GFM = MarkdownIt("commonmark").enable(["table", "strikethrough"])  # raw HTML on, as CommonMark has it
UNSAFE = {"html_block", "html_inline", "image", "code_inline", "code_block", "fence"}


def one_line(text: str) -> str:
    """How escaped text must read: control and bidi-override characters gone, whitespace runs as one space."""
    return " ".join(re.sub("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]", "",
                           text).split())  # fmt: skip


def tokens(text: str) -> list:
    """Every token of a Markdown document, inline children included."""
    out = []
    for t in GFM.parse(text):
        out += [t, *(t.children or [])]
    return out


@pytest.fixture(scope="module")
def flagged(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """The flagged report of a demo copy where one run and one reviewer's flag carry HOSTILE text;
    returns the Markdown and CSV files and the flagged run's id."""
    with demo_copy(demo_template, tmp_path_factory.mktemp("reports") / "data") as (store, wh):
        item = next_item(store, QUALITY, "reviewer1")
        wh.execute(
            "UPDATE runs SET inputs = ?, outputs = ?, model = ?, trace_id = ? WHERE run_id = ?",
            [json.dumps({"messages": [{"role": "user", "content": HOSTILE["question"]}]}),
             json.dumps({"output": HOSTILE["answer"]}), HOSTILE["model"], HOSTILE["trace"], item["run_id"]],
        )  # fmt: skip
        draft = Draft({"correctness": "incorrect", "helpfulness": 1}, comment=HOSTILE["comment"],
                      flags=[{"reason": HOSTILE["reason"]}])  # fmt: skip
        submit(store, item["item_id"], "reviewer1", draft)
        resolve_flag(store, item["item_id"], "reviewer1", "personal data", HOSTILE["comment"], "lead")  # a note too
        queue = get_queue(QUALITY, ROOT / "queues")
        queue = queue.model_copy(update={"promotion": queue.promotion.model_copy(update={"run_url": RUN_URL})})
        report = write_flagged(store, wh, queue, tmp_path_factory.mktemp("out") / "reports", NOW)
    return Path(report.markdown), Path(report.csv), item["run_id"]


def test_the_flagged_markdown_has_no_html_image_or_foreign_link(flagged):
    md, _, run_id = flagged
    found = tokens(md.read_text())
    assert not [t.type for t in found if t.type in UNSAFE]
    links = [t.attrs["href"] for t in found if t.type == "link_open"]
    assert links == [f"https://traces.example/runs/{run_id}?trace=t%29%20%21%5Bt%5D%28http%3A%2F%2Fevil.test%2Ft.png"]
    text = " ".join(t.content for t in found if t.type == "text")
    for key in ("question", "comment", "reason", "model"):
        assert one_line(HOSTILE[key]) in text, key  # shown, as the characters it holds


def test_the_flagged_report_opens_in_a_browser_without_requests_or_dialogs(flagged, chromium):
    md, _, _ = flagged
    page = chromium.new_page()
    requests, dialogs = [], []
    page.route("**/*", lambda route: (requests.append(route.request.url), route.abort()))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.set_content(f"<html><body>{GFM.render(md.read_text())}</body></html>", wait_until="load")
        page.wait_for_timeout(300)
        assert "Refund?" in page.inner_text("body")
    finally:
        page.close()
    assert requests == [] and dialogs == []


def test_the_flagged_csv_runs_no_formula(flagged):
    _, path, run_id = flagged
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    [row] = [r for r in rows if r["run_ids"] == run_id]
    assert row["comment"] == "'" + HOSTILE["comment"]
    assert row["resolution"] == "personal data (lead): " + HOSTILE["comment"]
    assert not [c for r in rows for c in r.values() if c.startswith(("=", "+", "-", "@", "\t", "\r"))]


# Text that leans on Markdown's and HTML's special characters, with any Unicode besides.
MARKUP = ["www.", "http://", "1.", "&amp;", "<img src=x>", "![a](b)", "[a]: b", "    ", "---", "```", "<!--"]
SPECIAL = st.sampled_from([*"\\`*_[]()<>&|~$@!#+-=.:/'\"{}^ \t\n\r\x00\u202e", *MARKUP])
TEXT = st.lists(st.one_of(SPECIAL, st.text(max_size=5)), max_size=25).map("".join)


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_escaped_text_renders_as_itself_and_nothing_else(text: str):
    from reviewdesk.quality.report_text import md_text

    escaped = md_text(text)
    assert "\n" not in escaped and "\r" not in escaped
    for document in (escaped, f"- comment: {escaped}", f"> **Customer:** {escaped}", f"## {escaped}",
                     f"| criterion | note |\n|---|---|\n| x | {escaped} |"):  # fmt: skip
        found = tokens(document)
        assert not [t.type for t in found if t.type in UNSAFE or t.type in ("link_open", "s_open", "em_open")]
    inline = [t for t in tokens(escaped) if t.type == "inline"]
    assert [t.type for t in tokens(escaped)[:1]] == (["paragraph_open"] if one_line(text) else [])
    assert "".join(c.content for t in inline for c in t.children if c.type == "text") == one_line(text)
    assert all(c.type == "text" for t in inline for c in t.children)


ROW = st.fixed_dictionaries({
    "queue": st.just(QUALITY), "item_id": TEXT, "source": st.sampled_from(["reviewer flag", "adjudication"]),
    "by": TEXT, "reasons": st.lists(TEXT, max_size=3), "comment": st.none() | TEXT,
    "resolution": TEXT,  # a lead's category and note: lead-written text, as hostile as any
    "consensus": st.lists(TEXT, max_size=2), "run_ids": st.lists(TEXT, min_size=1, max_size=2),
    "at": st.just(NOW), "question": TEXT, "answers": st.lists(TEXT, max_size=2),
}).map(lambda r: {**r, "trace_ids": [f"t{i}" for i in range(len(r["run_ids"]))], "links": [""] * len(r["run_ids"]),
                  "models": ["m"] * len(r["run_ids"])})  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(ROW, min_size=1, max_size=3))
def test_a_flagged_report_of_any_rows_is_inert_markdown_and_formula_free_csv(rows):
    assert not [t.type for t in tokens(to_markdown(QUALITY, rows, NOW)) if t.type in UNSAFE or t.type == "link_open"]
    back = list(csv.DictReader(io.StringIO(to_csv(rows))))
    for row, original in zip(back, rows, strict=True):
        for column in COLUMNS:
            cell = row[column]
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
        assert row["question"] in (original["question"], "'" + original["question"])


def test_the_quality_report_escapes_names_and_notes():
    h = HOSTILE["reason"]
    figure = {"value": None, "note": h}
    report = {
        "queue": QUALITY, "computed_at": NOW.isoformat(), "labels": 10, "backlog": 0, "consensus": {h: 2},
        "criteria": {
            "correctness": {"n_pairable_items": 5, "n_raters": 2, "figures": {"percent_agreement": figure},
                            "raters": [{"rater": h, "n_items": 3, "agreement": 0.5, "mean_kappa": 0.1,
                                        "gold_accuracy": None, "gold_ratings": 0}]},
            "tone": {"note": h, "n_labels": 1},
        },
        "calibration": [{"reviewer": h, "criterion": "correctness", "reasons": [h]}],
        "estimates": [{"criterion": "correctness", "sentence": h}],
        "model": {"criteria": {"correctness": {
            "n_items": 1, "accuracy": 0.5, "kappa": 0.1, "kappa_ci": None, "ece": 0.1, "brier": 0.2,
            "model_versions": {h: 1}, "reliability": [{"bin": "0.6-0.7", "n": 1, "mean_confidence": 0.6,
                                                       "accuracy": 1.0}]}},
            "anchoring": {"criteria": {"correctness": {"effect": None, "note": h}},
                          "all": {"effect": None, "note": h}}},
    }  # fmt: skip
    text = markdown(report)
    found = tokens(text)
    assert not [t.type for t in found if t.type in UNSAFE or t.type == "link_open"]
    assert "evil.test" not in "".join(t.attrs.get("href", "") + t.attrs.get("src", "") for t in found if t.attrs)
    assert sum(one_line(h) in t.content for t in found if t.type == "text") >= 8
    assert "| correctness | 5 items, 2 raters |" in text
