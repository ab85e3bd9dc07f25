"""Live quality on the Agreement page (AppTest): how fresh the report is, a provisional refresh computed
from the review store, the A/B answer, and a reviewer's calibration page with known disagreements."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from demo_support import qualify_demo_reviewers
from streamlit.testing.v1 import AppTest

from review_app.render import escape
from reviewdesk.config import Settings
from reviewdesk.demo.run import DEMO_PASSWORD, run_demo, simulate_most
from reviewdesk.quality.provisional import provisional_report
from reviewdesk.quality.snapshot import latest
from reviewdesk.quality.steps import collect_step
from reviewdesk.review.accounts import authenticate
from reviewdesk.review.drafts import Draft
from reviewdesk.review.submissions import item_submissions, revise, submit
from reviewdesk.stores.reviewstore import ReviewStore

ROOT = Path(__file__).resolve().parents[1]
QUEUE, AB = "support-quality", "support-ab"


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo with simulated reviews collected and reported: saved reports, each with its watermark."""
    data = tmp_path_factory.mktemp("quality") / "data"
    settings = Settings.load(data, ROOT / "queues")
    demo = run_demo(settings, runs=800, seed=3, simulate=False)
    qualify_demo_reviewers(data)  # trained reviewers: every gold item stays live (training: test_training.py)
    simulate_most(settings, demo.batches, seed=3)
    collect_step(settings, seed=3)
    return data


