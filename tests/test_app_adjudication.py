"""The Adjudication page through AppTest: a lead sees every answer of a disputed item and decides it."""

from __future__ import annotations

from pathlib import Path

import pytest
from demo_support import demo_copy
from streamlit.testing.v1 import AppTest
from test_resolve import two_reviews

from reviewdesk.demo.run import DEMO_PASSWORD
from reviewdesk.labels.adjudication import backlog, decisions
from reviewdesk.labels.collection import collect
from reviewdesk.labels.resolve import resolve_queue

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "review_app" / "app.py")


@pytest.fixture
def disputed(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A data dir where one item has two reviews that disagree on correctness only."""
    with demo_copy(demo_template, tmp_path / "data") as (store, wh):
        item = two_reviews(store, {"correctness": "correct", "helpfulness": 4},
                           {"correctness": "incorrect", "helpfulness": 4})  # fmt: skip
        collect(store, wh)
        resolve_queue(store, wh, "support-quality")
    monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(tmp_path / "data"))
    return item, tmp_path / "data"


def as_user(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input[0].input(name)
    at.text_input[1].input(DEMO_PASSWORD)
    return at.button[0].click().run().switch_page("views/adjudication.py").run()


def test_lead_sees_all_answers_and_records_a_decision(disputed):
    item_id, data = disputed
    at = as_user("lead")
    assert not at.exception
    table = at.dataframe[0].value
    assert sorted(zip(table["reviewer"], table["correctness"], strict=True)) == [
        ("reviewer1", "correct"), ("reviewer2", "incorrect"),
    ]  # fmt: skip
    assert "reviewers disagree: correct (1), incorrect (1)" in " ".join(c.value for c in at.caption)
    at.radio[0].set_value("incorrect")
    at = next(b for b in at.button if b.label == "Record decision").click().run()
    assert "Choose a final answer for every criterion and give a reason." in at.error[0].value  # no reason yet
    at.text_area[0].input("The refund amount quoted is wrong.")
    at = next(b for b in at.button if b.label == "Record decision").click().run()
    assert not at.exception
    with demo_copy(data, data.parent / "check") as (store, _):
        assert backlog(store, "support-quality") == []
        assert decisions(store, "support-quality") == {item_id: {"correctness": "incorrect"}}
    assert "Nothing to adjudicate" in at.success[-1].value
