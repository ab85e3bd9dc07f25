"""Bad option `examples` in a queue file: a clear message naming the criterion, the option and the fix,
exit 2 from the CLI, never a traceback; and examples holding markup reach the review form as text."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_app_form_rules import seeded
from test_app_review import open_review
from typer.testing import CliRunner

from review_app.render import escape
from reviewdesk.cli import app
from reviewdesk.queues import QueueFileError, load_queue_file

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "queues" / "support-quality.yaml").read_text()
GOOD = '            good: ["Order A1 shipped on 3 May (the tool says shipped, 3 May)"]\n'
BAD_EXAMPLES = {
    "too long": ('            good: ["' + "x" * 301 + '"]\n', "good example 1 has 301 characters: shorten it to 300"),
    "too many": ("            good: [a, b, c, d, e, f]\n", "6 good examples: give at most 5"),
    "blank": ('            good: ["   "]\n', "good example 1 is blank: write the example, or remove it"),
    "not a list": ("            good: just one\n", "examples.good: Input should be a valid list"),
    "a number": ("            good: [42]\n", "examples.good.0: Input should be a valid string"),
    "a mapping": ("            good: [{a: b}]\n", "examples.good.0: Input should be a valid string"),
    "unknown kind": ("            ugly: [x]\n", "examples.ugly: unknown key: remove it, or check its spelling"),
}


def queue_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "support-quality.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("case", list(BAD_EXAMPLES))
def test_bad_examples_are_refused_with_the_criterion_option_and_fix(tmp_path: Path, case: str):
    line, message = BAD_EXAMPLES[case]
    assert GOOD in EXAMPLE
    path = queue_file(tmp_path, EXAMPLE.replace(GOOD, line, 1))
    with pytest.raises(QueueFileError) as e:
        load_queue_file(path)
    text = str(e.value)
    assert "rubric.criteria.0: criterion 'correctness', option 'correct': " in text and message in text
    result = CliRunner().invoke(app, ["queues", "validate", str(path)])
    flat = "".join(result.output.split())  # the terminal wraps long lines
    assert result.exit_code == 2 and "Traceback" not in result.output and "".join(message.split()) in flat


def test_examples_of_an_option_the_criterion_does_not_list_are_refused(tmp_path: Path):
    text = EXAMPLE.replace("      required: true\n    - key: helpfulness",
                           "      option_examples: {maybe: {good: [x]}}\n      required: true\n    - key: helpfulness")
    with pytest.raises(QueueFileError, match=r"examples of options it does not list: \['maybe'\]"):
        load_queue_file(queue_file(tmp_path, text))


def test_examples_with_no_example_are_refused(tmp_path: Path):
    text = EXAMPLE.replace('good: ["Says the order was delivered when the tool says it is lost"]', "good: []")
    with pytest.raises(QueueFileError, match="option 'incorrect': examples: examples list neither `good` nor `bad`"):
        load_queue_file(queue_file(tmp_path, text))


def test_an_option_with_neither_description_nor_examples_is_refused(tmp_path: Path):
    text = EXAMPLE.replace("        - 2\n", "        - {value: 2}\n", 1)
    with pytest.raises(QueueFileError, match="option 2: option: give the option a `description` or `examples`"):
        load_queue_file(queue_file(tmp_path, text))


EVIL = "![x](http://127.0.0.1:9/leak) <img src=x onerror=alert(1)> :red[hi] [link](javascript:alert(1))"


def test_examples_holding_markup_show_as_text_in_the_review_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    rubric = {"instructions": "Rate it.", "criteria": [
        {"key": "correctness", "type": "categorical", "options": [
            {"value": "correct", "description": "right", "examples": {"good": [EVIL], "bad": ["`code` & <b>"]}},
            "incorrect"]},
        {"key": "helpfulness", "type": "ordinal", "options": [1, {"value": 2, "examples": {"bad": [EVIL]}}]},
    ]}  # fmt: skip
    seeded(tmp_path, rubric=rubric)
    at = open_review(tmp_path, monkeypatch)
    assert not at.exception
    radio_help, control_help = at.radio[0].proto.help, at.get("segmented_control")[0].proto.help
    assert f"correct: right\n\nGood examples: “{escape(EVIL)}”" in radio_help
    assert escape("`code` & <b>") in radio_help
    assert f"2: Bad examples (near misses, not this option): “{escape(EVIL)}”" in control_help
    for shown in (radio_help, control_help):
        assert EVIL not in shown and "](http" not in shown.replace("\\](http", "")
    assert list(at.radio[0].proto.captions) == ["right", ""]  # the caption stays the description alone
