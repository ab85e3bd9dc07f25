"""The README stays honest: two set-up commands, and every CLI command documented and real."""

import re
from pathlib import Path

import click
from typer.main import get_command

from reviewdesk.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def cli_commands() -> set[str]:
    """Every command path, e.g. 'ingest' and 'queues list'."""
    paths = set()
    for name, cmd in get_command(app).commands.items():
        if isinstance(cmd, click.Group):
            paths |= {f"{name} {sub}" for sub in cmd.commands}
        else:
            paths.add(name)
    return paths


def readme_commands() -> set[str]:
    found = set()
    for words in re.findall(r"^reviewdesk ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)?)", README, re.M):
        first = words.split()[0]
        found.add(words if any(p.startswith(first + " ") for p in cli_commands()) else first)
    return found


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one():
    setup = README.split("## Set up", 1)[1].split("##", 1)[0]
    block = re.search(r"```bash\n(.*?)```", setup, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_cli_command_is_documented_and_every_documented_one_exists():
    commands, documented = cli_commands(), readme_commands()
    assert commands <= documented, f"undocumented: {commands - documented}"
    assert documented <= commands, f"documented but missing: {documented - commands}"


def names_something(dotted: str) -> bool:
    """Whether `a.b.c` is a module or package of this repository, or a name defined at the top of one."""
    parts = dotted.replace("/", ".").removesuffix(".py").split(".")
    for cut in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:cut])
        source = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
        if source.is_file():
            rest = parts[cut:]
            return not rest or (len(rest) == 1 and re.search(rf"^(def |class )?{rest[0]}\b", source.read_text(), re.M))
    return False


def test_every_module_path_the_readme_names_exists():
    named = set(re.findall(r"\b((?:reviewdesk|schemas|flows|review_app)(?:[./][a-z_]+)+)", README))
    missing = sorted(n for n in named if not names_something(n))
    assert not missing, f"the README names modules or functions that do not exist: {missing}"
