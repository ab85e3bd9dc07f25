"""Scorers without training: the heuristic's rules and values, the prescore config, and choosing a scorer."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from reviewdesk.errors import ConfigError
from reviewdesk.prescore.contracts import scorable
from reviewdesk.prescore.factory import get_scorer
from reviewdesk.prescore.features import RUN_FIELDS, runs_frame
from reviewdesk.prescore.heuristic import HEURISTIC_VERSION, RULES, HeuristicScorer, heuristic_values
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig
from schemas.rubric import Criterion

ROOT = Path(__file__).resolve().parents[1]


def queue(**changes) -> QueueConfig:
    config = yaml.safe_load((ROOT / "queues" / "support-quality.yaml").read_text())
    config.update(changes)
    return QueueConfig.model_validate(config)


def run(**fields) -> dict:
    base = {"run_id": "r", "status": "success", "output_text": "Your order ships tomorrow.", "input_text": "Where?"}
    return {f: None for f in RUN_FIELDS} | base | fields


RUNS = [
    run(status="error", error="Timeout", output_text=""),  # error status: first rule
    run(output_text="   "),  # empty output
    run(output_text="I'm sorry, but I can't assist with requests involving payments."),  # refusal
    run(user_feedback=-1.0),  # thumbs-down
    run(user_feedback=1.0),  # thumbs-up
    run(),  # nothing fires
    run(output_text="Unfortunately I'm not able to discuss order details.", user_feedback=1.0),  # refusal wins
]


def test_heuristic_rules_fire_in_order_with_their_fixed_confidence():
    scored = HeuristicScorer.for_queue(queue()).score(runs_frame(RUNS))
    confidence = {why: c for why, _, c in RULES}
    expected = [
        ("incorrect", 1, confidence["error status"]),
        ("incorrect", 1, confidence["empty output"]),
        ("incorrect", 1, confidence["refusal phrase"]),
        ("incorrect", 1, confidence["thumbs-down"]),
        ("correct", 5, confidence["thumbs-up"]),
        None,
        ("incorrect", 1, confidence["refusal phrase"]),
    ]
    for got, want in zip(scored, expected, strict=True):
        if want is None:
            assert got == {}
            continue
        correctness, helpfulness, conf = want
        assert got["correctness"].value == correctness and got["helpfulness"].value == helpfulness
        assert got["correctness"].confidence == got["helpfulness"].confidence == conf
        assert {s.model_version for s in got.values()} == {HEURISTIC_VERSION}
        assert "notes" not in got  # text criteria get no suggestion


def test_heuristic_values_are_inferred_from_options_or_taken_from_config():
    categorical = Criterion(key="verdict", type="categorical", options=["pass", "needs_work", "fail"])
    assert heuristic_values(categorical) == ("fail", "pass")
    assert heuristic_values(Criterion(key="tone", type="categorical", options=["formal", "casual"])) == (None, None)
    assert heuristic_values(Criterion(key="score", type="ordinal", options=[1, 2, 3])) == (1, 3)
    assert heuristic_values(Criterion(key="safe", type="boolean")) == (None, None)
    configured = queue(prescore={"heuristic": {"helpfulness": {"good": 4}}})
    assert HeuristicScorer.for_queue(configured).values["helpfulness"] == (1, 4)
    assert [c.key for c in scorable(configured)] == ["correctness", "helpfulness"]


@pytest.mark.parametrize(("prescore", "message"), [
    ({"scorer": "http_judge"}, "add `judge: {url: ..., model: ...}`"),
    ({"heuristic": {"tone": {"bad": "rude"}}}, "names criteria the rubric lacks: tone"),
    ({"heuristic": {"correctness": {"bad": "awful"}}}, "'awful' is not one of the options"),
    ({"judge": {"url": "ftp://x", "model": "m"}}, "is not an http"),
    ({"scorer": "gpt"}, "Input should be"),
])  # fmt: skip
def test_prescore_config_errors_name_the_field_and_the_fix(prescore: dict, message: str):
    with pytest.raises(ValidationError, match=message):
        queue(prescore=prescore)


def test_priority_setting_is_one_of_three(tmp_path: Path):
    assert queue().priority == "oldest" and queue(priority="uncertainty").priority == "uncertainty"
    with pytest.raises(ValidationError, match="priority"):
        queue(priority="newest")


def test_get_scorer_builds_what_the_queue_or_the_caller_asks_for(tmp_path: Path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        models = tmp_path / "models"
        assert get_scorer("heuristic", queue(), wh, models).name == "heuristic"
        assert get_scorer(None, queue(prescore={"scorer": "none"}), wh, models) is None
        cold = get_scorer(None, queue(), wh, models)  # sklearn without any model: every criterion by rules
        assert cold.name == "sklearn" and cold.versions() == {"correctness": HEURISTIC_VERSION,
                                                              "helpfulness": HEURISTIC_VERSION}  # fmt: skip
        judged = queue(prescore={"scorer": "http_judge", "judge": {"url": "http://127.0.0.1:9/v1", "model": "m"}})
        assert get_scorer(None, judged, wh, models).endpoint == "http://127.0.0.1:9/v1/chat/completions"
        with pytest.raises(ConfigError, match=r"no judge endpoint.*--scorer sklearn or heuristic"):
            get_scorer("http_judge", queue(), wh, models)
        with pytest.raises(ConfigError, match="Unknown scorer 'gpt'"):
            get_scorer("gpt", queue(), wh, models)
