"""Model suggestions reach a reviewer only as the queue's policy says, and the submission records it."""

from __future__ import annotations

from pathlib import Path

import pytest
from review_support import T0, seed_queue

from reviewdesk.review import accounts
from reviewdesk.review.drafts import Draft
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import item_submissions, submit
from reviewdesk.review.suggestions import revealed_suggestions, suggestion_shown
from reviewdesk.stores.review_schema import items
from reviewdesk.stores.reviewstore import ReviewStore

SUGGESTION = {"correctness": {"value": "incorrect", "confidence": 0.8, "model_version": "heuristic-1"}}


@pytest.fixture
def store(tmp_path: Path):
    with ReviewStore(f"sqlite:///{tmp_path / 'review.sqlite'}") as s:
        accounts.add_user(s, "reviewer1", "reviewer", "correct horse battery")
        yield s


def seed(store: ReviewStore, policy: str, n: int = 40) -> None:
    seed_queue(store, n=n, reviewers_needed=1, suggestions=policy)
    with store.write() as conn:
        conn.execute(items.update().values(suggestions=SUGGESTION))


def take_all(store: ReviewStore) -> list[dict]:
    got = []
    while (item := next_item(store, "support-quality", "reviewer1", now=T0)) is not None:
        got.append(item)
        draft = Draft({"correctness": "correct"}, suggestion_shown=item["suggestion_shown"])
        submit(store, item["item_id"], "reviewer1", draft, now=T0)
    return got


@pytest.mark.parametrize(("policy", "shown"), [("show", 40), ("hide", 0), ("after_answer", 0)])
def test_next_item_gives_suggestions_only_where_the_policy_shows_them(store: ReviewStore, policy: str, shown: int):
    seed(store, policy)
    got = take_all(store)
    assert len(got) == 40
    assert sum(i["suggestion_shown"] for i in got) == shown
    assert all((i["suggestions"] == SUGGESTION) == i["suggestion_shown"] for i in got)
    assert all(i["suggestions"] is None for i in got if not i["suggestion_shown"])


def test_randomized_policy_shows_a_recorded_half_fixed_per_item(store: ReviewStore):
    seed(store, "randomized")
    got = take_all(store)
    shown = {i["item_id"] for i in got if i["suggestion_shown"]}
    expected = {i["item_id"] for i in got if suggestion_shown({"suggestions": "randomized"}, i["item_id"], "x")}
    assert shown == expected and 10 <= len(shown) <= 30  # about half of 40, by a hash of the item id
    recorded = {s["item_id"] for i in got for s in item_submissions(store, i["item_id"]) if s["suggestion_shown"]}
    assert recorded == shown


def test_no_suggestion_means_none_was_shown_whatever_the_policy(store: ReviewStore):
    seed_queue(store, n=3, reviewers_needed=1, suggestions="show")
    got = take_all(store)
    assert [i["suggestion_shown"] for i in got] == [False] * 3


def test_after_answer_reveals_suggestions_only_after_submit(store: ReviewStore):
    seed(store, "after_answer", n=2)
    item = next_item(store, "support-quality", "reviewer1", now=T0)
    assert item["suggestions"] is None
    assert revealed_suggestions(store, item["item_id"], "reviewer1") is None
    submit(store, item["item_id"], "reviewer1", Draft({"correctness": "correct"}), now=T0)
    assert revealed_suggestions(store, item["item_id"], "reviewer1") == SUGGESTION
