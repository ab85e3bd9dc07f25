"""The review app through Streamlit's AppTest, on a demo data dir: login, roles, My queues."""

import json
from pathlib import Path

import pytest
from demo_support import qualify_demo_reviewers
from render_support import bubbles, codes, page_html, said, text_of, unsafe
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from reviewdesk.config import Settings
from reviewdesk.demo.run import DEMO_PASSWORD, run_demo
from reviewdesk.queues import load_queues
from reviewdesk.review.accounts import add_user
from reviewdesk.review.drafts import Draft
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import submit
from reviewdesk.stores.reviewstore import ReviewStore

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "review_app" / "app.py")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("app") / "data"
    settings = Settings.load(data, ROOT / "queues")
    run_demo(settings, runs=800, seed=3, simulate=False)
    qualify_demo_reviewers(settings.data_dir)
    with ReviewStore(settings.review_url) as store:
        add_user(store, "outsider", "reviewer", "outsider-pw", queues=["some-other-queue"])
        item = next_item(store, "support-quality", "reviewer2")
        submit(store, item["item_id"], "reviewer2", Draft({"correctness": "correct", "helpfulness": 4}))
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
    queues = sorted(load_queues(ROOT / "queues"), key=lambda q: q.name)  # the demo publishes every example queue
    assert [s.value for s in at.subheader] == [f"{q.name} ({q.kind})" for q in queues]
    done_by_me = [m.value for m in at.metric if m.label == "Done by me"]
    assert done_by_me == ["1" if q.name == "support-quality" else "0" for q in queues]  # reviewer2's one item
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


def review_page(app: AppTest, name: str, queue: str = "support-quality") -> AppTest:
    at = log_in(app, name, DEMO_PASSWORD)
    at = at.switch_page("views/review.py").run()
    if at.pills[0].value != queue:
        at = at.pills[0].set_value(queue).run()
    return at


def click(at: AppTest, label: str) -> AppTest:
    return next(b for b in at.button if b.label == label).click().run()


def stored(demo_dir: Path, reviewer: str) -> list[dict]:
    with ReviewStore(f"sqlite:///{demo_dir / 'review.sqlite'}") as store, store.read() as conn:
        query = text("SELECT item_id, answers, flags FROM submissions WHERE reviewer = :r")
        rows = conn.execute(query, {"r": reviewer})
        return [dict(r._mapping) for r in rows]


def test_required_criteria_are_enforced_and_nothing_is_stored(app: AppTest, demo_dir: Path):
    at = review_page(app, "reviewer3")
    assert not at.exception
    # A shown suggestion pre-selects its option, which counts as an answer: clear any, to submit with none.
    at.radio[0].set_value(None)
    at.get("segmented_control")[0].set_value(None)
    at = click(at, "Submit")
    assert "Answer the required criteria first: correctness, helpfulness." in [e.value for e in at.error]
    assert stored(demo_dir, "reviewer3") == []


def test_single_review_is_submitted_and_the_next_item_follows(app: AppTest, demo_dir: Path):
    at = review_page(app, "reviewer1")
    first = at.session_state["item"]["item_id"]
    at.radio[0].set_value("incorrect")
    at.get("segmented_control")[0].set_value(2)
    at.text_area[1].input("Wrong order status.")  # text area 0 is the `notes` criterion
    at = click(at, "Submit")
    assert not at.exception
    rows = stored(demo_dir, "reviewer1")
    assert [r["item_id"] for r in rows] == [first]
    assert json.loads(rows[0]["answers"]) == {"correctness": "incorrect", "helpfulness": 2, "notes": None}
    assert at.session_state["item"]["item_id"] != first


def test_skip_releases_the_item_and_moves_on(app: AppTest, demo_dir: Path):
    at = review_page(app, "lead")
    first = at.session_state["item"]["item_id"]
    at = click(at, "Skip")
    assert at.session_state["item"]["item_id"] != first
    assert stored(demo_dir, "lead") == []


