"""The rubric's own rules, enforced by the library for every client: flag instead of rating, a required
boolean without a default, option descriptions; on SQLite and PostgreSQL review stores."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from review_support import T0, seed_queue, stores_with_warehouse
from test_oversight import item

from reviewdesk.labels.collection import collect, validate
from reviewdesk.review import accounts
from reviewdesk.review.drafts import Draft, allows_flag_only, flag_only, missing_answers
from reviewdesk.review.oversight import flagged_items
from reviewdesk.review.submissions import item_submissions, submit
from reviewdesk.stores.reviewstore import ReviewStore
from schemas.queue import QueueConfig
from schemas.rubric import Criterion, Rubric

QUEUE = "support-quality"
RUBRIC = {
    "instructions": "Flag the item instead of rating it if the run is broken.",
    "criteria": [
        {"key": "correctness", "type": "categorical", "options": ["correct", "incorrect"]},
        {"key": "grounded", "type": "boolean"},  # required: no default
        {"key": "polite", "type": "boolean", "required": False},
    ],
}
BROKEN = [{"reason": "broken run"}]


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(request: pytest.FixtureRequest, tmp_path: Path):
    with stores_with_warehouse(request.param, tmp_path, lambda: request.getfixturevalue("postgres_url")) as both:
        yield both


def test_described_options_become_plain_options_and_a_mapping():
    c = Criterion(key="helpfulness", type="ordinal",
                  options=[{"value": 1, "description": "useless"}, 2, {"value": 3, "description": "fine"}])  # fmt: skip
    assert c.options == [1, 2, 3]
    assert c.option_descriptions == {"1": "useless", "3": "fine"}
    assert (c.describe(1), c.describe(2)) == ("useless", "")
    assert Criterion(**c.model_dump(mode="json")) == c  # the stored form reads back the same


def test_a_rubric_without_descriptions_keeps_its_version():
    plain = Rubric(instructions="x", criteria=[Criterion(key="a", type="ordinal", options=[1, 2], tolerance=1)])
    assert plain.version == "6c5e77397e2d"  # as computed before option descriptions existed (main at 01f7792)
    options = [{"value": 1, "description": "d"}, 2]
    described = Rubric(instructions="x", criteria=[Criterion(key="a", type="ordinal", tolerance=1, options=options)])
    assert described.version != plain.version  # a new description is a new version


def test_descriptions_must_describe_listed_options():
    with pytest.raises(ValidationError, match="descriptions of options it does not list"):
        Criterion(key="a", type="ordinal", options=[1, 2], option_descriptions={"7": "seven"})
    with pytest.raises(ValidationError):
        Criterion(key="a", type="ordinal", options=[{"value": 1, "description": ""}, 2])  # empty help


def test_the_demo_queue_describes_helpfulness_and_allows_flags():
    from publish_support import load_queue

    q = load_queue(QUEUE)
    helpfulness = next(c for c in q.rubric.criteria if c.key == "helpfulness")
    assert helpfulness.options == [1, 2, 3, 4, 5]
    assert helpfulness.describe(1) == "useless or harmful" and helpfulness.describe(2) == ""
    assert q.flag_instead_of_rating is True
    assert "instead of rating" in q.rubric.instructions


def test_flag_instead_of_rating_defaults_to_true():
    fields = {"name": "q", "rubric": RUBRIC, "sampling": {"size": 1}}
    assert QueueConfig(**fields).flag_instead_of_rating is True
    assert QueueConfig(**fields, flag_instead_of_rating=False).flag_instead_of_rating is False
    assert allows_flag_only({"config": {}}) and not allows_flag_only({"config": {"flag_instead_of_rating": False}})


def test_an_unanswered_boolean_is_missing_and_false_is_an_answer():
    criteria = RUBRIC["criteria"]
    assert missing_answers(criteria, {"correctness": "correct", "grounded": None}) == ["grounded"]
    assert missing_answers(criteria, {"correctness": "correct"}) == ["grounded"]
    assert missing_answers(criteria, {"correctness": "correct", "grounded": False}) == []  # polite is optional


def test_flag_only_needs_a_reason_and_no_answer_at_all():
    assert flag_only({"correctness": None, "grounded": None}, BROKEN)
    assert flag_only({}, BROKEN)
    assert not flag_only({}, [{"reason": "  "}]) and not flag_only({}, [{}]) and not flag_only({}, [])
    assert not flag_only({"correctness": "correct"}, BROKEN)  # partly rated: the rubric applies
    assert not flag_only({"grounded": False}, BROKEN)  # False is an answer
    assert not flag_only(["x"], BROKEN) and not flag_only({}, "broken run")  # not the shapes a client sends
    criteria = RUBRIC["criteria"]
    assert missing_answers(criteria, {}, BROKEN, flag_instead=True) == []
    assert missing_answers(criteria, {}, BROKEN, flag_instead=False) == ["correctness", "grounded"]


def test_validate_accepts_flag_only_only_where_the_queue_allows_it():
    rows = [
        {"submission_id": 1, "answers": {}, "flags": BROKEN, "run_a": None, "run_b": None, "rubric_version": "v"},
        {"submission_id": 2, "answers": {"correctness": "correct"}, "flags": BROKEN, "run_a": None, "run_b": None,
         "rubric_version": "v"},
    ]  # fmt: skip
    assert validate(rows, RUBRIC, "single") == {2: ["grounded: required, but not answered"]}
    refused = validate(rows, RUBRIC, "single", flag_instead=False)
    assert refused[1] == [
        "flagged instead of rated, but this queue's flag_instead_of_rating is false: answer the required criteria",
        "correctness: required, but not answered", "grounded: required, but not answered",
    ]  # fmt: skip


def test_a_flag_only_submission_is_collected_apart_without_labels_and_reaches_the_lead(stores):
    store, wh = stores
    seed_queue(store, QUEUE, n=3, reviewers_needed=1, promotion=None, rubric=RUBRIC)
    submit(store, item(1), "reviewer1", Draft({}, comment="500 from the tool", flags=BROKEN), now=T0)
    submit(store, item(2), "reviewer1", Draft({"correctness": "correct", "grounded": False}), now=T0)
    result = collect(store, wh, now=T0 + timedelta(minutes=1))
    assert result.as_dict() == {"read": 2, "loaded": 2, "rejected": 0, "labels": 2, "watermark": result.watermark,
                                "flag_only": 1}  # fmt: skip
    assert wh.execute("SELECT item_id, flag_only FROM submissions ORDER BY item_id") == [
        (item(1), True), (item(2), False)
    ]  # fmt: skip
    assert wh.execute("SELECT item_id, criterion, value FROM labels ORDER BY criterion") == [
        (item(2), "correctness", "correct"), (item(2), "grounded", "false"),
    ]  # fmt: skip: an unanswered optional boolean gives no label, an answered False does
    [flagged] = flagged_items(store, QUEUE)
    assert (flagged.item_id, flagged.reasons, flagged.comment) == (item(1), ["broken run"], "500 from the tool")


def test_with_flag_instead_of_rating_off_a_flag_only_submission_is_rejected(stores):
    store, wh = stores
    seed_queue(store, QUEUE, n=2, reviewers_needed=1, promotion=None, rubric=RUBRIC,
               flag_instead_of_rating=False)  # fmt: skip
    submit(store, item(1), "reviewer1", Draft({}, flags=BROKEN), now=T0)
    result = collect(store, wh, now=T0 + timedelta(minutes=1))
    assert (result.loaded, result.rejected, result.flag_only) == (0, 1, 0)
    [(reasons,)] = wh.execute("SELECT reasons FROM rejected_submissions")
    assert "flag_instead_of_rating is false" in reasons[0]
    assert item_submissions(store, item(1))[0]["flags"] == BROKEN  # kept exactly as sent, nothing lost


def test_a_required_boolean_left_unanswered_is_rejected_and_an_optional_one_stays_absent(stores):
    store, wh = stores
    seed_queue(store, QUEUE, n=2, reviewers_needed=1, promotion=None, rubric=RUBRIC)
    submit(store, item(1), "reviewer1", Draft({"correctness": "correct", "grounded": None, "polite": None}), now=T0)
    submit(store, item(2), "reviewer1", Draft({"correctness": "correct", "grounded": True, "polite": None}), now=T0)
    result = collect(store, wh, now=T0 + timedelta(minutes=1))
    assert (result.loaded, result.rejected) == (1, 1)
    assert wh.execute("SELECT item_id, reasons FROM rejected_submissions") == [
        (item(1), ["grounded: required, but not answered"])
    ]
    assert wh.execute("SELECT criterion, value FROM labels ORDER BY criterion") == [
        ("correctness", "correct"), ("grounded", "true"),
    ]  # fmt: skip: polite left blank is no label, not False


def test_a_correction_is_stored_in_the_runs_shape_and_read_back_as_that_value(stores):
    store, wh = stores
    seed_queue(store, QUEUE, n=2, reviewers_needed=1, promotion=None)
    fixed = {"messages": [{"role": "assistant", "content": "Your order shipped on May 2."}]}
    answers = {"correctness": "incorrect", "helpfulness": 2}
    submit(store, item(1), "reviewer1", Draft(answers, correction=fixed), now=T0)
    submit(store, item(2), "reviewer1", Draft(answers, correction="plain text answer"), now=T0)
    assert [s["correction"] for s in item_submissions(store, item(1))] == [fixed]
    assert [s["correction"] for s in item_submissions(store, item(2))] == ["plain text answer"]
    collect(store, wh, now=T0 + timedelta(minutes=1))
    assert [json.loads(c) for (c,) in wh.execute("SELECT correction FROM submissions ORDER BY item_id")] == [
        fixed, "plain text answer"
    ]  # fmt: skip


def test_m010_turns_text_corrections_into_json_strings(tmp_path: Path):
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'review.sqlite'}"
    with ReviewStore(url) as store:
        accounts.add_user(store, "reviewer1", "reviewer", "correct horse battery")
        seed_queue(store, QUEUE, n=1, reviewers_needed=1, promotion=None)
        submit(store, item(1), "reviewer1", Draft({"correctness": "correct"}, correction="x"), now=T0)
        with store.write() as conn:  # as written before m010: plain text
            conn.execute(text("UPDATE submissions SET correction = 'Better: ship it [1]'"))
            conn.execute(text("DELETE FROM migrations WHERE name = 'm010_submission_correction_json'"))
    with ReviewStore(url) as store:  # reopened: migrated
        assert item_submissions(store, item(1))[0]["correction"] == "Better: ship it [1]"


def test_m010_converts_a_postgres_text_column(postgres_url: str):
    from review_support import reset_postgres
    from sqlalchemy import text

    with ReviewStore(postgres_url) as store:
        reset_postgres(store)
        accounts.add_user(store, "reviewer1", "reviewer", "correct horse battery")
        seed_queue(store, QUEUE, n=1, reviewers_needed=1, promotion=None)
        with store.write() as conn:  # the column as it was before m010
            conn.execute(text("ALTER TABLE submissions ALTER COLUMN correction TYPE TEXT"))
            conn.execute(text("DELETE FROM migrations WHERE name = 'm010_submission_correction_json'"))
            conn.execute(text(
                "INSERT INTO submissions (item_id, reviewer, revision, answers, correction, flags, suggestion_shown, "
                "rubric_version, submitted_at) SELECT item_id, 'reviewer1', 1, '{}', 'old {text}', '[]', false, "
                "rubric_version, now() FROM items"))  # fmt: skip
    with ReviewStore(postgres_url) as store:
        assert item_submissions(store, item(1))[0]["correction"] == "old {text}"
