"""Human vs model: agreement and calibration against hand-computed cases, and the anchoring estimate
recovering a bias injected into simulated reviewers; the report and the dashboard show both."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import cohen_kappa_score
from streamlit.testing.v1 import AppTest

from reviewdesk.config import Settings
from reviewdesk.demo.run import DEMO_PASSWORD, run_demo
from reviewdesk.demo.simulate import simulate_reviews
from reviewdesk.errors import ConfigError
from reviewdesk.labels.collection import collect
from reviewdesk.labels.resolve import resolve_queue
from reviewdesk.prescore.contracts import Suggestion
from reviewdesk.prescore.run import prescore_batch
from reviewdesk.quality.markdown import markdown
from reviewdesk.quality.report import queue_quality, save
from reviewdesk.quality.suggestion_quality import anchoring_effect, human_vs_model, reliability
from reviewdesk.queues import get_queue
from reviewdesk.review.accounts import authenticate
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.rubric import Criterion

ROOT = Path(__file__).resolve().parents[1]
QUEUE = "support-quality"
CORRECTNESS = Criterion(key="correctness", type="categorical", options=["correct", "partially_correct", "incorrect"])


def test_reliability_table_and_calibration_error_by_hand():
    confidence = np.array([0.95, 0.95, 0.55, 0.55, 0.55, 0.55])
    right = np.array([True, False, True, True, False, False])
    table, ece = reliability(confidence, right)
    assert table == [
        {"bin": "0.5-0.6", "mean_confidence": pytest.approx(0.55), "accuracy": 0.5, "n": 4},
        {"bin": "0.9-1.0", "mean_confidence": pytest.approx(0.95), "accuracy": 0.5, "n": 2},
    ]
    assert ece == pytest.approx(4 / 6 * 0.05 + 2 / 6 * 0.45)


def test_anchoring_effect_by_hand():
    # Shown: 12 labels on 6 items, 9 equal to the suggestion; hidden: 12 labels on 6 items, 3 equal.
    labels = pd.DataFrame({
        "item_id": [f"s{i // 2}" for i in range(12)] + [f"h{i // 2}" for i in range(12)],
        "suggestion_shown": [True] * 12 + [False] * 12,
        "agree": [*[1] * 9, *[0] * 3, *[1] * 3, *[0] * 9],
    })  # fmt: skip
    point = anchoring_effect(labels, resamples=0)
    assert (point["shown_agree"], point["hidden_agree"], point["effect"]) == (0.75, 0.25, 0.5)
    assert point["copy_rate"] == pytest.approx(0.5 / 0.75) and point["effect_ci"] is None
    assert (point["shown_labels"], point["hidden_labels"], point["items"]) == (12, 12, 12)
    with_ci = anchoring_effect(pd.concat([labels] * 2, ignore_index=True), resamples=500, seed=1)
    low, high = with_ci["effect_ci"]
    assert low <= 0.5 <= high and with_ci["effect"] == 0.5
    few = anchoring_effect(labels.iloc[:20], resamples=0)  # 8 hidden labels: too few to say
    assert few["effect"] is None and "needs 10+ labels" in few["note"]


def test_model_against_consensus_by_hand(tmp_path: Path):
    suggested = ["correct"] * 6 + ["incorrect"] * 4
    consensus = ["correct"] * 5 + ["incorrect"] + ["incorrect"] * 2 + ["partially_correct", "correct"]
    with Warehouse(tmp_path / "w.duckdb") as wh:
        for i, (s, c) in enumerate(zip(suggested, consensus, strict=True)):
            wh.execute("INSERT INTO suggestions VALUES (?, 'b', 'q', 'correctness', ?, ?, 'm-1', 'sklearn', now(), "
                       "NULL)", [f"i{i}", json.dumps(s), 0.9 if i < 5 else 0.6])  # fmt: skip
            wh.execute("INSERT INTO consensus VALUES (?, 'q', 'correctness', ?, NULL, 'single', 1, 1, 1, now(), '')",
                       [f"i{i}", c])  # fmt: skip
        out = human_vs_model(wh, "q", [CORRECTNESS], "show", resamples=200, seed=0)
    m = out["criteria"]["correctness"]
    assert (m["n_items"], m["accuracy"], m["model_versions"]) == (10, 0.7, {"m-1": 10})
    assert m["kappa"] == pytest.approx(cohen_kappa_score(suggested, consensus))
    assert m["kappa_weights"] == "unweighted" and m["kappa_ci"][0] <= m["kappa"] <= m["kappa_ci"][1]
    # confidence 0.9 on 5 items all right, 0.6 on 5 items of which 2 right
    assert [(b["bin"], b["n"], b["accuracy"]) for b in m["reliability"]] == [("0.6-0.7", 5, 0.4), ("0.9-1.0", 5, 1.0)]
    assert m["ece"] == pytest.approx(0.5 * 0.2 + 0.5 * 0.1)
    assert m["brier"] == pytest.approx((5 * 0.1**2 + 2 * 0.4**2 + 3 * 0.6**2) / 10)
    assert out["anchoring"] is None  # only the randomized policy can measure it


@dataclass
class Constant:
    """Suggests correctness "correct" and helpfulness 4 for every run: enough to anchor on."""

    name: str = "constant"
    warnings: list[str] = field(default_factory=list)

    def score(self, runs: pd.DataFrame) -> list[dict[str, Suggestion]]:
        return [{"correctness": Suggestion("correct", 0.65, "constant-1"), "helpfulness": Suggestion(4, 0.45,
                 "constant-1")} for _ in range(len(runs))]  # fmt: skip

    def versions(self) -> dict[str, str]:
        return {"correctness": "constant-1", "helpfulness": "constant-1"}


def anchored_demo(root: Path, bias: float) -> tuple[dict, Settings]:
    """A randomized-suggestion queue of 600 items, one reviewer each (80% accurate), who copy a shown
    suggestion with probability `bias`; collected, resolved and reported."""
    queues = root / "queues"
    queues.mkdir(parents=True)
    config = yaml.safe_load((ROOT / "queues" / f"{QUEUE}.yaml").read_text())
    config.update(suggestions="randomized", reviewers_per_item=1, overlap_fraction=0.0, gold_fraction=0.0,
                  gold_source=None, max_open_items=None)  # fmt: skip  (600 at once: no backlog cap)
    config.update(training=None, monitoring=None)  # no gold: no training
    config["sampling"]["size"] = 600
    (queues / f"{QUEUE}.yaml").write_text(yaml.safe_dump(config))
    settings = Settings.load(root / "data", queues)
    run_demo(settings, runs=3000, seed=8, simulate=False)
    queue = get_queue(QUEUE, queues)
    with ReviewStore(settings.review_url) as store, Warehouse(settings.warehouse_path) as wh:
        [batch_id] = [b for (b,) in wh.execute("SELECT batch_id FROM batches WHERE queue = ?", [QUEUE])]
        assert prescore_batch(wh, queue, batch_id, Constant(), store=store).pushed == 600
        simulate_reviews(store, wh, QUEUE, reviewers=3, accuracy=0.8, seed=2, anchoring=bias)
        collect(store, wh)
        resolve_queue(store, wh, QUEUE)
        report = queue_quality(store, wh, QUEUE, resamples=1000, seed=3)
        save(store, wh, report)
    return report, settings


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[float, tuple[dict, Settings]]:
    return {bias: anchored_demo(tmp_path_factory.mktemp(f"anchoring-{bias}"), bias) for bias in (0.5, 0.0)}


def test_the_anchoring_estimate_recovers_the_bias_injected_into_simulated_reviewers(reports):
    report, _ = reports[0.5]
    a = report["model"]["anchoring"]["all"]
    assert a["shown_labels"] > 400 and a["hidden_labels"] > 400  # a random half of 600 items, two criteria
    low, high = a["copy_rate_ci"]
    assert low <= 0.5 <= high and abs(a["copy_rate"] - 0.5) < 0.12, a
    assert a["effect_ci"][0] > 0.15  # clearly more agreement when shown
    for key in ("correctness", "helpfulness"):
        per = report["model"]["anchoring"]["criteria"][key]
        assert per["copy_rate_ci"][0] <= 0.5 <= per["copy_rate_ci"][1], (key, per)


def test_without_a_bias_the_interval_covers_no_effect(reports):
    report, _ = reports[0.0]
    a = report["model"]["anchoring"]["all"]
    assert a["effect_ci"][0] <= 0 <= a["effect_ci"][1] and abs(a["effect"]) < 0.06, a


def test_the_report_compares_suggestions_with_the_consensus(reports):
    report, _ = reports[0.0]
    correctness = report["model"]["criteria"]["correctness"]
    assert correctness["model_versions"] == {"constant-1": correctness["n_items"]} and correctness["n_items"] > 400
    [only_bin] = correctness["reliability"]
    assert only_bin == {"bin": "0.6-0.7", "mean_confidence": pytest.approx(0.65), "accuracy": correctness["accuracy"],
                        "n": correctness["n_items"]}  # fmt: skip
    text = markdown(report)
    assert "## Human vs model" in text and "| correctness |" in text and "### Anchoring" in text
    assert "as if they copied" in text


def test_the_dashboard_shows_model_agreement_reliability_and_anchoring(reports, monkeypatch: pytest.MonkeyPatch):
    report, settings = reports[0.5]
    monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(settings.data_dir))
    with ReviewStore(settings.review_url) as store:
        session = authenticate(store, "lead", DEMO_PASSWORD).token
    at = AppTest.from_file(str(ROOT / "review_app" / "app.py"), default_timeout=30)
    at.session_state["session_token"] = session
    at = at.run().switch_page("views/agreement.py").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    kappa = report["model"]["criteria"]["correctness"]["kappa"]
    assert metrics["correctness: model vs consensus kappa"] == f"{kappa:.2f}"
    effect = report["model"]["anchoring"]["all"]["effect"]
    assert metrics["Anchoring: agreement with the suggestion, shown minus hidden"] == f"{effect:+.1%}"
    specs = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert any("model confidence" in s and "share equal to the consensus" in s for s in specs)


def test_simulated_anchoring_must_be_a_probability(reports):
    _, settings = reports[0.0]
    with (
        ReviewStore(settings.review_url) as store,
        Warehouse(settings.warehouse_path) as wh,
        pytest.raises(ConfigError, match=r"anchoring 1\.5 is not a probability"),
    ):
        simulate_reviews(store, wh, QUEUE, reviewers=1, accuracy=0.9, anchoring=1.5)
