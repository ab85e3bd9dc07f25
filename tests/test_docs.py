"""The README stays honest: two set-up commands, and every CLI command documented and real."""

import re
from pathlib import Path

from typer.main import get_command

from reviewdesk.cli import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one():
    setup = README.split("## Set up", 1)[1].split("##", 1)[0]
    block = re.search(r"```bash\n(.*?)```", setup, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "make test" in ci


def test_every_cli_command_is_documented_and_every_documented_one_exists():
    commands = set(get_command(app).commands)
    documented = set(re.findall(r"^reviewdesk (?:--data-dir \S+ )?([a-z-]+)", README, re.M))
    assert commands <= documented, commands - documented
    assert documented <= commands, documented - commands
