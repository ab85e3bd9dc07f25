"""The review app through Streamlit's AppTest, on a demo data dir: login, roles, My queues."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from reviewdesk.accounts import add_user
from reviewdesk.config import Settings
from reviewdesk.pipeline import DEMO_PASSWORD, run_demo
from reviewdesk.reviews import next_item, submit
from reviewdesk.reviewstore import ReviewStore

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "review_app" / "app.py")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("app") / "data"
    settings = Settings.load(data, ROOT / "queues")
    run_demo(settings, runs=800, seed=3)
    with ReviewStore(settings.review_url) as store:
        add_user(store, "outsider", "reviewer", "outsider-pw", queues=["some-other-queue"])
        item = next_item(store, "support-quality", "reviewer2")
        submit(store, item["item_id"], "reviewer2", {"correctness": "correct", "helpfulness": 4})
    return data


@pytest.fixture
def app(demo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(demo_dir))
    return AppTest.from_file(APP, default_timeout=30).run()


def log_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    return at.button[0].click().run()


def test_login_form_has_the_labelled_fields(app: AppTest):
    assert not app.exception
    assert [t.label for t in app.text_input] == ["Username", "Password"]
    assert app.button[0].label == "Log in"


@pytest.mark.parametrize(("name", "password"), [("reviewer1", "wrong-password"), ("nobody", DEMO_PASSWORD)])
def test_wrong_credentials_get_one_generic_message(app: AppTest, name: str, password: str):
    at = log_in(app, name, password)
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Wrong username or password, or the account is locked. Check them, or wait five minutes."
    ]
    assert "session_token" not in at.session_state


def test_reviewer_logs_in_and_sees_their_queues_with_progress(app: AppTest):
    at = log_in(app, "reviewer2", DEMO_PASSWORD)
    assert not at.exception
    assert at.title[0].value == "My queues"
    assert [s.value for s in at.subheader] == ["support-ab (pairwise)", "support-quality (single)"]
    done_by_me = [m.value for m in at.metric if m.label == "Done by me"]
    assert done_by_me == ["0", "1"]
    assert all(0 <= p.value <= 1 for p in at.get("progress"))


def test_reviewer_without_assigned_queues_sees_none(app: AppTest):
    at = log_in(app, "outsider", "outsider-pw")
    assert not at.exception
    assert not at.subheader
    assert "No queue is assigned to you yet" in at.info[0].value


def test_logout_ends_the_session_in_the_store(app: AppTest):
    at = log_in(app, "reviewer1", DEMO_PASSWORD)
    token = at.session_state["session_token"]
    at = at.sidebar.button[0].click().run()
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    at.session_state["session_token"] = token  # a stolen token is dead too
    at = at.run()
    assert [t.label for t in at.text_input] == ["Username", "Password"]
