"""Promotion rules in queue files: checked against the rubric when loaded, without touching the rubric version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from reviewdesk.labels.consensus import TRUSTED
from reviewdesk.queues import QueueFileError, load_queue_file, load_queues
from schemas import promotion

ROOT = Path(__file__).resolve().parents[1]
QUALITY = yaml.safe_load((ROOT / "queues" / "support-quality.yaml").read_text())
AB = yaml.safe_load((ROOT / "queues" / "support-ab.yaml").read_text())


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / f"{data['name']}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def with_promotion(base: dict, section: dict | None) -> dict:
    data = json.loads(json.dumps(base))
    data.pop("promotion", None)
    if section is not None:
        data["promotion"] = section
    return data


def test_example_queues_feed_one_dataset_of_each_kind():
    kinds = {r.kind for q in load_queues(ROOT / "queues") if q.promotion for r in q.promotion.datasets}
    assert kinds == {"regression", "sft", "preference", "classification"}
    assert promotion.TRUSTED == TRUSTED


def test_promotion_rules_leave_the_rubric_version_unchanged(tmp_path: Path):
    without = load_queue_file(write(tmp_path, with_promotion(QUALITY, None)))
    assert load_queue_file(write(tmp_path, QUALITY)).rubric_version == without.rubric_version


@pytest.mark.parametrize(("section", "message"), [
    ({"datasets": [{"name": "x", "kind": "sft"}]}, "dataset 'x' (sft) needs `when`"),
    ({"datasets": [{"name": "x", "kind": "sft", "when": [{"criterion": "tone", "equals": "ok"}]}]},
     "`when` names 'tone'; choose from correctness, helpfulness"),
    ({"datasets": [{"name": "x", "kind": "regression", "when": [{"criterion": "correctness", "equals": "wrong"}]}]},
     "correctness cannot be 'wrong'; its options are ['correct', 'partially_correct', 'incorrect']"),
    ({"datasets": [{"name": "x", "kind": "sft", "when": [{"criterion": "correctness", "min": "correct"}]}]},
     "`min`/`max` apply to ordinal and numeric criteria, not categorical 'correctness'"),
    ({"datasets": [{"name": "x", "kind": "sft", "when": [{"criterion": "helpfulness", "min": 9}]}]},
     "helpfulness bound 9 is not one of its options"),
    ({"datasets": [{"name": "x", "kind": "sft", "when": [{"criterion": "helpfulness", "min": 4, "equals": 5}]}]},
     "give exactly one of `equals`, `in`, or `min`/`max`"),
    ({"datasets": [{"name": "x", "kind": "preference"}]}, "kind preference needs a pairwise queue"),
    ({"datasets": [{"name": "x", "kind": "classification", "criteria": ["notes"]}]},
     "criteria lists 'notes'; choose from correctness, helpfulness"),
    ({"datasets": [{"name": "x", "kind": "classification", "methods": ["single"]}]}, "methods.0"),
    ({"datasets": [{"name": "x", "kind": "classification"}, {"name": "x", "kind": "classification"}]},
     "dataset names must be unique in a queue; repeated: x"),
    ({"agreement_gate": {"min": {"tone": 0.5}}}, "agreement_gate.min: no criterion 'tone'"),
    ({"run_url": "https://x/{run}"}, "use {run_id} and/or {trace_id} and no other fields"),
    ({"datasets": [{"name": "Bad Name", "kind": "classification"}]}, "promotion.datasets.0.name"),
])  # fmt: skip
def test_a_bad_rule_is_refused_with_its_field_and_fix(tmp_path: Path, section: dict, message: str):
    with pytest.raises(QueueFileError) as e:
        load_queue_file(write(tmp_path, with_promotion(QUALITY, section)))
    assert message in str(e.value)


def test_pairwise_queues_may_label_the_preference_but_not_fine_tune_on_one_run(tmp_path: Path):
    judge = {
        "datasets": [{"name": "ab-judge", "kind": "classification", "criteria": ["preference", "margin"]}],
        "agreement_gate": {"min": {"preference": 0.5}},
    }
    assert load_queue_file(write(tmp_path, with_promotion(AB, judge))).promotion.datasets[0].criteria[0] == "preference"
    sft = {"datasets": [{"name": "x", "kind": "sft", "when": [{"criterion": "margin", "equals": "clear"}]}]}
    with pytest.raises(QueueFileError, match="kind sft needs a single queue"):
        load_queue_file(write(tmp_path, with_promotion(AB, sft)))
