"""The read-only item view (Flagged items, `?item=` links) on items that cannot be drawn or must not be shown:
a payload nested past Python's parser, an unknown id, another reviewer's queue. Each is a plain notice or a
refusal, never a traceback, and a reviewer never sees a gold answer or a hidden suggestion through it."""

from __future__ import annotations

from pathlib import Path

import pytest
from review_support import seed_queue, store_with_reviewers

from reviewdesk.errors import AccessDenied, NotFound, ReviewConflict
from reviewdesk.review import access, accounts
from reviewdesk.review.drafts import Draft
from reviewdesk.review.submissions import submit

QUEUE = "support-quality"
DEEP = "[" * 100_000 + "]" * 100_000  # valid JSON no Python parser reads


def test_view_item_refuses_what_it_must_not_show_and_says_why_it_cannot_show_the_rest(tmp_path: Path):
    with store_with_reviewers(tmp_path) as store:
        seed_queue(store, n=2, gold=1, assignees=["reviewer1"])
        accounts.add_user(store, "lead", "lead", "correct horse battery")
        gold, plain = f"{QUEUE}-b1-0001", f"{QUEUE}-b1-0002"
        assert access.view_item(store, gold, "lead")["gold_answer"] == {"correctness": "correct"}
        shown = access.view_item(store, gold, "reviewer1")
        assert shown["gold_answer"] is None and shown["is_gold"] is None  # a reviewer cannot tell gold apart
        with pytest.raises(AccessDenied, match="not granted to 'reviewer2'"):
            access.view_item(store, plain, "reviewer2")
        access.revoke(store, QUEUE, "reviewer1")
        with pytest.raises(AccessDenied):
            access.view_item(store, plain, "reviewer1")
        access.grant(store, QUEUE, "reviewer1", by="lead")
        submit(store, plain, "reviewer1", Draft({"correctness": "correct"}))
        access.revoke(store, QUEUE, "reviewer1")
        assert access.view_item(store, plain, "reviewer1")["item_id"] == plain  # what they submitted stays theirs
        with pytest.raises(NotFound):
            access.view_item(store, "no-such-item", "lead")
        with store.write() as conn:  # a payload nested too deeply to parse: set by raw SQL, as a bad publish would
            conn.exec_driver_sql("UPDATE items SET payload = ? WHERE item_id = ?", (DEEP, plain))
        with pytest.raises(ReviewConflict, match=f"Item {plain} cannot be shown: payload cannot be read"):
            access.view_item(store, plain, "lead")