def test_pairwise_preference_is_stored_as_a_run_id(app: AppTest, demo_dir: Path):
    at = review_page(app, "admin", queue="support-ab")
    item = at.session_state["item"]
    assert [s.value for s in at.subheader] == ["Answer A", "Answer B"]
    at.radio[0].set_value("A better")
    at = click(at, "Submit")
    assert not at.exception
    answers = json.loads(stored(demo_dir, "admin")[0]["answers"])
    assert answers["preference"] == item["left_run_id"]
    assert "model" not in " ".join(j.value for j in at.get("json"))  # blind: no model names shown


def test_run_content_is_shown_as_text_so_html_never_runs_and_nothing_is_fetched():
    # Issue 13: run text is drawn as markdown (st.html of reviewdesk.review.run_html) unless "Raw text" is on;
    # drawn, its HTML and image show as text and nothing in the HTML can run or load; raw, it is exact code text.
    def page(raw: bool):
        from review_app import render

        render.run({
            "inputs": {"messages": [{"role": "user", "content": "<script>alert('x')</script> hi"}]},
            "outputs": {"messages": [{"role": "assistant", "content": [
                {"type": "text", "text": "<img src=x onerror=alert(1)> ![pixel](https://tracker.example/p.png)"}]}]},
            "model": "secret-model", "status": "success",
        }, raw=raw)  # fmt: skip

    at = AppTest.from_function(page, kwargs={"raw": False}).run()
    assert not at.exception
    bodies = [h.value for h in at.get("html")]
    assert bodies and not [problem for b in bodies for problem in unsafe(b)]
    shown = [said(b) for b in bubbles(page_html(at))]
    assert shown == ["<script>alert('x')</script> hi",
                     "<img src=x onerror=alert(1)> [image: pixel](https://tracker.example/p.png)"]  # fmt: skip
    assert "secret-model" not in text_of("".join(bodies))

    at = AppTest.from_function(page, kwargs={"raw": True}).run()
    assert not at.exception
    bodies = [h.value for h in at.get("html")]
    assert not [problem for b in bodies for problem in unsafe(b)]
    drawn = page_html(at)
    exact = [["<script>alert('x')</script> hi"], ["<img src=x onerror=alert(1)> ![pixel](https://tracker.example/p.png)"]]
    assert [codes(b) for b in bubbles(drawn)] == exact
    assert "secret-model" not in drawn.get_text()


def test_no_view_renders_raw_html():
    """Run text reaches st.html only as markup built by reviewdesk.review.run_html, .step_html and .wording
    (sanitised, no scripts); review_app/browser.py alone adds scripts and styles, all constants
    (test_review_screen.py)."""
    sources = {p.relative_to(ROOT).as_posix(): p.read_text() for p in (ROOT / "review_app").rglob("*.py")}
    assert not any("unsafe_allow_html=True" in s for s in sources.values())
    assert [name for name, s in sources.items() if "unsafe_allow_javascript" in s] == ["review_app/browser.py"]
    calls = [line.strip() for name, s in sources.items() if name != "review_app/browser.py"
             for line in s.splitlines() if "st.html(" in line]  # fmt: skip
    built = ("st.html(wording.marked_html(", "st.html(step_html.", "st.html(run_html.")
    assert calls and all(c.startswith(built) for c in calls), calls


def test_choosing_another_queue_gives_the_held_item_back(app: AppTest, demo_dir: Path):
    at = log_in(app, "reviewer3", DEMO_PASSWORD).switch_page("views/review.py").run()
    assert at.pills[0].value == "support-ab"
    held = at.session_state["item"]["item_id"]
    at = at.pills[0].set_value("support-quality").run()
    assert at.session_state["item"]["queue"] == "support-quality"
    with ReviewStore(f"sqlite:///{demo_dir / 'review.sqlite'}") as store, store.read() as conn:
        mine = conn.execute(text("SELECT item_id FROM reservations WHERE reviewer = 'reviewer3'")).scalars().all()
    assert held not in mine and len(mine) == 1
