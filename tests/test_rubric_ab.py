"""Rubric A/B: agreement before and after a rubric edit, with a bootstrap CI of the difference.

The acceptance simulation: reviewers who are right 70% of the time under the old rubric and 85% under
the new one give an interval that excludes 0; with no change it covers 0. Then the whole loop on the
demo: a rubric edit, a new batch reviewed under it, collect, and the report, the CLI and the Agreement
page say what the edit did."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from demo_support import qualify_demo_reviewers
from test_app_quality import agreement_page

from review_app.render import escape
from reviewdesk.agreement.coefficients import krippendorff_alpha
from reviewdesk.agreement.comparison import alpha_difference
from reviewdesk.agreement.ratings import Ratings
from reviewdesk.config import Settings
from reviewdesk.demo.run import run_demo
from reviewdesk.demo.simulate import simulate_reviews
from reviewdesk.quality.rubric_ab import sentence
from reviewdesk.quality.rubric_labels import rubric_versions
from reviewdesk.quality.snapshot import keep, latest
from reviewdesk.quality.steps import collect_step
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]
QUEUE = "support-quality"
ITEMS, REVIEWERS, OPTIONS = 200, 3, 3  # per rubric version; see the README for how often the checks hold


def simulated(accuracy: float, rng: np.random.Generator, prefix: str) -> Ratings:
    """ITEMS items of a random true option, each answered by REVIEWERS reviewers right with `accuracy`, else
    another option at random."""
    truth = rng.integers(0, OPTIONS, ITEMS)
    wrong = rng.integers(1, OPTIONS, (ITEMS, REVIEWERS))
    right = rng.random((ITEMS, REVIEWERS)) < accuracy
    answers = np.where(right, truth[:, None], (truth[:, None] + wrong) % OPTIONS)
    rows = [(f"{prefix}{i}", f"r{j}", f"o{answers[i, j]}") for i in range(ITEMS) for j in range(REVIEWERS)]
    return Ratings.from_labels(pd.DataFrame(rows, columns=["item", "rater", "value"]))


@pytest.mark.parametrize("seed", range(10))
def test_a_rubric_edit_raising_accuracy_from_70_to_85_percent_gives_a_ci_excluding_zero(seed):
    rng = np.random.default_rng(seed)
    d = alpha_difference(simulated(0.70, rng, "old"), simulated(0.85, rng, "new"), resamples=500, seed=seed)
    assert d.distinguishable and d.ci[0] > 0
    assert d.difference == pytest.approx(d.after.value - d.before.value)
    assert 0.15 < d.difference < 0.45  # expected about .60 - .29 = .31 for three options


def test_with_no_change_the_ci_covers_zero():
    covered = []
    for seed in range(10):
        rng = np.random.default_rng(100 + seed)
        d = alpha_difference(simulated(0.70, rng, "old"), simulated(0.70, rng, "new"), resamples=500, seed=seed)
        covered.append(d.ci[0] <= 0 <= d.ci[1])
    assert sum(covered) >= 8, covered  # nominally 95%; 375 of 400 seeds (README)


def test_the_sentence_says_raised_lowered_or_not_distinguishable():
    rng = np.random.default_rng(1)
    low, high = simulated(0.70, rng, "a"), simulated(0.85, rng, "b")
    raised = sentence("correctness", "v1", "v2", alpha_difference(low, high, 300, 0))
    assert raised.startswith("rubric v2 raised alpha on correctness from .")
    assert raised == (f"rubric v2 raised alpha on correctness from .{krippendorff_alpha(low).value * 100:.0f} to "
                      f".{krippendorff_alpha(high).value * 100:.0f} (difference +") + raised.split("(difference +")[1]
    lowered = sentence("correctness", "v1", "v3", alpha_difference(high, low, 300, 0), adjacent=False)
    assert lowered.startswith("rubric v3 lowered alpha on correctness from .") and " (v1) to ." in lowered
    same = sentence("correctness", "v1", "v2", alpha_difference(low, simulated(0.70, rng, "c"), 300, 0))
    assert same.startswith("rubric v2 changed alpha on correctness from .")
    assert same.endswith(": the difference is not distinguishable from zero")
    constant = Ratings.from_labels(pd.DataFrame([("i", "a", "x"), ("i", "b", "x")], columns=["item", "rater", "value"]))
    d = alpha_difference(low, constant, 300, 0)
    assert (d.difference, d.ci, d.distinguishable) == (None, None, False)
    assert sentence("correctness", "v1", "v2", d) == ("rubric v2 cannot be compared with v1 on correctness: every "
                                                      "rating is the same value: nothing to agree on")  # fmt: skip


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The demo queue reviewed at 70% accuracy under its rubric, then at 85% after an edit of the rubric,
    every item by two reviewers; collected and reported."""
    root = tmp_path_factory.mktemp("rubric-ab")
    (root / "queues").mkdir()
    text = (ROOT / "queues" / f"{QUEUE}.yaml").read_text()
    text = text.replace("overlap_fraction: 0.25", "overlap_fraction: 1.0").replace("size: 200", "size: 120")
    path = root / "queues" / f"{QUEUE}.yaml"
    path.write_text(text)
    settings = Settings.load(root / "data", root / "queues")
    for accuracy, rubric in ((0.70, text), (0.85, text.replace("useless or harmful", "useless, wrong or harmful"))):
        path.write_text(rubric)
        run_demo(settings, runs=500, seed=3, simulate=False)
        qualify_demo_reviewers(settings.data_dir)  # at 70% they would fail the queue's training
        with Warehouse(settings.warehouse_path) as wh, ReviewStore(settings.review_url) as store:
            simulate_reviews(store, wh, QUEUE, 3, accuracy, seed=1)
    collect_step(settings, seed=0)
    return settings


