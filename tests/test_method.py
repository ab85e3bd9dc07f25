"""End-to-end check of the method: reviewers of known accuracy label demo data, and what we measure
must match what that accuracy implies; consensus must recover the truth better than anyone alone."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from reviewdesk.config import Settings
from reviewdesk.demo.run import DEMO_PASSWORD, run_demo
from reviewdesk.demo.simulate import simulate_reviews, truths
from reviewdesk.labels.collection import collect
from reviewdesk.labels.resolve import resolve_queue
from reviewdesk.quality.markdown import write
from reviewdesk.quality.report import queue_quality, save
from reviewdesk.quality.snapshot import latest
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]
ACCURACY = 0.8
OPTIONS = ["correct", "partially_correct", "incorrect"]


def implied_kappa(accuracy: float, truth_shares: dict[str, float]) -> float:
    """Chance-corrected agreement of raters right with probability p, wrong uniformly otherwise.

    Each rating is the truth with probability p, else one of the K-1 other options: two raters
    agree with Po = p^2 + (1-p)^2/(K-1); their ratings fall on option k with q_k = p*pi_k +
    (1-p)*(1-pi_k)/(K-1), so chance agreement is Pe = sum q_k^2 and kappa = (Po-Pe)/(1-Pe).
    """
    k = len(truth_shares)
    po = accuracy**2 + (1 - accuracy) ** 2 / (k - 1)
    pe = sum((accuracy * s + (1 - accuracy) * (1 - s) / (k - 1)) ** 2 for s in truth_shares.values())
    return (po - pe) / (1 - pe)


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory):
    """Every sampled item of a 300-item batch reviewed by three simulated reviewers, then measured."""
    root = tmp_path_factory.mktemp("method")
    queues = root / "queues"
    queues.mkdir()
    config = yaml.safe_load((ROOT / "queues" / "support-quality.yaml").read_text())
    config.update(reviewers_per_item=3, overlap_fraction=1.0, gold_fraction=0.0, gold_source=None)
    config.update(training=None, monitoring=None)  # no gold: no training
    config["sampling"]["size"] = 300
    (queues / "support-quality.yaml").write_text(yaml.safe_dump(config))
    settings = Settings.load(root / "data", queues)
    run_demo(settings, runs=4000, seed=21, simulate=False)
    with ReviewStore(settings.review_url) as store, Warehouse(settings.warehouse_path) as wh:
        simulate_reviews(store, wh, "support-quality", reviewers=3, accuracy=ACCURACY, seed=5)
        collect(store, wh)
        resolve_queue(store, wh, "support-quality")
        report = queue_quality(store, wh, "support-quality", resamples=500, seed=1)
        save(store, wh, report)
        truth = truths(wh, "support-quality")
        items = dict(wh.execute("SELECT item_id, run_id FROM items WHERE queue = 'support-quality'"))
        labels = wh.execute("SELECT item_id, reviewer, value FROM labels WHERE criterion = 'correctness'")
        consensus = dict(wh.execute("SELECT item_id, value FROM consensus WHERE criterion = 'correctness'"))
        yield report, {i: truth[r]["correctness"] for i, r in items.items()}, labels, consensus, store, settings


def test_measured_agreement_matches_the_agreement_the_accuracy_implies(measured):
    report, truth, *_ = measured
    shares = Counter(truth.values())
    expected = implied_kappa(ACCURACY, {o: shares[o] / len(truth) for o in OPTIONS})
    correctness = report["criteria"]["correctness"]
    assert correctness["n_raters"] == 3 and correctness["n_pairable_items"] == len(truth) == 300
    for figure in ("krippendorff_alpha", "fleiss_kappa", "mean_pairwise_cohen_kappa"):
        assert correctness[figure] == pytest.approx(expected, abs=0.07), (figure, correctness[figure], expected)
    low, high = correctness["alpha_ci"]
    assert low < expected < high  # the bootstrap interval covers the implied value
    assert correctness["percent_agreement"] == pytest.approx(ACCURACY**2 + (1 - ACCURACY) ** 2 / 2, abs=0.05)


def test_consensus_recovers_the_truth_better_than_any_single_reviewer(measured):
    _, truth, labels, consensus, *_ = measured
    alone = {}
    for reviewer in {r for _, r, _ in labels}:
        mine = [(item, value) for item, r, value in labels if r == reviewer]
        alone[reviewer] = sum(value == truth[item] for item, value in mine) / len(mine)
    together = sum(value == truth[item] for item, value in consensus.items()) / len(consensus)
    assert all(abs(a - ACCURACY) < 0.06 for a in alone.values()), alone
    assert together > max(alone.values()) + 0.05, (together, alone)


def test_the_report_reaches_the_review_store_for_the_dashboard(measured):
    report, *_, store, _ = measured
    [saved] = latest(store, "support-quality")
    assert saved == json.loads(json.dumps(report))
    assert saved["estimates"] and all(0 <= e["low"] <= e["share"] <= e["high"] <= 1 for e in saved["estimates"])


def test_the_markdown_report_shows_the_same_figures(measured, tmp_path: Path):
    report, *_ = measured
    path = write(report, tmp_path / "reports")
    assert path.name.startswith("support-quality-") and path.suffix == ".md"
    text = path.read_text()
    alpha = report["criteria"]["correctness"]["krippendorff_alpha"]
    assert "| correctness | 300 items, 3 raters |" in text and f"{alpha:.3f}" in text
    assert "## Production estimates" in text and report["estimates"][0]["sentence"] in text
    assert f"Open adjudication cases: {report['backlog']:,}." in text


def test_the_dashboard_shows_the_saved_report_to_leads_only(measured, monkeypatch: pytest.MonkeyPatch):
    report, *_, settings = measured
    monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(settings.data_dir))
    at = AppTest.from_file(str(ROOT / "review_app" / "app.py"), default_timeout=30).run()
    at.text_input[0].input("lead")
    at.text_input[1].input(DEMO_PASSWORD)
    at = at.button[0].click().run().switch_page("views/agreement.py").run()
    assert not at.exception
    alpha = report["criteria"]["correctness"]["krippendorff_alpha"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["correctness: Krippendorff's alpha"] == f"{alpha:.2f}"
    assert metrics["Open adjudication cases"] == f"{report['backlog']:,}"
    assert len(at.get("vega_lite_chart")) >= 3  # over batches, the pair heatmap, the estimates
    assert {r for r in at.dataframe[0].value["reviewer"]} == {"reviewer1", "reviewer2", "reviewer3"}
    assert any(report["estimates"][0]["sentence"] in t.value for t in at.text)
