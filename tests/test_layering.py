"""The package tree reads as the pipeline, and keeps doing so: each stage imports only earlier stages
and the shared base, declarations never import the engine, and the thin edges (the review app, the
CLI) do not drag in the heavy libraries. Read from the source (AST), so a violation names its file
and line; the weight checks import for real in a fresh interpreter."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "reviewdesk"
# The data flow, in order; a stage may import itself, the base and the stages before it.
# receive comes first: it writes the inbox segments that ingest reads, and never opens the warehouse.
# feedback comes after datasets: it writes the same trusted consensus back to the tracing tools, and nothing reads it.
STAGES = ("base", "receive", "ingest", "sample", "prescore", "review", "labels", "agreement", "quality", "datasets",
          "feedback", "demo", "cli")  # fmt: skip
BASE = {"config", "errors", "queues", "lazy", "stores", "schedules"}  # schedules: deployments from the queue files
HEAVY = ("duckdb", "pandas", "sklearn", "pandera", "prefect", "streamlit")
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources(folder: Path) -> dict[str, Path]:
    return {module_name(p): p for p in sorted(folder.rglob("*.py"))}


MODULES = sources(LIBRARY)


def imports(path: Path) -> list[tuple[int, str]]:
    """Every module `path` imports (at any depth: an import inside a function still runs), with its line.
    `from package import name` counts as importing `package.name` when that is a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES]
            found += [(node.lineno, m) for m in subs] or [(node.lineno, node.module)]
    return found


def stage(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in BASE:
        return "base"
    assert parts[1] in STAGES, f"{module} belongs to no stage: put it in a stage package or the base"
    return parts[1]


def test_every_stage_imports_only_earlier_stages_and_the_base():
    wrong = [
        f"{MODULES[m].relative_to(ROOT)}:{line} ({stage(m)}) imports {target} ({stage(target)})"
        for m in MODULES
        for line, target in imports(MODULES[m])
        if target.split(".")[0] == "reviewdesk" and STAGES.index(stage(target)) > STAGES.index(stage(m))
    ]
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle_inside_the_library():
    graph = {m: {t for _, t in imports(p) if t in MODULES and t != m} for m, p in MODULES.items()}
    graph = {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in graph.items()}  # a parent package

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            for t in graph[todo.pop()] - seen:
                if t == goal:
                    return True
                seen.add(t)
                todo.append(t)
        return False

    cycles = sorted(f"{m} <-> {t}" for m in graph for t in graph[m] if reaches(t, m))
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [("schemas", ("reviewdesk",)), ("reviewdesk", ("prefect", "streamlit")),
     ("review_app", ("duckdb", "sklearn", "reviewdesk.prescore"))],
)  # fmt: skip
def test_declarations_and_the_library_stay_apart_from_the_engines(folder: str, forbidden: tuple[str, ...]):
    wrong = [
        f"{p.relative_to(ROOT)}:{line} imports {target}"
        for p in sorted((ROOT / folder).rglob("*.py"))
        for line, target in imports(p)
        if any(target == f or target.startswith(f + ".") for f in forbidden)
    ]
    assert not wrong, "\n".join(wrong)


def loaded_after(*modules: str) -> set[str]:
    """The top-level packages a fresh interpreter has loaded after importing `modules`."""
    code = f"import importlib, json, sys\nfor m in {list(modules)!r}: importlib.import_module(m)\n"
    code += "print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return set(json.loads(out))


def test_the_review_app_pulls_in_neither_duckdb_nor_sklearn_nor_prescore():
    used = sorted({t for p in (ROOT / "review_app").rglob("*.py") for _, t in imports(p) if t.startswith("reviewdesk")})
    loaded = loaded_after(*used)
    heavy = sorted({m.split(".")[0] for m in loaded} & {"duckdb", "sklearn"} | {m for m in loaded if "prescore" in m})
    assert used and not heavy, f"the app's imports {used} load {heavy}"


def test_the_cli_starts_without_duckdb_pandas_or_sklearn():
    loaded = loaded_after("reviewdesk.cli")
    assert "reviewdesk.cli.main" in loaded
    heavy = {m.split(".")[0] for m in loaded} & set(HEAVY)
    assert not heavy, f"import {sorted(heavy)} inside the commands that need them"


FRONT_DOORS = sorted(m for m, p in MODULES.items() if p.name == "__init__.py" and m.count(".") == 1)


@pytest.mark.parametrize("package", FRONT_DOORS)
def test_each_stage_has_a_front_door_whose_names_no_module_shadows(package: str):
    module = importlib.import_module(package)
    assert module.__doc__ and len(module.__doc__.splitlines()) > 3, f"{package} needs a docstring with an example"
    exported = set(module.__all__)
    submodules = {p.stem for p in MODULES[package].parent.glob("*.py")} | {
        p.parent.name for p in MODULES[package].parent.glob("*/__init__.py")
    }
    assert exported, f"{package} exports nothing"
    assert not exported & submodules, f"{package}: modules {exported & submodules} shadow exported names"
    for name in exported:
        assert getattr(module, name) is not None


def test_no_module_is_over_400_lines():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these by concept: {long}"
