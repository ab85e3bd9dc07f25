"""The lead and admin pages through Streamlit's AppTest: queue progress, flagged items, users, and their roles."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from demo_support import qualify_demo_reviewers
from render_support import unsafe
from streamlit.testing.v1 import AppTest

from reviewdesk.config import Settings
from reviewdesk.demo.run import DEMO_PASSWORD, run_demo
from reviewdesk.queues import load_queues
from reviewdesk.review.accounts import add_user, authenticate, get_user
from reviewdesk.review.drafts import Draft
from reviewdesk.review.oversight import progress
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import revise, submit
from reviewdesk.stores.reviewstore import ReviewStore

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "review_app" / "app.py"
QUEUE, AB = "support-quality", "support-ab"
EXAMPLES = sorted(q.name for q in load_queues(ROOT / "queues"))  # the demo publishes each, granted to reviewer1-3
PII = "contains personal data (PII)"
COMMENT = "<script>alert(1)</script> The answer quotes a customer's email."
LEAD_ONLY = "This page needs the lead or admin role. Ask an admin if you need it."


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo, users dave and frank, and known work. In support-quality reviewer1 did 2 items (60 s,
    120 s) and edited one, reviewer2 did 1 (45 s), reviewer3 holds one; in support-ab reviewer2 flagged one."""
    data = tmp_path_factory.mktemp("lead") / "data"
    settings = Settings.load(data, ROOT / "queues")
    run_demo(settings, runs=800, seed=3, simulate=False)
    qualify_demo_reviewers(settings.data_dir)
    now = datetime.now(UTC)
    with ReviewStore(settings.review_url) as store:
        add_user(store, "dave", "reviewer", "dave-password")
        add_user(store, "frank", "reviewer", "frank-password")
        first = next_item(store, QUEUE, "reviewer1")["item_id"]
        ok = {"correctness": "correct"}
        submit(store, first, "reviewer1", Draft(ok, shown_at=now - timedelta(seconds=60)), now=now)
        second = next_item(store, QUEUE, "reviewer1")["item_id"]
        submit(store, second, "reviewer1", Draft(ok, shown_at=now), now=now + timedelta(seconds=120))
        revise(store, first, "reviewer1", Draft({"correctness": "incorrect"}), now=now + timedelta(seconds=130))
        third = next_item(store, QUEUE, "reviewer2")["item_id"]
        submit(store, third, "reviewer2", Draft(ok, shown_at=now), now=now + timedelta(seconds=45))
        assert next_item(store, QUEUE, "reviewer3") is not None
        flagged = next_item(store, AB, "reviewer2")
        tie = Draft({"preference": "tie"}, comment=COMMENT, flags=[{"reason": PII}])
        submit(store, flagged["item_id"], "reviewer2", tie)
    return data


@pytest.fixture
def url(demo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(demo_dir))
    return f"sqlite:///{demo_dir / 'review.sqlite'}"


def token(url: str, name: str, password: str = DEMO_PASSWORD) -> str:
    with ReviewStore(url) as store:
        return authenticate(store, name, password).token


def open_page(url: str, name: str, page: str) -> AppTest:
    """Log `name` in and open `page` through the router, as the sidebar does."""
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.session_state["session_token"] = token(url, name)
    return at.run().switch_page(page).run()


def open_directly(url: str, name: str, page: str) -> AppTest:
    """Run a page script on its own, as if the navigation had been bypassed."""
    at = AppTest.from_file(str(ROOT / "review_app" / page), default_timeout=30)
    at.session_state["session_token"] = token(url, name)
    return at.run()


def table(at: AppTest, index: int = 0) -> list[dict]:
    """A shown dataframe's rows, with missing values (NaN, NaT) as None."""
    df = at.dataframe[index].value
    return df.astype(object).where(df.notna(), None).to_dict("records")


def test_lead_sees_each_queues_progress_and_per_reviewer_work(url: str):
    at = open_page(url, "lead", "views/queue_progress.py")
    assert not at.exception
    assert at.title[0].value == "Queue progress"
    assert [s.value for s in at.subheader] == EXAMPLES
    with ReviewStore(url) as store:
        p = progress(store, QUEUE)
    assert at.get("progress")[1].proto.text == (
        f"3 of {p.needed:,} reviews done · {p.complete:,} of {p.items:,} items complete"
    )
    rows = [
        {k: r[k] for k in ("reviewer", "items_done", "revisions", "median_seconds", "reserved")} for r in table(at, 1)
    ]
    assert rows == [
        {"reviewer": "reviewer1", "items_done": 2, "revisions": 3, "median_seconds": 90.0, "reserved": 0},
        {"reviewer": "reviewer2", "items_done": 1, "revisions": 1, "median_seconds": 45.0, "reserved": 0},
        {"reviewer": "reviewer3", "items_done": 0, "revisions": 0, "median_seconds": None, "reserved": 1},
    ]
    chart = at.get("vega_lite_chart")[1].proto
    data = pa.ipc.open_stream(chart.datasets[0].data.data).read_all().to_pydict()
    assert (data["reviewer"], data["items_done"]) == (["reviewer1", "reviewer2", "reviewer3"], [2, 1, 0])
    assert '"mark": {"type": "bar"}' in chart.spec


