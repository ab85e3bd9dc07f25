"""Bad `training` and `monitoring` blocks are a message naming the field (exit 2), and hostile training
answers are refused with nothing stored; a training answer can never be sent as a live one."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from review_support import PASSWORD, T0, seed_queue, store_with_reviewers
from sqlalchemy import func, select
from typer.testing import CliRunner

from reviewdesk.cli import app
from reviewdesk.errors import AccessDenied, NotFound, ReviewConflict
from reviewdesk.review import accounts
from reviewdesk.review.reservations import next_item
from reviewdesk.review.training import answer_training
from reviewdesk.stores.review_schema import training_answers

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = yaml.safe_load((ROOT / "queues" / "support-quality.yaml").read_text())
TRAINING = {"items": 8, "pass_accuracy": 0.75, "feedback": "immediate", "retry_after_hours": 24}

BAD = {  # changes to the example queue -> what the message must say
    "training-without-gold": ({"gold_fraction": 0.0}, "`training` draws its items from the queue's gold items"),
    "training-without-gold-source": ({"gold_source": None, "gold_fraction": 0.0}, "set `gold_source`"),
    "monitoring-without-training": ({"training": None}, "`monitoring` sends a reviewer back to training"),
    "zero-items": ({"training": {**TRAINING, "items": 0}}, "training.items"),
    "too-many-items": ({"training": {**TRAINING, "items": 10_000}}, "training.items"),
    "accuracy-above-one": ({"training": {**TRAINING, "pass_accuracy": 1.5}}, "training.pass_accuracy"),
    "accuracy-zero": ({"training": {**TRAINING, "pass_accuracy": 0}}, "training.pass_accuracy"),
    "accuracy-as-text": ({"training": {**TRAINING, "pass_accuracy": "most"}}, "training.pass_accuracy"),
    "unknown-feedback": ({"training": {**TRAINING, "feedback": "later"}}, "training.feedback"),
    "negative-retry": ({"training": {**TRAINING, "retry_after_hours": -1}}, "training.retry_after_hours"),
    "a-typo": ({"training": {**TRAINING, "pass_acuracy": 0.8}}, "training.pass_acuracy"),
    "a-list": ({"training": [8, 0.75]}, "training"),
    "window-zero": ({"monitoring": {"window": 0, "min_accuracy": 0.6}}, "monitoring.window"),
    "min-accuracy-above-one": ({"monitoring": {"window": 20, "min_accuracy": 2}}, "monitoring.min_accuracy"),
    "monitoring-missing-window": ({"monitoring": {"min_accuracy": 0.6}}, "monitoring.window"),
}


@pytest.mark.parametrize(("changes", "says"), BAD.values(), ids=BAD.keys())
def test_bad_training_config_is_a_message_naming_the_field(tmp_path: Path, changes: dict, says: str):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**EXAMPLE, **changes}))
    result = CliRunner().invoke(app, ["queues", "validate", str(path)])
    assert result.exit_code == 2, result.output
    assert says in " ".join(result.output.split()) and "Traceback" not in result.output


HOSTILE = {
    "not-an-object": ["correct"],
    "a-number": 7,
    "non-text-keys": {1: "correct"},
    "unstorable-value": {"correctness": object()},
    "none": None,
}


@pytest.mark.parametrize("answers", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_training_answers_are_refused_and_nothing_is_stored(tmp_path: Path, answers: object):
    with store_with_reviewers(tmp_path) as store:
        seed_queue(store, n=4, gold=2, training=TRAINING)
        item = next_item(store, "support-quality", "reviewer1", now=T0)
        with pytest.raises(ReviewConflict, match="nothing was stored"):
            answer_training(store, item["item_id"], "reviewer1", answers, now=T0)
        with store.read() as conn:
            assert conn.scalar(select(func.count()).select_from(training_answers)) == 0


def test_training_answers_to_what_is_no_training_item_are_refused(tmp_path: Path):
    with store_with_reviewers(tmp_path) as store:
        seed_queue(store, n=4, gold=2, training=TRAINING)
        seed_queue(store, name="support-ab", n=2)  # no training
        accounts.add_user(store, "outsider", "reviewer", PASSWORD)
        item = next_item(store, "support-quality", "reviewer1", now=T0)
        answer = {"correctness": "correct"}
        with pytest.raises(ReviewConflict, match="is not a training item"):
            answer_training(store, "support-quality-b1-0004", "reviewer1", answer, now=T0)  # a live item
        with pytest.raises(ReviewConflict, match="has no training"):
            answer_training(store, "support-ab-b1-0001", "reviewer1", answer, now=T0)
        with pytest.raises(AccessDenied):
            answer_training(store, item["item_id"], "outsider", answer, now=T0)
        with pytest.raises(NotFound):
            answer_training(store, "no-such-item", "reviewer1", answer, now=T0)
        with pytest.raises(ReviewConflict, match="needs its training first"):  # not started: no state yet
            answer_training(store, item["item_id"], "reviewer2", answer, now=T0)
        with store.read() as conn:
            assert conn.scalar(select(func.count()).select_from(training_answers)) == 0
