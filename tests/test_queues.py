"""Queue files: the examples load, and every kind of bad file is refused with its field, fix and exit 2."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from reviewdesk.cli import app
from reviewdesk.queues import QueueFileError, get_queue, load_queue_file, load_queues

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = yaml.safe_load((ROOT / "queues" / "support-quality.yaml").read_text())
runner = CliRunner()


def write(tmp_path: Path, data: dict | str, name: str = "q") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump({**data, "name": name}))
    return path


def changed(**edits) -> dict:
    """The example with dotted-path edits, e.g. changed(**{"sampling.size": 0})."""
    data = json.loads(json.dumps(EXAMPLE))
    for dotted, value in edits.items():
        *parents, last = dotted.split(".")
        node = data
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        node[last] = value
    return data


def test_example_queues_load():
    queues = {q.name: q for q in load_queues(ROOT / "queues")}
    assert set(queues) == {"support-quality", "support-ab", "support-traces", "support-sessions"}
    assert (queues["support-traces"].unit, queues["support-sessions"].unit) == ("trace", "session")
    assert queues["support-ab"].kind == "pairwise" and queues["support-ab"].pairing.compare == "model"
    assert [c.key for c in queues["support-quality"].rubric.criteria] == ["correctness", "helpfulness", "notes"]


def test_rubric_version_is_a_content_hash(tmp_path: Path):
    base = load_queue_file(write(tmp_path, changed()))
    same = load_queue_file(write(tmp_path, changed(description="another description")))
    edited = load_queue_file(write(tmp_path, changed(**{"rubric.instructions": "Be strict."})))
    assert base.rubric_version == same.rubric_version
    assert edited.rubric_version != base.rubric_version
    assert len(base.rubric_version) == 12


BAD = [
    ("unknown key", changed(sampels=1), "sampels: unknown key: remove it, or check its spelling"),
    ("nested unknown key", changed(**{"sampling.sise": 3}), "sampling.sise: unknown key"),
    ("bad type", changed(reviewers_per_item="two"), "reviewers_per_item: Input should be a valid integer"),
    ("bad kind", changed(kind="triple"), "kind: Input should be 'single' or 'pairwise'"),
    ("size not positive", changed(**{"sampling.size": 0}), "sampling.size: Input should be greater than 0"),
    ("categorical without options", changed(**{"rubric.criteria.0.options": None}),
     "criterion 'correctness' is categorical: list at least two `options`"),
    ("text with options", changed(**{"rubric.criteria.2.options": ["a", "b"]}),
     "criterion 'notes' is text: remove `options`"),
    ("statement in filter", changed(**{"sampling.filter": "status = 'success'; DROP TABLE runs"}),
     "sampling.filter: \"status = 'success'; DROP TABLE runs\" contains ';'"),
    ("DDL in filter", changed(**{"sampling.filter": "status IN (SELECT 1) OR DROP"}), "contains SELECT"),
    ("unknown column", changed(**{"sampling.filter": "modle = 'x'"}), 'Referenced column "modle" not found'),
    ("not boolean", changed(**{"sampling.filter": "model"}), "is VARCHAR, not BOOLEAN"),
    ("unbalanced", changed(**{"sampling.filter": "status = 'a') OR (true"}), "has a ')' without its '('"),
    ("unreproducible", changed(**{"sampling.filter": "random() < 0.1"}), "calls random()"),
    ("bad stratum", changed(**{"sampling.stratify_by": ["modle"]}), "sampling.stratify_by"),
    ("bad weight", changed(**{"sampling.strategy": "weighted", "sampling.weights": [{"when": "x > 1", "weight": 2}]}),
     'Referenced column "x" not found'),
    ("bad cron", changed(schedule="every hour"), "schedule: 'every hour' is not a cron expression"),
    ("cron out of range", changed(schedule="61 * * * *"), "is not a cron expression"),
    ("gold without source", changed(gold_source=None), "gold_fraction > 0 needs `gold_source`"),
    ("stratified without strata", changed(**{"sampling.stratify_by": []}), "strategy stratified needs `stratify_by`"),
    ("pairing on single", changed(pairing={"compare": "model"}), "`pairing` is for kind: pairwise"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "data", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_queue_is_refused_with_field_and_fix_and_exit_2(tmp_path: Path, case: str, data: dict, message: str):
    path = write(tmp_path, data)
    with pytest.raises(QueueFileError) as e:
        load_queue_file(path)
    assert message in str(e.value)
    result = runner.invoke(app, ["queues", "validate", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_not_yaml_name_mismatch_and_missing_file(tmp_path: Path):
    with pytest.raises(QueueFileError, match="not valid YAML"):
        load_queue_file(write(tmp_path, "name: [unclosed"))
    with pytest.raises(QueueFileError, match="expected a mapping"):
        load_queue_file(write(tmp_path, "- just\n- a list\n"))
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(changed()))
    with pytest.raises(QueueFileError, match="differs from the file name"):
        load_queue_file(path)
    with pytest.raises(QueueFileError, match="No queue file"):
        load_queue_file(tmp_path / "nope.yaml")
    with pytest.raises(QueueFileError, match="No queue 'nope'"):
        get_queue("nope", ROOT / "queues")


def test_validate_reports_every_file_and_json(tmp_path: Path):
    good, bad = write(tmp_path, changed(), "good"), write(tmp_path, changed(kind="x"), "bad")
    result = runner.invoke(app, ["queues", "validate", str(good), str(bad), "--json"])
    assert result.exit_code == 2
    assert [r["valid"] for r in json.loads(result.stdout)] == [True, False]


def test_queues_list_and_show_json():
    listed = json.loads(runner.invoke(app, ["--queues-dir", str(ROOT / "queues"), "queues", "list", "--json"]).stdout)
    assert [q["name"] for q in listed] == ["support-ab", "support-quality", "support-sessions", "support-traces"]
    shown = runner.invoke(app, ["--queues-dir", str(ROOT / "queues"), "queues", "show", "support-quality", "--json"])
    assert shown.exit_code == 0
    assert json.loads(shown.stdout)["sampling"]["stratify_by"] == ["model"]
    missing = runner.invoke(app, ["--queues-dir", str(ROOT / "queues"), "queues", "show", "nope"])
    assert missing.exit_code == 2 and "No queue 'nope'" in missing.output


def test_every_bad_sql_field_is_reported_at_once_with_its_path(tmp_path: Path):
    data = changed(**{"sampling.filter": "modle = 1", "sampling.stratify_by": ["model", "x"],
                      "gold_source": "random()"})  # fmt: skip
    with pytest.raises(QueueFileError) as e:
        load_queue_file(write(tmp_path, data))
    lines = str(e.value).splitlines()[1:]
    assert [line.split(":")[0].strip() for line in lines] == ["sampling.filter", "sampling.stratify_by", "gold_source"]
    assert "sampling.stratify_by: 'x' Referenced column \"x\" not found" in str(e.value)


def test_declaring_a_queue_needs_no_database_engine():
    code = "import sys, schemas.queue; print(sorted({m.split('.')[0] for m in sys.modules} & {'reviewdesk', 'duckdb'}))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"
