"""Training in the whole loop, on the demo: training answers never reach the warehouse's labels or the
consensus, and the simulated reviewers train before they review (and stop when they fail)."""

from __future__ import annotations

from sqlalchemy import func, select

from reviewdesk.demo.simulate import simulate_reviews
from reviewdesk.labels.collection import collect
from reviewdesk.labels.resolve import resolve_queue
from reviewdesk.review.drafts import Draft
from reviewdesk.review.qualification import send_back, standings
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import submit
from reviewdesk.review.training import answer_training
from reviewdesk.stores.review_schema import items, submissions, training_answers

QUEUE = "support-quality"
REVIEWERS = ("reviewer1", "reviewer2", "reviewer3")


def test_training_answers_never_reach_labels_or_consensus(demo_stores):
    store, wh = demo_stores
    send_back(store, QUEUE, "reviewer1", "lead", "train again")
    gold = {i["item_id"]: i["gold_answer"] for i in store.items(QUEUE) if i["is_gold"]}
    while (item := next_item(store, QUEUE, "reviewer1")).get("training"):  # answered as the gold answer says
        known = gold[item["item_id"]]
        answer_training(store, item["item_id"], "reviewer1", {k: known[k] for k in ("correctness", "helpfulness")})
    with store.read() as conn:
        assert conn.scalar(select(func.count()).select_from(training_answers)) == 8
        assert conn.scalar(select(func.count()).select_from(submissions)) == 0
        assert conn.scalar(select(func.sum(items.c.reviews_done))) == 0  # no review counted
    assert collect(store, wh).read == 0
    resolve_queue(store, wh, QUEUE)
    assert wh.execute("SELECT count(*) FROM labels")[0][0] == 0
    assert wh.execute("SELECT count(*) FROM consensus")[0][0] == 0
    live = next_item(store, QUEUE, "reviewer2")  # a live answer does reach them
    submit(store, live["item_id"], "reviewer2", Draft({"correctness": "correct", "helpfulness": 4}))
    collect(store, wh)
    labelled = [tuple(r) for r in wh.execute("SELECT DISTINCT reviewer, item_id FROM labels")]
    assert labelled == [("reviewer2", live["item_id"])]


def test_simulated_reviewers_train_first_and_never_review_the_gold_items_they_trained_on(demo_stores):
    store, wh = demo_stores
    for name in REVIEWERS:
        send_back(store, QUEUE, name, "lead", "new to the queue")
    result = simulate_reviews(store, wh, QUEUE, reviewers=3, accuracy=1.0, seed=1)
    assert result.training_answers == 3 * 8 and result.submitted > 0 and result.answered_truly == result.answers
    assert {s.reviewer: s.state for s in standings(store, QUEUE)} == dict.fromkeys(REVIEWERS, "qualified")
    with store.read() as conn:
        trained = set(conn.execute(select(training_answers.c.item_id, training_answers.c.reviewer)).all())
        reviewed = set(conn.execute(select(submissions.c.item_id, submissions.c.reviewer)).all())
    assert len(trained) == 24 and not trained & reviewed


def test_simulated_reviewers_who_fail_training_are_held_and_submit_nothing(demo_stores):
    store, wh = demo_stores
    for name in REVIEWERS:
        send_back(store, QUEUE, name, "lead", "new to the queue")
    result = simulate_reviews(store, wh, QUEUE, reviewers=3, accuracy=0.0, seed=1)
    assert (result.training_answers, result.submitted) == (24, 0)
    assert {s.reviewer: s.state for s in standings(store, QUEUE)} == dict.fromkeys(REVIEWERS, "held")
