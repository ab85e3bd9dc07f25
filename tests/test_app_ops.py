"""Running the operation from the app, through AppTest: grants on the Users page, flag resolution, pausing a
queue, and adjudication that stays on its queue, shows answers as reviewers saw them and routes explicitly."""

from __future__ import annotations

from pathlib import Path

import pytest
from demo_support import demo_copy
from render_support import page_html
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from reviewdesk.demo.run import DEMO_PASSWORD
from reviewdesk.labels.adjudication import backlog, open_cases
from reviewdesk.review.access import grants, revoke
from reviewdesk.review.accounts import add_user, authenticate
from reviewdesk.review.drafts import Draft
from reviewdesk.review.oversight import flagged_items
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import submit
from reviewdesk.stores.review_schema import adjudications, queues
from reviewdesk.stores.reviewstore import ReviewStore

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "review_app" / "app.py")
QUEUE, AB = "support-quality", "support-ab"


@pytest.fixture
def data(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the demo (published queues, no reviews) with alice, a reviewer granted nothing."""
    with demo_copy(demo_template, tmp_path / "data") as (store, _):
        add_user(store, "alice", "reviewer", "alice-password")
    monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def store_of(data: Path) -> ReviewStore:
    return ReviewStore(f"sqlite:///{data / 'review.sqlite'}")


def page(data: Path, name: str, script: str, password: str = DEMO_PASSWORD) -> AppTest:
    with store_of(data) as store:
        token = authenticate(store, name, password).token
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["session_token"] = token
    at = at.run().switch_page(script).run()
    assert not at.exception
    return at


def click(at: AppTest, label: str) -> AppTest:
    found = [b for b in [*at.button, *at.get("form_submit_button")] if b.label == label]
    assert found, f"no button {label!r}"
    return found[0].click().run()


def test_a_queue_granted_to_nobody_says_so_until_an_admin_grants_it(data: Path):
    with store_of(data) as store:
        for name in ("reviewer1", "reviewer2", "reviewer3"):
            revoke(store, AB, name)
    at = page(data, "admin", "views/users.py")
    assert [w.value for w in at.warning] == [
        f"Granted to nobody yet, so no reviewer sees them: {AB}. Grant them below."
    ]
    assert page(data, "alice", "views/my_queues.py", "alice-password").info[0].value.startswith("No queue is")
    at = at.selectbox(key="access_user").select("alice").run()
    at.multiselect(key="access-alice").select(AB)
    at = click(at, "Save access")
    assert [s.value for s in at.success] == [f"alice may now review {AB}."]
    assert not at.warning
    assert next(r for r in at.dataframe[0].value.to_dict("records") if r["name"] == "alice")["queues"] == AB
    with store_of(data) as store:
        assert grants(store)[AB] == ["alice"]
    mine = page(data, "alice", "views/my_queues.py", "alice-password")
    assert [s.value for s in mine.subheader] == [f"{AB} (pairwise)"]

    at = at.selectbox(key="access_user").select("alice").run()
    at.multiselect(key="access-alice").unselect(AB)
    at = click(at, "Save access")
    assert [s.value for s in at.success] == [f"alice may no longer review {AB} (from their next action)."]
    with store_of(data) as store:
        assert AB not in grants(store)


def test_a_lead_opens_a_flagged_item_read_only_and_resolves_it(data: Path):
    with store_of(data) as store:
        item = next_item(store, QUEUE, "reviewer1")
        flag = Draft({"correctness": "incorrect", "helpfulness": 1}, comment="Card number shown",
                     flags=[{"reason": "contains personal data (PII)"}])  # fmt: skip
        submit(store, item["item_id"], "reviewer1", flag)
    at = page(data, "lead", "views/flagged.py")
    assert at.dataframe[0].value["resolution"].tolist() == ["open"]
    assert any(c.value.endswith("read-only") for c in at.caption)  # the item, drawn by item_view
    (answer,) = page_html(at).select(".answer")  # its run content
    assert answer.get_text().startswith("Answer") and len(answer.get_text()) > 20
    assert not at.text_area[0].value and not any(b.label == "Submit" for b in at.button)  # no review form
    at.selectbox(key="flag_category").select("personal data")
    at = click(at, "Resolve flag")  # no note yet
    assert at.error[0].value.startswith("Add a note")
    at.text_area(key="flag_note").input("Masked in the source app; asked the team to redact logs.")
    at = click(at, "Resolve flag")
    assert at.success[0].value == f"Resolved reviewer1's flag on {item['item_id']} as personal data."
    assert at.success[-1].value == "No open flags here."  # resolved: off the open list
    at = at.radio(key="flag_state").set_value("resolved").run()
    assert at.dataframe[0].value["resolution"].tolist() == [
        "personal data (lead): Masked in the source app; asked the team to redact logs."
    ]
    with store_of(data) as store:
        [found] = flagged_items(store, QUEUE)
    assert found.resolution["category"] == "personal data" and found.resolution["resolved_by"] == "lead"


def test_a_lead_pauses_a_queue_and_reviewers_see_it_paused(data: Path):
    at = page(data, "lead", "views/queue_progress.py")
    assert any(t.value.startswith("Backlog: ") for t in at.text)
    at = next(b for b in at.button if b.key == f"pause-{QUEUE}").click().run()
    assert at.warning[0].value.startswith("Paused by lead at ")
    with store_of(data) as store, store.read() as conn:
        assert conn.scalar(select(queues.c.paused_by).where(queues.c.name == QUEUE)) == "lead"
    mine = page(data, "reviewer1", "views/my_queues.py")
    assert [w.value for w in mine.warning] == ["Paused by a lead: no items are handed out until it is resumed."]
    review = page(data, "reviewer1", "views/review.py").pills(key="review_queue").set_value(QUEUE).run()
    assert "is paused by lead" in review.error[0].value
    at = next(b for b in at.button if b.key == f"resume-{QUEUE}").click().run()
    assert not at.warning
    with store_of(data) as store:
        assert next_item(store, QUEUE, "reviewer1") is not None


def test_adjudication_shows_sides_stays_on_the_queue_and_routes_only_when_ticked(data: Path):
    with store_of(data) as store:
        pair = next_item(store, AB, "reviewer1")
        submit(store, pair["item_id"], "reviewer1", Draft({"preference": pair["left_run_id"]}))  # A, as shown
        submit(store, pair["item_id"], "reviewer2", Draft({"preference": "tie"}))
        single = [i["item_id"] for i in store.items(QUEUE) if not i["is_gold"]][:2]
        why = "reviewers disagree"
        open_cases(store, [{"item_id": i, "criterion": "correctness", "queue": QUEUE, "why": why} for i in single])
        open_cases(store, [{"item_id": pair["item_id"], "criterion": "preference", "queue": AB, "why": why}])
    at = page(data, "lead", "views/adjudication.py")
    assert at.selectbox(key="adjudication_queue").value == AB  # the first queue, by name
    said = " ".join(c.value for c in at.caption)
    assert "A better (1), Tie (1)" in said and pair["run_a"] not in said and pair["run_b"] not in said
    assert sorted(at.dataframe[0].value["preference"]) == ["A better", "Tie"]

    at = at.selectbox(key="adjudication_queue").select(QUEUE).run()
    for n, item_id in enumerate(single):
        assert at.selectbox[1].value == item_id  # the oldest open case of the queue, without picking it
        at.radio[0].set_value("incorrect")
        at.text_area[0].input("Quotes a refund the policy does not allow." if n == 0 else "Wrong order number.")
        if n == 0:
            at.checkbox[0].check()
        at = click(at, "Record decision")
        assert not at.exception and at.success[0].value == f"Decided correctness of {item_id}."
        if n == 0:
            assert at.selectbox(key="adjudication_queue").value == QUEUE  # stays on the queue
    assert at.selectbox(key="adjudication_queue").value == AB  # QUEUE has no case left
    with store_of(data) as store:
        assert backlog(store, QUEUE) == []
        with store.read() as conn:
            routed = dict(conn.execute(select(adjudications.c.item_id, adjudications.c.product_issue)
                                       .where(adjudications.c.queue == QUEUE)).all())  # fmt: skip
    assert routed == {single[0]: True, single[1]: False}  # "policy" in a reason routes nothing
