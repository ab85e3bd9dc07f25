"""Training on the Review page through AppTest, on the demo (its quality queue has training, its reviewers
start new): a training item, the right answer and the gold explanation (escaped) after each answer, a
failed attempt with when training opens again, the held and paused messages, passing then live items,
and the lead's notice of a reviewer paused by monitoring."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from publish_support import load_queue
from sqlalchemy import select
from streamlit.testing.v1 import AppTest
from test_app import click, log_in

from review_app.render import escape
from review_app.views.training import RIGHT, WRONG
from reviewdesk.config import Settings
from reviewdesk.demo.run import DEMO_PASSWORD, run_demo
from reviewdesk.review.access import grant
from reviewdesk.review.accounts import add_user
from reviewdesk.review.qualification import change, lead_notices, pause
from reviewdesk.review.reservations import next_item
from reviewdesk.review.training import answer_training
from reviewdesk.stores.review_schema import items
from reviewdesk.stores.reviewstore import ReviewStore

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "review_app" / "app.py")
QUEUE = "support-quality"
WHY = "Facts checked: ![pixel](https://tracker.example/p.png) <b>all</b> :red[right]"  # hostile on purpose


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("app-training") / "data"
    settings = Settings.load(data, ROOT / "queues")
    run_demo(settings, runs=800, seed=3, simulate=False)
    with ReviewStore(settings.review_url) as store, store.write() as conn:
        for item_id, gold in conn.execute(select(items.c.item_id, items.c.gold_answer).where(items.c.is_gold)).all():
            conn.execute(
                items.update().where(items.c.item_id == item_id).values(gold_answer={**gold, "explanation": WHY})
            )
    return data


@pytest.fixture
def app(demo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(demo_dir))
    return AppTest.from_file(APP, default_timeout=30).run()


def store_of(demo_dir: Path) -> ReviewStore:
    return ReviewStore(f"sqlite:///{demo_dir / 'review.sqlite'}")


def newcomer(demo_dir: Path, name: str) -> ReviewStore:
    """A new reviewer account granted the quality queue."""
    store = store_of(demo_dir)
    add_user(store, name, "reviewer", DEMO_PASSWORD)
    grant(store, QUEUE, name, by="lead")
    return store


def gold_of(store: ReviewStore, item_id: str) -> dict:
    with store.read() as conn:
        return conn.scalar(select(items.c.gold_answer).where(items.c.item_id == item_id))


def review_page(app: AppTest, name: str) -> AppTest:
    at = log_in(app, name, DEMO_PASSWORD).switch_page("views/review.py").run()
    if at.pills[0].value != QUEUE:
        at = at.pills[0].set_value(QUEUE).run()
    return at


def answer(at: AppTest, correctness: str, helpfulness: int) -> AppTest:
    at.radio[0].set_value(correctness)
    at.get("segmented_control")[0].set_value(helpfulness)
    return click(at, "Submit training answer")


def store_answers(store: ReviewStore, name: str, n: int, right: bool) -> None:
    """`n` training answers through the store, all right or all wrong in correctness."""
    for _ in range(n):
        item = next_item(store, QUEUE, name)
        gold = gold_of(store, item["item_id"])
        wrong = "incorrect" if gold["correctness"] != "incorrect" else "correct"
        correctness = gold["correctness"] if right else wrong
        answer_training(store, item["item_id"], name, {"correctness": correctness, "helpfulness": gold["helpfulness"]})


def test_a_training_item_then_the_right_answer_and_the_escaped_explanation(app: AppTest, demo_dir: Path):
    at = review_page(app, "reviewer1")
    assert not at.exception
    assert "Training item 1 of 8" in at.info[0].value
    labels = [b.label for b in at.button]
    assert "Submit training answer" in labels and "Submit" not in labels and "Skip" not in labels
    item = at.session_state["item"]
    gold = gold_of(store_of(demo_dir), item["item_id"])
    wrong = next(h for h in (1, 2, 3, 4, 5) if h != gold["helpfulness"])
    at = answer(at, gold["correctness"], wrong)
    assert not at.exception
    assert at.subheader[0].value == "Training item 1 of 8: 1 of 2 right"
    lines = [m.value for m in at.markdown]
    said = f"correctness: you answered {gold['correctness']}; the right answer is {gold['correctness']}"
    assert RIGHT + escape(said) in lines
    assert WRONG + escape(f"helpfulness: you answered {wrong}; the right answer is {gold['helpfulness']}") in lines
    assert escape(f"Why: {WHY}") in [i.value for i in at.info]  # escaped: no image fetched, no directive run
    correctness = next(c for c in load_queue(QUEUE).rubric.criteria if c.key == "correctness")
    described = escape(correctness.describe(gold["correctness"]))  # the rubric's help on the right answer
    assert described and any(c.value.startswith(described) for c in at.caption)
    at = click(at, "Next")
    assert "Training item 2 of 8" in at.info[0].value and at.session_state["item"]["item_id"] != item["item_id"]


def test_failing_says_when_training_opens_again_and_the_held_reviewer_is_told(app: AppTest, demo_dir: Path):
    store = newcomer(demo_dir, "fay")
    store_answers(store, "fay", 7, right=False)
    at = review_page(app, "fay")
    assert "Training item 8 of 8" in at.info[0].value
    item = at.session_state["item"]
    gold = gold_of(store, item["item_id"])
    at = answer(at, "incorrect" if gold["correctness"] != "incorrect" else "correct", gold["helpfulness"])
    assert not at.exception
    [failed] = [e.value for e in at.error]
    assert failed.startswith("You did not pass the training this time: 50% of your answers were right (75% needed).")
    assert "You can train again from" in failed and failed.endswith("UTC.")
    at = click(at, "Next")
    assert [w.value for w in at.warning][-1].startswith("You are held from this queue until ")
    assert "you may try again from" in at.info[-1].value


def test_a_paused_reviewer_is_told_to_ask_a_lead(app: AppTest, demo_dir: Path):
    pause(newcomer(demo_dir, "pat"), QUEUE, "pat", "lead", "rushing <through> items")
    at = review_page(app, "pat")
    assert not at.exception
    assert "A lead paused your reviewing in this queue." in [w.value for w in at.warning]
    assert escape("lead paused your reviewing in support-quality: rushing <through> items") in at.info[-1].value


def test_passing_says_live_items_come_next_and_next_gives_one(app: AppTest, demo_dir: Path):
    store = newcomer(demo_dir, "quinn")
    store_answers(store, "quinn", 7, right=True)
    at = review_page(app, "quinn")
    gold = gold_of(store, at.session_state["item"]["item_id"])
    at = answer(at, gold["correctness"], gold["helpfulness"])
    assert at.success[0].value.startswith("You passed the training: 100% of your answers were right")
    at = click(at, "Next")
    assert not at.exception
    assert not at.session_state["item"].get("training") and "Submit" in [b.label for b in at.button]


def test_the_lead_sees_a_monitoring_pause_until_marking_it_seen(app: AppTest, demo_dir: Path):
    store = newcomer(demo_dir, "mona")
    with store.write() as conn:  # what monitoring records (its rule: test_training.py)
        change(store, conn, QUEUE, "mona", "retraining", "paused_by_monitoring", "monitoring",
               "gold accuracy 40% over the last 20 gold items, under 60%: paused, back to training",
               datetime.now(UTC), attempt=1, notice=True)  # fmt: skip
    at = log_in(app, "lead", DEMO_PASSWORD).switch_page("views/queue_progress.py").run()
    assert not at.exception
    [notice] = [w.value for w in at.warning if "mona" in w.value]
    assert "mona in support-quality" in notice and "gold accuracy 40%" in notice
    at = click(at, "Mark seen")
    assert not [w for w in at.warning if "mona" in w.value]
    assert "mona" not in [n.reviewer for n in lead_notices(store)]  # marked seen (other tests add notices of their own)
