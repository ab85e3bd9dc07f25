"""Bias controls end to end: biases injected through `reviewdesk simulate-reviews` into the real review store,
collected into the real warehouse, are flagged in the quality report, its Markdown, the biases-flagged
lookup for a lead's Reviewers page, and on the Agreement page (AppTest); plus the figures' known answers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from review_app.render import escape
from reviewdesk.cli import app
from reviewdesk.demo.biases import Biases
from reviewdesk.demo.run import DEMO_PASSWORD
from reviewdesk.errors import ConfigError
from reviewdesk.quality.bias_flags import biases_flagged
from reviewdesk.quality.bias_frame import others_majority
from reviewdesk.quality.bias_runs import excess_repeats, transitions
from reviewdesk.quality.bias_stats import cluster_slope, wilson
from reviewdesk.quality.bias_verbosity import excess_longer
from reviewdesk.quality.snapshot import keep, latest
from reviewdesk.review.accounts import authenticate
from reviewdesk.stores.reviewstore import ReviewStore

ROOT = Path(__file__).resolve().parents[1]
AB = "support-ab"


def cli(data: Path, *args: str) -> dict:
    result = CliRunner().invoke(app, ["--data-dir", str(data), "--queues-dir", str(ROOT / "queues"), *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def biased(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's A/B queue reviewed by three simulated reviewers, the first preferring longer answers and
    answering a third of the items too fast; collected, resolved and reported."""
    data = shutil.copytree(demo_template, tmp_path_factory.mktemp("biased") / "data")
    simulated = cli(data, "simulate-reviews", AB, "--seed", "1", "--length-bias", "0.7", "--fast-share", "0.35")
    assert simulated["biases"]["length"] == 0.7 and simulated["submitted"] == 300
    cli(data, "collect")
    cli(data, "consensus")
    cli(data, "agreement", AB, "--resamples", "300")
    return data


def test_injected_biases_are_flagged_for_the_biased_reviewer_only(biased: Path):
    with ReviewStore(f"sqlite:///{biased / 'review.sqlite'}") as store:
        [report] = latest(store, AB)
    figures = report["biases"]["figures"]
    verbosity, fast = figures["verbosity"]["reviewers"], figures["fast_answers"]["reviewers"]
    assert verbosity["reviewer1"]["flagged"] and fast["reviewer1"]["flagged"]
    assert verbosity["reviewer1"]["ci"][0] > 0.3 and 0.2 < fast["reviewer1"]["estimate"] < 0.5
    assert not any(verbosity[r]["flagged"] or fast[r]["flagged"] for r in ("reviewer2", "reviewer3"))
    assert figures["fast_answers"]["min_seconds"] == 8  # from queues/support-ab.yaml
    flagged = biases_flagged([report])
    assert {f["measure"] for f in flagged["reviewer1"][AB]} >= {"verbosity", "fast_answers"}
    assert "reviewer2" not in flagged or not {f["measure"] for f in flagged["reviewer2"][AB]} & {"verbosity", "fast"}
    markdown = max((biased / "reports").glob(f"{AB}-*.md")).read_text()
    assert "## Bias controls" in markdown and "Verbosity: excess share preferring the longer answer" in markdown


def agreement_page(data: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(data))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with ReviewStore(f"sqlite:///{data / 'review.sqlite'}") as store:
        token = authenticate(store, "lead", DEMO_PASSWORD).token
    at = AppTest.from_file(str(ROOT / "review_app" / "app.py"), default_timeout=60)
    at.session_state["session_token"] = token
    at = at.run().switch_page("views/agreement.py").run()
    if at.selectbox[0].value != AB:
        at = at.selectbox[0].select(AB).run()
    assert not at.exception
    return at


def test_the_agreement_page_shows_the_flags_and_charts(biased: Path, monkeypatch: pytest.MonkeyPatch):
    at = agreement_page(biased, monkeypatch)
    assert "Bias controls" in [h.value for h in at.subheader]
    warnings = [w.value for w in at.warning if w.value.startswith("reviewer1:")]
    assert any("Verbosity" in w for w in warnings) and any("faster than min" in w for w in warnings)
    assert any("figure" in df.value.columns for df in at.dataframe)
    specs = " ".join(c.proto.spec for c in at.get("vega_lite_chart"))
    assert "items into the session" in specs  # the fatigue curve


def test_a_reviewer_name_with_markup_is_shown_escaped(biased: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    data = shutil.copytree(biased, tmp_path / "data")
    name = "![x](http://evil.example/a.png)"
    with ReviewStore(f"sqlite:///{data / 'review.sqlite'}") as store:
        [report] = latest(store, AB)
        figures = report["biases"]["figures"]["verbosity"]["reviewers"]
        figures[name] = figures.pop("reviewer1")
        keep(store, report | {"computed_at": "2999-01-01T00:00:00+00:00"})
    at = agreement_page(data, monkeypatch)
    [warning] = [w.value for w in at.warning if "Verbosity" in w.value and "evil" in w.value]
    assert warning.startswith(escape(name) + ":") and escape(name) != name


def test_excess_longer_on_a_hand_computed_case():
    # reference longer: 3 labels, codes 1, 1, -1 (mean 1/3); shorter: 2 labels, -1, 1 (mean 0); tie: 1 label, 1.
    # pairs part (1/3 + 0) / 2 = 1/6 weighs 5 labels, tie part 1 weighs 1: (5/6 + 1) / 6 = 11/36.
    chose = [1, 1, -1, -1, 1, 1] * 4
    ref = [1, 1, 1, -1, -1, 0] * 4
    rows = pd.DataFrame({"item_id": range(24), "chose": np.array(chose, float), "reference": np.array(ref, float)})
    assert excess_longer(rows, resamples=50)["estimate"] == pytest.approx(11 / 36)


def test_excess_repeats_on_a_hand_computed_case():
    # a b a b ... : never repeats; shares 1/2 each, so chance 1/2: (0 - 1/2 n) / (1/2 n) = -1.
    rows = pd.DataFrame({"reviewer": "r", "criterion": "c", "submission_id": range(30), "submitted_at": range(30),
                         "answer": ["a", "b"] * 15})  # fmt: skip
    f = excess_repeats(transitions(rows))
    assert f["estimate"] == pytest.approx(-1) and f["longest_run"] == 1 and f["n"] == 29


def test_cluster_slope_and_wilson_known_answers():
    x, y = np.arange(10.0), 2 * np.arange(10.0) + 1
    slope, ci, groups = cluster_slope(x, y, np.arange(10))
    assert slope == pytest.approx(2) and ci == pytest.approx((2, 2)) and groups == 10
    low, high = wilson(5, 10)  # Wilson (1927): 0.5 +- 0.2632 -> [0.2366, 0.7634]
    assert (low, high) == pytest.approx((0.2366, 0.7634), abs=1e-4)


def test_others_majority_leaves_the_reviewer_out():
    items, crit = pd.Series([1, 1, 1, 2, 2]), pd.Series(["c"] * 5)
    values = pd.Series(["x", "x", "y", "x", "y"])
    # item 1: for each x the others are {x, y} (no majority); for y they are {x, x}. Item 2: each sees the other.
    assert others_majority(items, crit, values) == [None, None, "x", "y", "x"]


@pytest.mark.parametrize(("kwargs", "message"), [({"length": 1.5}, "is not a rate"), ({"drift": -2}, "per week")])
def test_bad_bias_sizes_say_what_to_give(kwargs: dict, message: str):
    with pytest.raises(ConfigError, match=message):
        Biases(**kwargs)