def test_lead_sees_the_flagged_review_as_plain_text_and_can_filter_by_queue(url: str):
    at = open_page(url, "lead", "views/flagged.py")
    assert not at.exception
    [row] = table(at)
    with ReviewStore(url) as store:
        [item] = [i for i in store.items(AB) if i["item_id"] == row["item_id"]]
    assert {k: row[k] for k in ("queue", "reviewer", "reasons", "comment", "run_ids")} == {
        "queue": AB, "reviewer": "reviewer2", "reasons": PII, "comment": COMMENT,
        "run_ids": f"{item['run_a']}, {item['run_b']}",
    }  # fmt: skip
    assert not [p for h in at.get("html") for p in unsafe(h.value)]  # the opened item's run: inert markup
    assert "<script" not in " ".join(m.value for m in at.markdown)
    at = at.selectbox[0].select(QUEUE).run()
    assert not at.dataframe
    assert at.success[0].value == "No open flags here."


@pytest.mark.parametrize(
    "page",
    [
        "views/queue_progress.py",
        "views/agreement.py",
        "views/reviewers.py",
        "views/flagged.py",
        "views/adjudication.py",
        "views/users.py",
    ],
)
def test_a_reviewer_gets_no_lead_or_admin_page(url: str, page: str):
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in their navigation
        open_page(url, "reviewer1", page)
    at = open_directly(url, "reviewer1", page)  # and refused by the page itself
    assert not at.exception
    assert [e.value for e in at.error] == [LEAD_ONLY]
    assert not at.title and not at.dataframe and not at.get("vega_lite_chart")


def test_a_lead_manages_queue_access_but_not_accounts(url: str):  # leads grant queues since issue 14
    at = open_page(url, "lead", "views/users.py")
    assert not at.exception and at.dataframe
    assert [s.value for s in at.subheader] == ["Queue access"]  # no adding, disabling or passwords
    assert not at.text_input and [b.label for b in at.button] == ["Log out"]


def users_page(url: str) -> AppTest:
    at = open_page(url, "admin", "views/users.py")
    assert not at.exception
    return at


def add_form(at: AppTest, name: str, password: str, queues: list[str]) -> AppTest:
    at.text_input(key="new_name").input(name)
    at.selectbox(key="new_role").select("reviewer")
    for q in queues:
        at.multiselect(key="new_queues").select(q)
    at.text_input(key="new_password").input(password)
    return next(b for b in at.get("form_submit_button") if b.label == "Add user").click().run()


def test_admin_lists_users_without_password_hashes(url: str):
    at = users_page(url)
    rows = {r["name"]: r for r in table(at)}
    assert {"admin", "lead", "reviewer1", "reviewer2", "reviewer3", "dave"} <= set(rows)
    assert rows["lead"]["role"] == "lead" and rows["lead"]["queues"] == "all (as lead)"
    assert rows["reviewer1"]["queues"] == ", ".join(EXAMPLES) and rows["dave"]["queues"] == "none granted"
    assert "password_hash" not in at.dataframe[0].value.columns
    assert "scrypt$" not in at.dataframe[0].value.to_string()


def test_admin_adds_a_user_who_can_then_log_in(url: str):
    at = add_form(users_page(url), "carol", "carol-password", [QUEUE])
    assert not at.exception
    assert [s.value for s in at.success] == ["Added carol (reviewer)."]
    assert {"name": "carol", "role": "reviewer", "queues": QUEUE, "state": "active"}.items() <= next(
        r for r in table(at) if r["name"] == "carol"
    ).items()
    assert at.text_input(key="new_name").value == "" and at.text_input(key="new_password").value == ""
    with ReviewStore(url) as store:
        assert authenticate(store, "carol", "carol-password").role == "reviewer"
        assert get_user(store, "carol")["queues"] == [QUEUE]


def test_refused_additions_show_the_reason_and_store_nothing(url: str):
    at = add_form(users_page(url), "erin", "short", [])
    assert [e.value for e in at.error] == ["Passwords need at least 8 characters: choose a longer one."]
    assert at.text_input(key="new_name").value == "erin"  # kept to fix the password, which is cleared
    at = add_form(at, "reviewer1", "long-enough-pw", [])
    assert at.error[0].value.startswith("User 'reviewer1' exists already")
    assert not at.exception
    with ReviewStore(url) as store:
        assert get_user(store, "erin") is None


def test_admin_disables_and_enables_a_user(url: str):
    at = users_page(url).selectbox(key="target").select("dave").run()
    at = next(b for b in at.button if b.label == "Disable dave").click().run()
    assert [s.value for s in at.success] == ["Disabled dave; their sessions are ended."]
    assert next(r for r in table(at) if r["name"] == "dave")["state"] == "disabled"
    with ReviewStore(url) as store:
        assert get_user(store, "dave")["disabled"] is True
        assert authenticate(store, "dave", "dave-password") is None
    at = next(b for b in at.button if b.label == "Enable dave").click().run()
    with ReviewStore(url) as store:
        assert authenticate(store, "dave", "dave-password") is not None


def test_admin_sets_a_password_and_queues_but_cannot_disable_themself(url: str):
    at = users_page(url).selectbox(key="target").select("frank").run()
    at.text_input(key="pw").input("frank-new-password")
    at = next(b for b in at.get("form_submit_button") if b.label == "Set password").click().run()
    at = at.selectbox(key="access_user").select("frank").run()
    at.multiselect(key="access-frank").select(AB)
    at = next(b for b in at.get("form_submit_button") if b.label == "Save access").click().run()
    assert [s.value for s in at.success] == [f"frank may now review {AB}."]
    with ReviewStore(url) as store:
        assert authenticate(store, "frank", "frank-new-password") is not None
        assert get_user(store, "frank")["queues"] == [AB]
    at = at.selectbox(key="target").select("admin").run()
    assert next(b for b in at.button if b.label == "Disable admin").disabled
