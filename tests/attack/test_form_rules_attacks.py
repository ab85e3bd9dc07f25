"""Submissions through the library that try to slip past the rubric's rules: a flag-only claim with an
empty reason, on a queue that wants ratings, or carrying answers to criteria the rubric lacks; and
described options written wrongly in a queue file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from review_support import T0, seed_queue, stores_with_warehouse
from test_oversight import item

from reviewdesk.labels.collection import collect
from reviewdesk.queues import QueueFileError, load_queue_file
from reviewdesk.review.drafts import Draft, DraftError
from reviewdesk.review.submissions import item_submissions, submit
from reviewdesk.stores.warehouse import Warehouse

QUEUE = "support-quality"
ROOT = Path(__file__).resolve().parents[2]
MISSING = ["correctness: required, but not answered", "helpfulness: required, but not answered"]


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(request: pytest.FixtureRequest, tmp_path: Path):
    with stores_with_warehouse(request.param, tmp_path, lambda: request.getfixturevalue("postgres_url")) as both:
        yield both


def rejected(wh: Warehouse) -> dict[str, list[str]]:
    return dict(wh.execute("SELECT item_id, reasons FROM rejected_submissions"))


@pytest.mark.parametrize("flags", [[{"reason": ""}], [{"reason": "   "}], [{}], [{"reason": None}]])
def test_a_flag_without_a_reason_does_not_excuse_the_ratings(stores, flags):
    store, wh = stores
    seed_queue(store, QUEUE, n=1, reviewers_needed=1, promotion=None)
    submit(store, item(1), "reviewer1", Draft({}, flags=flags), now=T0)
    result = collect(store, wh, now=T0 + timedelta(minutes=1))
    assert (result.loaded, result.rejected, result.flag_only) == (0, 1, 0)
    assert rejected(wh) == {item(1): MISSING}
    assert len(item_submissions(store, item(1))) == 1  # kept as sent


@pytest.mark.parametrize(
    ("answers", "flags", "message"),
    [({}, "broken run", "Flags must be a list"), ({}, {"reason": "x"}, "Flags must be a list"),
     ({}, ["broken run"], "Flags must be a list"), (["correct"], [], "Answers must be an object")],
)  # fmt: skip
def test_flags_or_answers_of_the_wrong_shape_are_refused_before_anything_is_stored(stores, answers, flags, message):
    store, _ = stores
    seed_queue(store, QUEUE, n=1, reviewers_needed=1, promotion=None)
    with pytest.raises(DraftError, match=message):
        submit(store, item(1), "reviewer1", Draft(answers, flags=flags), now=T0)
    assert item_submissions(store, item(1)) == []


def test_a_flag_only_claim_on_a_queue_that_wants_ratings_is_rejected(stores):
    store, wh = stores
    seed_queue(store, QUEUE, n=1, reviewers_needed=1, promotion=None, flag_instead_of_rating=False)
    draft = Draft({"correctness": None, "helpfulness": None}, flags=[{"reason": "x"}])
    submit(store, item(1), "reviewer1", draft, now=T0)
    result = collect(store, wh, now=T0 + timedelta(minutes=1))
    assert (result.loaded, result.rejected, result.flag_only) == (0, 1, 0)
    [reasons] = rejected(wh).values()
    assert "flag_instead_of_rating is false" in reasons[0] and reasons[1:] == MISSING
    assert wh.scalar("SELECT count(*) FROM labels") == 0


def test_a_flag_only_submission_cannot_smuggle_unknown_criteria(stores):
    store, wh = stores
    seed_queue(store, QUEUE, n=1, reviewers_needed=1, promotion=None)
    submit(store, item(1), "reviewer1", Draft({"tone": None}, flags=[{"reason": "broken run"}]), now=T0)
    result = collect(store, wh, now=T0 + timedelta(minutes=1))
    assert (result.rejected, result.flag_only) == (1, 0)
    assert rejected(wh)[item(1)][0].startswith("tone: not a criterion of rubric")


def test_a_partly_rated_flagged_submission_still_needs_every_required_answer(stores):
    store, wh = stores
    seed_queue(store, QUEUE, n=1, reviewers_needed=1, promotion=None)
    submit(store, item(1), "reviewer1", Draft({"correctness": "incorrect"}, flags=[{"reason": "broken run"}]), now=T0)
    collect(store, wh, now=T0 + timedelta(minutes=1))
    assert rejected(wh) == {item(1): ["helpfulness: required, but not answered"]}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("[{value: 1, desc: nice}, 2]", "desc"),
        ("[{value: 1, description: ''}, 2]", "description"),
        ("[{description: no value}, 2]", "value"),
        ("[{value: [1], description: x}, 2]", "value"),
    ],
)
def test_described_options_written_wrongly_name_the_field(tmp_path: Path, options: str, message: str):
    text = (ROOT / "queues" / f"{QUEUE}.yaml").read_text()
    start = text.index("      options:                 #")
    end = text.index("    - key: notes")
    bad = tmp_path / f"{QUEUE}.yaml"
    bad.write_text(text[:start] + f"      options: {options}\n" + text[end:])
    with pytest.raises(QueueFileError, match=message):
        load_queue_file(bad)
