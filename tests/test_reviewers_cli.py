"""`reviewdesk reviewers` lets a lead do from a terminal what the Reviewers page does, recorded the same way."""

from __future__ import annotations

import json
from pathlib import Path

from review_support import PASSWORD, seed_queue
from typer.testing import CliRunner

from reviewdesk.cli import app
from reviewdesk.review import accounts
from reviewdesk.review.qualification import standing
from reviewdesk.stores.reviewstore import ReviewStore

runner = CliRunner()
TRAINING = {"items": 2, "pass_accuracy": 0.5, "feedback": "immediate", "retry_after_hours": 24}


def test_a_lead_qualifies_pauses_and_sends_back_a_reviewer_and_the_history_says_who_and_why(tmp_path: Path):
    base = ["--data-dir", str(tmp_path)]
    url = f"sqlite:///{tmp_path / 'review.sqlite'}"
    with ReviewStore(url) as store:
        accounts.add_user(store, "ana", "reviewer", PASSWORD)
        accounts.add_user(store, "lee", "lead", PASSWORD)
        seed_queue(store, n=6, gold=3, training=TRAINING, assignees=["ana"])
    listed = json.loads(runner.invoke(app, [*base, "reviewers", "list", "support-quality", "--json"]).stdout)
    assert [(r["reviewer"], r["state"]) for r in listed] == [("ana", "new")]

    steps = [("qualify", "knows the domain", "qualified"), ("pause", "too fast on gold", "paused"),
             ("send-back", "retrain on the new rubric", "retraining")]  # fmt: skip
    for action, reason, state in steps:
        done = runner.invoke(app, [*base, "reviewers", action, "support-quality", "ana", "--by", "lee",
                                   "--reason", reason, "--json"])  # fmt: skip
        assert done.exit_code == 0, done.output
        assert (json.loads(done.stdout)["state"], json.loads(done.stdout)["reason"]) == (state, reason)
    with ReviewStore(url) as store:
        assert standing(store, "support-quality", "ana").state == "retraining"

    history = json.loads(runner.invoke(app, [*base, "reviewers", "history", "support-quality", "--json"]).stdout)
    assert [(e["state"], e["by"], e["reason"]) for e in history] == [(s, "lee", r) for _, r, s in reversed(steps)]
    shown = runner.invoke(app, [*base, "reviewers", "list", "support-quality"], terminal_width=200)
    words = shown.output.split()
    assert {"ana", "retraining", "retrain", "rubric"} <= set(words), shown.output


def test_lead_actions_refuse_without_a_reason_or_by_a_reviewer_with_one_line_saying_what_to_do(tmp_path: Path):
    base = ["--data-dir", str(tmp_path)]
    with ReviewStore(f"sqlite:///{tmp_path / 'review.sqlite'}") as store:
        accounts.add_user(store, "ana", "reviewer", PASSWORD)
        accounts.add_user(store, "bo", "reviewer", PASSWORD)
        seed_queue(store, n=4, gold=2, training=TRAINING, assignees=["ana", "bo"])
    for args, says in ((["--by", "bo", "--reason", "why not"], "lead"), (["--by", "bo", "--reason", " "], "reason"),
                       (["--by", "nobody", "--reason", "x"], "nobody")):  # fmt: skip
        refused = runner.invoke(app, [*base, "reviewers", "pause", "support-quality", "ana", *args])
        assert refused.exit_code == 2 and "Traceback" not in refused.output
        assert says in refused.output.lower() and len(refused.output.strip().splitlines()) <= 3
    missing = runner.invoke(app, [*base, "reviewers", "pause", "support-quality", "ana", "--reason", "x"])
    assert missing.exit_code == 2 and "--by" in missing.output