def test_the_report_compares_the_rubric_versions_per_criterion(edited: Settings):
    with ReviewStore(edited.review_url) as store:
        report = latest(store, QUEUE)[0]
        versions = [v.version for v in rubric_versions(store, QUEUE)]
    ab = {a["criterion"]: a for a in report["rubric_ab"]}
    assert set(ab) == {"correctness", "helpfulness"}
    a = ab["correctness"]
    assert [(a[s]["name"], a[s]["version"]) for s in ("before", "after")] == [("v1", versions[0]), ("v2", versions[1])]
    with Warehouse(edited.warehouse_path) as wh:  # each version's alpha, measured apart by hand
        labels = wh.con.execute("SELECT item_id AS item, reviewer AS rater, value, rubric_version FROM labels "
                                "WHERE criterion = 'correctness'").df()  # fmt: skip
    for side, version in (("before", versions[0]), ("after", versions[1])):
        mine = labels[labels["rubric_version"] == version]
        r = Ratings.from_labels(mine, options=["correct", "partially_correct", "incorrect"])
        assert a[side]["value"] == pytest.approx(krippendorff_alpha(r).value)
    assert a["difference"] == pytest.approx(a["after"]["value"] - a["before"]["value"])
    assert a["ci"][0] < a["difference"] < a["ci"][1]
    assert a["sentence"].startswith(("rubric v2 raised alpha on correctness from .", "rubric v2 changed alpha"))
    clarity = report["clarity"]["correctness"]
    assert clarity["version"] == "v2" and clarity["n_items"] == a["after"]["n_items"]
    assert [o["option"] for o in clarity["options"]] == ["correct", "partially_correct", "incorrect"]
    md = sorted(edited.reports_dir.glob(f"{QUEUE}-*.md"))[-1].read_text()
    assert "## Rubric clarity" in md and "## Rubric A/B" in md and a["sentence"].split(" (")[0] in md


def test_the_cli_report_prints_the_comparison_and_json_holds_it(edited: Settings, monkeypatch: pytest.MonkeyPatch):
    from typer.testing import CliRunner

    from reviewdesk.cli import app

    monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(edited.data_dir))
    runner = CliRunner()
    shown = runner.invoke(app, ["agreement", QUEUE, "--resamples", "200"])
    assert shown.exit_code == 0, shown.output
    assert "Rubric A/B: rubric v2 " in shown.output and "Most confused on correctness:" in shown.output
    data = json.loads(runner.invoke(app, ["agreement", QUEUE, "--resamples", "200", "--json"]).output)
    assert {a["criterion"] for a in data["rubric_ab"]} == {"correctness", "helpfulness"}
    assert set(data["clarity"]) == {"correctness", "helpfulness"}


def test_the_agreement_page_shows_rubric_ab_and_clarity_with_user_text_escaped(
    edited: Settings, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(edited.data_dir))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with ReviewStore(edited.review_url) as store:
        report = latest(store, QUEUE)[0]
        evil = "![x](http://e.vil/p.png) <img src=x>"
        report["computed_at"] = pd.Timestamp(report["computed_at"]).isoformat().replace("+00:00", "") + "1+00:00"
        report["rubric_ab"][0]["sentence"] = "rubric v2 raised alpha on " + evil
        report["clarity"]["correctness"]["comments"] = [
            {"item_id": "i1", "reviewer": "reviewer1", "answer": "correct", "comment": evil, "at": "2025-01-01"}]
        keep(store, report)
    at = agreement_page(edited.data_dir)
    said = [m.value for m in [*at.success, *at.info, *at.warning] if "rubric v2" in m.value.lower()]
    assert len(said) == 2 and any("raised alpha on " in s for s in said)
    assert escape(evil) in said[0] + said[1] and evil not in said[0] + said[1]
    assert "Rubric A/B" in [h.value for h in at.subheader] and "Rubric clarity" in [h.value for h in at.subheader]
    tables = [t.value for t in at.dataframe]
    pairs = ["option", "confused with", "share of disagreements", "against chance"]
    assert any(list(t.columns) == pairs for t in tables)
    comments = next(t for t in tables if "comment" in t.columns)
    assert comments["comment"].tolist() == [evil]  # a table shows text as text: nothing to escape
    at = at.selectbox(key="clarity_criterion").select("helpfulness").run()
    assert not at.exception and any("Rubric v2" in c.value for c in at.caption)
