"""Lazy front doors: a stage package names what it exports and from which module, and imports a
module only when one of its names is first used.

Why: stages differ a lot in weight. `reviewdesk.review` holds both the reviewer's hot path (no
DuckDB) and publishing (DuckDB, pre-scoring priorities); the review app imports the first and must
not pay for the second, and `reviewdesk --help` must not import pandas. Inside the library, code
imports submodules directly; the front doors are for users and notebooks::

    from reviewdesk import datasets
    datasets.load("support-sft")      # imports reviewdesk.datasets.read on first use

A module's name must differ from the names its package exports, or importing the module would
shadow the exported name (tests/test_layering.py checks this).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def front_door(
    package: str, exports: Mapping[str, Sequence[str]]
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """`__all__`, `__getattr__` and `__dir__` for `package`, given module -> the names it exports."""
    home = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name not in home:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{home[name]}"), name)
        setattr(sys.modules[package], name, value)  # the next lookup is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(home))

    return sorted(home), __getattr__, __dir__


__all__ = ["front_door"]