@pytest.fixture
def data(simulated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the simulated demo for one test (tests add submissions)."""
    copy = shutil.copytree(simulated, tmp_path / "data")
    monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(copy))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    return copy


def url(data: Path) -> str:
    return f"sqlite:///{data / 'review.sqlite'}"


def agreement_page(data: Path, queue: str = QUEUE) -> AppTest:
    with ReviewStore(url(data)) as store:
        session = authenticate(store, "lead", DEMO_PASSWORD).token
    at = AppTest.from_file(str(ROOT / "review_app" / "app.py"), default_timeout=60)
    at.session_state["session_token"] = session
    at = at.run().switch_page("views/agreement.py").run()
    assert not at.exception
    return at if at.selectbox[0].value == queue else at.selectbox[0].select(queue).run()


def a_revision(data: Path) -> None:
    """reviewer1 changes the correctness of one reviewed item: a new submission after the report."""
    with ReviewStore(url(data)) as store:
        item = next(i for i in store.items(QUEUE) if item_submissions(store, i["item_id"], "reviewer1"))
        latest = item_submissions(store, item["item_id"], "reviewer1")[-1]["answers"]
        flipped = "incorrect" if latest.get("correctness") == "correct" else "correct"
        revise(store, item["item_id"], "reviewer1", Draft({**latest, "correctness": flipped}))


def test_a_report_says_it_is_up_to_date_then_stale_once_submissions_arrive(data: Path):
    at = agreement_page(data)
    assert [s.value for s in at.success] == ["Up to date: no submission arrived after this report."]
    assert not at.warning or not any(w.value.startswith("Stale") for w in at.warning)
    a_revision(data)
    at = agreement_page(data)
    stale = [w.value for w in at.warning if w.value.startswith("Stale report")]
    assert len(stale) == 1 and stale[0].startswith("Stale report: 1 submission from 1 reviewer arrived after it")
    assert "How to read this page" in [e.label for e in at.expander]
    guide = " ".join(m.value for m in at.markdown)
    assert "0.8" in guide and "0.667" in guide and "tentative" in guide


def test_refresh_without_prefect_shows_a_provisional_report_from_the_review_store(data: Path):
    a_revision(data)
    at = agreement_page(data)
    at = next(b for b in at.button if b.label == "Refresh").click().run()
    assert not at.exception
    with ReviewStore(url(data)) as store:
        expected = provisional_report(store, QUEUE)
        answers = sum(len([v for v in s["answers"].values() if v is not None])
                      for i in store.items(QUEUE) for s in _latest(store, i["item_id"]))  # fmt: skip
    [info] = [i.value for i in at.info if i.value.startswith("Provisional report")]
    assert f"review store's {answers:,} current answers" in info and expected["labels"] == answers
    metrics = {m.label: m.value for m in at.metric}
    alpha = expected["criteria"]["correctness"]["krippendorff_alpha"]
    assert metrics["correctness: Krippendorff's alpha"] == f"{alpha:.2f}"
    assert [s.value for s in at.success] == ["Up to date: no submission arrived after this report."]


def _latest(store: ReviewStore, item_id: str) -> list[dict]:
    by_reviewer: dict[str, dict] = {}
    for s in item_submissions(store, item_id):
        if s["revision"] >= by_reviewer.get(s["reviewer"], {"revision": 0})["revision"]:
            by_reviewer[s["reviewer"]] = s
    return list(by_reviewer.values())


def test_plain_labels_and_the_ab_answer(data: Path):
    at = agreement_page(data)
    columns = list(at.dataframe[0].value.columns)
    assert columns == ["reviewer", "items reviewed", "items shared with others", "agreement with the others",
                       "kappa with the others (mean)", "gold items answered", "gold accuracy"]  # fmt: skip
    specs = " ".join(c.proto.spec for c in at.get("vega_lite_chart"))
    assert "mean_kappa" not in specs and "share of production runs, low" not in specs
    at = at.selectbox[0].select(AB).run()
    assert not at.exception
    assert "Which model wins" in [s.value for s in at.subheader]
    specs = " ".join(c.proto.spec for c in at.get("vega_lite_chart"))
    assert "Bradley-Terry strength" in specs


def test_each_reviewer_to_calibrate_links_to_their_disagreements_and_gold_misses(data: Path):
    at = agreement_page(data)
    links = at.get("page_link")
    with ReviewStore(url(data)) as store:
        [saved] = latest(store, QUEUE)
    calibration = saved["calibration"]
    assert calibration and len(links) == len(calibration)
    for link, c in zip(links, calibration, strict=True):
        assert link.proto.label == escape(f"{c['reviewer']} on {c['criterion']}: {'; '.join(c['reasons'])}")
        assert link.proto.page == "reviewer_calibration"
        assert link.proto.query_string == f"queue={QUEUE}&reviewer={c['reviewer']}&criterion={c['criterion']}"


def test_the_calibration_page_lists_known_disagreements_and_gold_misses(tmp_path: Path, monkeypatch):
    data = tmp_path / "data"
    run_demo(Settings.load(data, ROOT / "queues"), runs=600, seed=5, simulate=False)
    qualify_demo_reviewers(data)
    monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(data))
    with ReviewStore(url(data)) as store:
        items = store.items(QUEUE)
        shared = next(i for i in items if i["reviewers_needed"] == 2 and not i["is_gold"])
        gold = next(i for i in items if i["is_gold"] and (i["gold_answer"] or {}).get("correctness"))
        known = gold["gold_answer"]["correctness"]
        wrong = next(o for o in ("correct", "partially_correct", "incorrect") if o != known)
        submit(store, shared["item_id"], "reviewer1", Draft({"correctness": "correct", "helpfulness": 4}))
        submit(store, shared["item_id"], "reviewer2", Draft({"correctness": "incorrect", "helpfulness": 4}))
        right = gold["gold_answer"].get("helpfulness", 3)  # only the correctness is missed
        submit(store, gold["item_id"], "reviewer1", Draft({"correctness": wrong, "helpfulness": right}))
        session = authenticate(store, "lead", DEMO_PASSWORD).token
    at = AppTest.from_file(str(ROOT / "review_app" / "app.py"), default_timeout=60)
    at.session_state["session_token"] = session
    at.query_params["queue"] = QUEUE
    at.query_params["reviewer"] = "reviewer1"
    at = at.run().switch_page("views/reviewer_calibration.py").run()
    assert not at.exception
    assert at.selectbox[0].value == QUEUE and at.selectbox[1].value == "reviewer1"
    assert [s.value for s in at.subheader] == ["Disagreements (1)", "Gold misses (1)"]
    [disagreement] = at.dataframe[0].value.to_dict("records")
    assert {k: disagreement[k] for k in ("item", "criterion", "their answer", "other reviewers")} == {
        "item": shared["item_id"], "criterion": "correctness", "their answer": "correct",
        "other reviewers": "reviewer2: incorrect",
    }  # fmt: skip
    [miss] = at.dataframe[1].value.to_dict("records")
    assert (miss["item"], miss["criterion"], miss["their answer"], miss["known answer"]) == (
        gold["item_id"], "correctness", wrong, known,
    )  # fmt: skip
    at = at.selectbox[1].select("reviewer2").run()
    assert [s.value for s in at.subheader] == ["Disagreements (1)", "Gold misses (0)"]
    assert at.dataframe[0].value.to_dict("records")[0]["other reviewers"] == "reviewer1: correct"


def test_refresh_with_a_prefect_server_asks_for_a_collect_run(prefect_api, data: Path, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    from flows.collect import collect_submissions

    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow(collect_submissions)
        deployment = client.create_deployment(flow_id=flow_id, name="collect-submissions")
    at = agreement_page(data)
    at = next(b for b in at.button if b.label == "Refresh").click().run()
    assert not at.exception
    with get_client(sync_client=True) as client:
        runs = [r for r in client.read_flow_runs() if r.deployment_id == deployment]
    assert len(runs) == 1 and runs[0].state.is_scheduled()
    assert f"Asked Prefect for a collect run ({runs[0].name})" in " ".join(i.value for i in at.info)
    assert not any(i.value.startswith("Provisional report") for i in at.info)  # the saved report is still shown
