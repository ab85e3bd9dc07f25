"""The lead's Reviewers page through AppTest, on the demo (its quality queue has training; the demo
reviewers start new): each reviewer's state, live gold accuracy and flagged biases from the saved report
(names and advice escaped), their weekly gold accuracy, the lead's actions with a recorded reason, and a
refusal without one (reviewers do not get the page: test_app_lead.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_app import click, log_in

from review_app.render import escape
from reviewdesk.config import Settings
from reviewdesk.demo.run import DEMO_PASSWORD, run_demo
from reviewdesk.quality.reviewer_overview import reviewer_overview
from reviewdesk.quality.snapshot import keep
from reviewdesk.review.qualification import reviewer_history, standing
from reviewdesk.stores.reviewstore import ReviewStore

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "review_app" / "app.py")
QUEUE = "support-quality"
FLAG = {"estimate": 0.31, "ci": [0.2, 0.42], "n": 60, "flagged": True}
CALM = {"estimate": 0.01, "ci": [-0.05, 0.07], "n": 60, "flagged": False}


def report(computed_at: str) -> dict:
    """A saved quality report whose bias section flags reviewer2 for straight-lining, reviewer1 for nothing."""
    figures = {"straight_lining": {"queue": CALM, "reviewers": {"reviewer1": CALM, "reviewer2": FLAG}}}
    weekly = [
        {"reviewer": r, "week": w, "gold_accuracy": a, "gold_n": 5, "score": 0.5, "score_n": 5}
        for r, w, a in (("reviewer1", 1, 0.8), ("reviewer1", 2, 0.9), ("reviewer2", 1, 0.6), ("reviewer2", 2, 0.4))
    ]
    return {"queue": QUEUE, "computed_at": computed_at, "biases": {"figures": figures, "weekly": weekly}}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("app-reviewers") / "data"
    settings = Settings.load(data, ROOT / "queues")
    run_demo(settings, runs=800, seed=3, simulate=False)
    with ReviewStore(settings.review_url) as store:
        keep(store, report(datetime.now(UTC).isoformat()))
    return data


@pytest.fixture
def page(demo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(demo_dir))
    at = AppTest.from_file(APP, default_timeout=30).run()
    at = log_in(at, "lead", DEMO_PASSWORD).switch_page("views/reviewers.py").run()
    return at.selectbox[0].set_value(QUEUE).run()


def store_of(demo_dir: Path) -> ReviewStore:
    return ReviewStore(Settings.load(demo_dir).review_url)


def test_the_overview_lists_states_and_flags_from_the_store_and_the_report(demo_dir: Path):
    rows = {r.reviewer: r for r in reviewer_overview(store_of(demo_dir), QUEUE)}
    assert {"reviewer1", "reviewer2", "reviewer3"} <= set(rows)
    assert rows["reviewer1"].state == "new" and rows["reviewer1"].flags == []
    [flag] = rows["reviewer2"].flags
    assert flag["measure"] == "straight_lining" and flag["shown"] == "+31.0%" and flag["ci_shown"] == "+20.0% to +42.0%"


def test_the_page_shows_each_reviewer_their_flags_and_weekly_gold_accuracy(page: AppTest):
    assert not page.exception
    assert page.selectbox[0].value == QUEUE
    table = page.dataframe[0].value
    assert set(table["reviewer"]) >= {"reviewer1", "reviewer2", "reviewer3"}
    assert table.set_index("reviewer").loc["reviewer2", "biases"].startswith("Straight-lining")
    assert set(table["state"]) == {"not started"}
    [warning] = [w.value for w in page.warning if "reviewer2" in w.value]
    assert warning.startswith(escape("reviewer2: Straight-lining")) and "long runs" in warning
    [chart] = page.get("vega_lite_chart")  # gold accuracy per week, a line per reviewer
    assert "gold_accuracy" in chart.proto.spec and '"Week"' in chart.proto.spec


def test_a_lead_qualifies_then_pauses_a_reviewer_with_a_reason_and_it_is_recorded(page: AppTest, demo_dir: Path):
    page.selectbox[1].set_value("reviewer3")  # the form's, after the queue picker
    page.radio[0].set_value("Qualify")
    page.text_input[0].input("calibrated with me on <b>gold</b>")
    at = click(page, "Apply")
    assert not at.exception
    assert at.success[0].value == escape("reviewer3 is now qualified in support-quality.")
    store = store_of(demo_dir)
    assert standing(store, QUEUE, "reviewer3").state == "qualified"
    [event] = reviewer_history(store, QUEUE, "reviewer3")
    assert (event.event, event.by, event.reason) == ("qualified_by_lead", "lead", "calibrated with me on <b>gold</b>")
    at.selectbox[1].set_value("reviewer3")
    at.radio[0].set_value("Pause")
    at = click(at, "Apply")  # no reason: refused, nothing recorded
    assert "Say why" in at.error[0].value
    assert standing(store, QUEUE, "reviewer3").state == "qualified"
