"""The review screen's new states through AppTest, and the library under them: the progress row, item
links (read-only for a lead, refused to another reviewer, a clear message for a bad id), the signed
session cookie and the constant page code of review_app/browser.py."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import streamlit as st
from pydantic import ValidationError
from review_support import seed_queue
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from review_app import browser
from reviewdesk.config import Settings
from reviewdesk.errors import AccessDenied, ConfigError, NotFound
from reviewdesk.review import accounts
from reviewdesk.review.drafts import Draft
from reviewdesk.review.item_links import open_item
from reviewdesk.review.oversight import Tally, reviewed_since, tally
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import revise, submit
from reviewdesk.stores.reviewstore import ReviewStore

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "review_app" / "app.py")
PASSWORD = "correct horse battery"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> ReviewStore:
    """reviewer1 and reviewer2 on a 6-item queue (1 review each), and a lead."""
    s = ReviewStore(Settings.load(tmp_path).review_url)
    for name, role in (("reviewer1", "reviewer"), ("reviewer2", "reviewer"), ("lead", "lead")):
        accounts.add_user(s, name, role, PASSWORD)
    seed_queue(s, n=6, reviewers_needed=1, assignees=["reviewer1", "reviewer2"])
    return s


def page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, item: str | None = None) -> AppTest:
    """The review page for `name`, logged in, opened at `?item=item` when given."""
    monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input[0].input(name)
    at.text_input[1].input(PASSWORD)
    at = at.button[0].click().run()
    if item is not None:
        at.query_params["item"] = item
    return at.switch_page("views/review.py").run()


def captions(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption)


def test_the_progress_row_counts_this_batch_this_queue_and_my_day(store, tmp_path, monkeypatch):
    at = page(tmp_path, monkeypatch, "reviewer1")
    assert not at.exception
    assert "Reviews done: batch 0/6 · queue 0/6 · today 0 by you" in captions(at)
    at = next(b for b in at.button if b.label == "correct").click().run()
    at = next(b for b in at.button if b.label == "4").click().run()
    at = next(b for b in at.button if b.label == "Submit").click().run()
    assert "today 1 by you" in captions(at)  # exact; the batch and queue counts are kept for TALLY_SECONDS
    st.cache_data.clear()
    assert "Reviews done: batch 1/6 · queue 1/6 · today 1 by you" in captions(at.run())
    assert "Item 2 of batch support-quality-b1" in captions(at)
    assert at.query_params["item"] == at.session_state["item"]["item_id"]  # the address bar holds its link


def test_tally_counts_reviews_capped_per_item_and_my_day_counts_first_revisions(tmp_path):
    s = ReviewStore(Settings.load(tmp_path).review_url)
    for name in ("a", "b", "c"):
        accounts.add_user(s, name, "reviewer", PASSWORD)
    seed_queue(s, n=4, reviewers_needed=2, batch_id="one", assignees=["a", "b", "c"])
    for reviewer, when in (("a", NOW), ("b", NOW), ("c", NOW - timedelta(days=1))):
        item = next_item(s, "support-quality", reviewer, now=when)
        submit(s, item["item_id"], reviewer, Draft({"correctness": "correct", "helpfulness": 3}), now=when)
    revise(s, item["item_id"], "c", Draft({"correctness": "incorrect", "helpfulness": 3}), now=NOW)
    # 4 items x 2 reviews = 8 needed; a and b reviewed the first item, c the second: 3 done
    assert tally(s, "support-quality", "one") == Tally(3, 8, 3, 8)
    since = NOW - timedelta(hours=1)
    assert [reviewed_since(s, r, since) for r in "abc"] == [1, 1, 0]  # c's was yesterday; a revision is not new
    with s.read() as conn:  # summed from the index alone, not from rows that carry payloads
        plan = conn.execute(text("EXPLAIN QUERY PLAN SELECT sum(reviews_done) FROM items WHERE batch_id = 'one'"))
        assert "COVERING INDEX ix_items_batch_progress" in " ".join(str(r) for r in plan)


def test_an_item_link_opens_read_only_for_a_lead_with_the_answers_so_far(store, tmp_path, monkeypatch):
    item = next_item(store, "support-quality", "reviewer1")
    submit(store, item["item_id"], "reviewer1", Draft({"correctness": "incorrect", "helpfulness": 2}, comment="hm"))
    at = page(tmp_path, monkeypatch, "lead", item=item["item_id"])
    assert not at.exception
    assert "read only, as it is not reserved for you" in captions(at)
    assert [b.label for b in at.button if b.label in ("Submit", "Skip")] == []
    assert any('"incorrect"' in j.value for j in at.json) and "Comment: hm" in captions(at)
    assert "reviewer1, revision 1" in " ".join(m.value for m in at.markdown)
    at = next(b for b in at.button if b.label == "Go to my review queue").click().run()
    assert any(b.label == "Submit" for b in at.button)  # back to the lead's own review


def test_an_item_link_is_refused_to_a_reviewer_who_does_not_hold_it(store, tmp_path, monkeypatch):
    item = next_item(store, "support-quality", "reviewer2")
    at = page(tmp_path, monkeypatch, "reviewer1", item=item["item_id"])
    assert not at.exception
    assert [e.value for e in at.error] == [
        f"Item '{item['item_id']}' is not reserved for you, so you cannot open it: only leads and admins open "
        "other items. Go on with your own queue."
    ]
    assert not at.json and not any(b.label == "Submit" for b in at.button)


def test_an_item_link_to_the_reviewers_own_held_item_reviews_it(store, tmp_path, monkeypatch):
    held = next_item(store, "support-quality", "reviewer1")
    at = page(tmp_path, monkeypatch, "reviewer1", item=held["item_id"])
    assert at.session_state["item"]["item_id"] == held["item_id"]  # a reload comes back to the same item
    assert any(b.label == "Submit" for b in at.button)


@pytest.mark.parametrize("bad", ["no-such-item", "x" * 5000, "'; DROP TABLE items; --"])
def test_a_bad_item_link_gets_a_clear_message(store, tmp_path, monkeypatch, bad: str):
    at = page(tmp_path, monkeypatch, "lead", item=bad)
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert "in the review store: it may belong to a batch not yet published" in error and len(error) < 400
    with pytest.raises(NotFound):
        open_item(store, bad, {"name": "lead", "role": "lead"})


def test_open_item_tells_review_read_only_and_refused_apart(store):
    held = next_item(store, "support-quality", "reviewer1")
    assert open_item(store, held["item_id"], {"name": "reviewer1", "role": "reviewer"}).mode == "review"
    link = open_item(store, held["item_id"], {"name": "lead", "role": "lead"})
    assert (link.mode, link.queue, link.item["item_id"], link.answers) == ("read_only", "support-quality",
                                                                           held["item_id"], [])  # fmt: skip
    with pytest.raises(AccessDenied):
        open_item(store, held["item_id"], {"name": "reviewer2", "role": "reviewer"})


def test_a_signed_session_cookie_holds_its_token_until_it_expires_and_refuses_any_change(tmp_path):
    secret = accounts.session_secret(tmp_path)
    value = accounts.sign_session(secret, "tok-123", now=NOW, hours=12)
    token, expires, signature = value.split(".")
    assert (token, int(expires)) == ("tok-123", int((NOW + timedelta(hours=12)).timestamp()))
    assert accounts.signed_token(secret, value, now=NOW + timedelta(hours=11)) == "tok-123"
    assert accounts.signed_token(secret, value, now=NOW + timedelta(hours=12)) is None  # expired
    later = str(int(expires) + 3600)
    for forged in (f"tok-124.{expires}.{signature}", f"tok-123.{later}.{signature}", f"tok-123.{expires}.x",
                   "tok-123", "", None, "a.b.c.d", f"tok-123.{expires}.{signature}é", "tok.²³.sig"):  # fmt: skip
        assert accounts.signed_token(secret, forged, now=NOW) is None, forged
    other = accounts.session_secret(tmp_path / "elsewhere")
    assert accounts.signed_token(other, value, now=NOW) is None  # another server's secret


def test_the_session_secret_is_made_once_private_and_a_damaged_one_is_refused(tmp_path):
    first = accounts.session_secret(tmp_path)
    assert accounts.session_secret(tmp_path) == first and len(first) == 64
    assert stat.S_IMODE((tmp_path / accounts.SECRET_FILE).stat().st_mode) == 0o600
    (tmp_path / accounts.SECRET_FILE).write_text("short")
    with pytest.raises(ConfigError, match="delete it"):
        accounts.session_secret(tmp_path)


def test_replicas_given_one_secret_accept_each_others_cookies_and_others_do_not(tmp_path, monkeypatch):
    shared = "s" * 40
    one, two = accounts.session_secret(tmp_path / "a", shared), accounts.session_secret(tmp_path / "b", shared)
    value = accounts.sign_session(one, "tok-1", now=NOW)
    assert accounts.signed_token(two, value, now=NOW) == "tok-1"
    assert accounts.signed_token(accounts.session_secret(tmp_path / "c"), value, now=NOW) is None
    assert not (tmp_path / "a" / accounts.SECRET_FILE).exists()  # a given secret is never written to disk
    monkeypatch.setenv("REVIEWDESK_SESSION_SECRET", "too short")
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings.load(tmp_path)


def test_page_code_takes_no_markup_from_data():
    assert browser.css_class("item-1/<style>") == "st-key-item-1--style-"
    with pytest.raises(ValueError):
        browser.set_cookie("reviewdesk_session", '"; alert(1); "', 60)
    assert "alert" not in browser.FIT_SCREEN and "<script" not in browser.FIT_SCREEN
