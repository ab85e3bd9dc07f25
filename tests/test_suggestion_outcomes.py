"""What reviewers did with pre-selected suggestions (accepted, changed, left): stored with each submission on
SQLite and PostgreSQL, carried by collect into the warehouse labels, and measured in the quality report
against a hand-computed case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from review_support import T0, add_reviewers, dialect_store, seed_queue

from reviewdesk.labels.collection import collect
from reviewdesk.quality.markdown import human_vs_model as section
from reviewdesk.quality.suggestion_quality import human_vs_model
from reviewdesk.review.drafts import Draft
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import item_submissions, revise, submit
from reviewdesk.stores.review_schema import submissions
from reviewdesk.stores.warehouse import Warehouse
from schemas.rubric import Criterion

CORRECTNESS = Criterion(key="correctness", type="categorical", options=["correct", "incorrect"])


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    with dialect_store(request.param, tmp_path, lambda: request.getfixturevalue("postgres_url")) as s:
        yield s


def test_outcomes_are_stored_kept_on_edit_and_collected_into_labels(store, tmp_path: Path):
    seed_queue(store, n=2, reviewers_needed=1, suggestions="show")
    add_reviewers(store, ["reviewer1"])
    first = next_item(store, "support-quality", "reviewer1", now=T0)
    outcomes = {"correctness": "accepted", "helpfulness": "changed"}
    draft = Draft({"correctness": "incorrect", "helpfulness": 2}, suggestion_shown=True, suggestion_outcomes=outcomes)
    submit(store, first["item_id"], "reviewer1", draft, now=T0)
    revise(store, first["item_id"], "reviewer1", Draft({"correctness": "correct", "helpfulness": 2}), now=T0)
    second = next_item(store, "support-quality", "reviewer1", now=T0)
    submit(store, second["item_id"], "reviewer1", Draft({"correctness": "correct", "helpfulness": 5}), now=T0)

    stored = item_submissions(store, first["item_id"])
    assert [s["suggestion_outcomes"] for s in stored] == [outcomes, outcomes]  # an edit keeps what was recorded
    assert item_submissions(store, second["item_id"])[0]["suggestion_outcomes"] is None  # none pre-selected

    with Warehouse(tmp_path / "wh.duckdb") as wh:
        assert collect(store, wh).read == 3
        labels = wh.execute("SELECT item_id, criterion, revision, suggestion_outcome FROM labels ORDER BY ALL")
        assert labels == [
            (first["item_id"], "correctness", 2, "accepted"), (first["item_id"], "helpfulness", 2, "changed"),
            (second["item_id"], "correctness", 1, None), (second["item_id"], "helpfulness", 1, None),
        ]  # fmt: skip
        kept = wh.execute("SELECT suggestion_outcomes FROM submissions ORDER BY submission_id")
        assert [json.loads(k) if k else None for (k,) in kept] == [outcomes, outcomes, None]


def test_a_stored_outcome_collect_cannot_read_becomes_no_outcome_and_loses_nothing(store, tmp_path: Path):
    seed_queue(store, n=1, reviewers_needed=1, suggestions="show")
    add_reviewers(store, ["reviewer1"])
    item = next_item(store, "support-quality", "reviewer1", now=T0)
    submit(store, item["item_id"], "reviewer1", Draft({"correctness": "correct", "helpfulness": 1}), now=T0)
    with store.write() as conn:  # written around the library, as an older or foreign client might
        conn.execute(submissions.update().values(suggestion_outcomes={"correctness": "maybe", "helpfulness": 7}))
    with Warehouse(tmp_path / "wh.duckdb") as wh:
        assert collect(store, wh).loaded == 1
        assert wh.execute("SELECT DISTINCT suggestion_outcome FROM labels") == [(None,)]


def test_human_vs_model_outcomes_by_hand(tmp_path: Path):
    # Six items, each suggesting "incorrect". reviewer1 saw the suggestion pre-selected: accepted it on i0,
    # left it on i1 and i2, changed it on i3; i4 was shown before outcomes were recorded. reviewer2 did
    # not see it, and agrees with it on i1 only of four.
    shown = [("i0", "incorrect", "accepted"), ("i1", "incorrect", "left"), ("i2", "incorrect", "left"),
             ("i3", "correct", "changed"), ("i4", "incorrect", None)]  # fmt: skip
    hidden = [("i0", "correct"), ("i1", "incorrect"), ("i2", "correct"), ("i3", "correct")]
    with Warehouse(tmp_path / "w.duckdb") as wh:
        for i in range(6):
            wh.execute("INSERT INTO suggestions (item_id, batch_id, queue, criterion, value, confidence, "
                       "model_version, scorer, scored_at) VALUES (?, 'b', 'q', 'correctness', '\"incorrect\"', 0.6, "
                       "'m-1', 'heuristic', now())", [f"i{i}"])  # fmt: skip
        rows = [(i, "reviewer1", v, True, o) for i, v, o in shown]
        rows += [(i, "reviewer2", v, False, None) for i, v in hidden]
        for n, (item, reviewer, value, seen, outcome) in enumerate(rows):
            wh.execute("INSERT INTO labels (item_id, queue, reviewer, criterion, value, submission_id, revision, "
                       "rubric_version, suggestion_shown, submitted_at, suggestion_outcome) VALUES "
                       "(?, 'q', ?, 'correctness', ?, ?, 1, 'v1', ?, now(), ?)",
                       [item, reviewer, value, n, seen, outcome])  # fmt: skip
        out = human_vs_model(wh, "q", [CORRECTNESS], "show", resamples=0)
    expected = {"shown_labels": 5, "recorded": 4, "unrecorded": 1, "accepted": 1, "changed": 1, "left": 2,
                "acceptance_rate": 0.75, "rubber_stamp_share": 0.5, "change_rate": 0.25,
                "hidden_labels": 4, "hidden_agree": 0.25, "excess_acceptance": 0.5}  # fmt: skip
    assert out["outcomes"]["all"] == out["outcomes"]["criteria"]["correctness"] == expected
    assert out["anchoring"] is None  # the causal estimate needs the randomized policy
    assert "| all criteria | 4 | 1 | 1 | 2 | 75.0% | 50.0% | 4 | 25.0% | +50.0% |" in section(out)
