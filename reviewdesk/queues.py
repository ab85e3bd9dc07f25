"""Queue definitions: load and check the YAML files in the queues folder, one file a queue.

pydantic checks what schemas/queue.py declares; then every field marked `SqlExpression` is
checked against the `runs` columns (reviewdesk.stores.sqlcheck). That second step needs DuckDB,
which is why it lives here and not in schemas/.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from reviewdesk.errors import ConfigError
from schemas.base import SqlExpression
from schemas.queue import QueueConfig

MAX_BYTES = 1_000_000  # a queue file is a few KB
MAX_DEPTH = 64  # nesting levels, aliases expanded (the example queues use 7)
MAX_VALUES = 100_000  # values, aliases expanded: a "billion laughs" file is refused, never expanded


class QueueFileError(ConfigError):
    """A queue file is missing, not YAML, or breaks the schema; the message lists every problem."""


class _BoundedLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing what would exhaust the stack or memory before building anything:
    nesting past `MAX_DEPTH`, more than `MAX_VALUES` values, or an alias inside its own anchor."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = self.deepest = self.values = 0
        self.expanded: dict[str, tuple[int, int]] = {}  # anchor -> (values, levels) of its node, once composed

    def _refuse(self, problem: str, event: yaml.Event) -> None:
        raise yaml.composer.ComposerError(None, None, problem, event.start_mark)

    def _grow(self, values: int, reached: int, event: yaml.Event) -> None:
        self.values, self.deepest = self.values + values, max(self.deepest, reached)
        if reached > MAX_DEPTH:
            self._refuse(f"nested deeper than {MAX_DEPTH} levels (aliases expanded)", event)
        if self.values > MAX_VALUES:
            self._refuse(f"more than {MAX_VALUES:,} values (aliases expanded)", event)

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self.anchors and event.anchor not in self.expanded:
                self._refuse(f"alias *{event.anchor} is inside its own anchor", event)
            values, levels = self.expanded.get(event.anchor, (0, 0))  # an unknown one: YAML's own error
            self._grow(values, self.depth + levels, event)
            return super().compose_node(parent, index)
        values, outer, self.deepest = self.values, self.deepest, 0
        self.depth += 1
        self._grow(1, self.depth, event)
        node = super().compose_node(parent, index)
        if event.anchor is not None:
            self.expanded[event.anchor] = (self.values - values, self.deepest - self.depth + 1)
        self.depth, self.deepest = self.depth - 1, max(outer, self.deepest)
        return node


def _problems(e: ValidationError) -> list[str]:
    """One line per pydantic error: the field path, then what is wrong and how to fix it."""
    lines = []
    for err in e.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key: remove it, or check its spelling"
        elif err["type"] == "missing":
            msg = "required: add it"
        lines.append(f"{where}: {msg}")
    return lines


def sql_problems(model: BaseModel, loc: tuple[str | int, ...] = (), unit: bool | None = None) -> list[str]:
    """One line per SQL field of `model` (and the models inside it) that is not a usable expression over runs:
    the field path, the expression, then what is wrong and how to fix it.

    The sampling SQL of a trace or session queue (`unit`; by default read from a QueueConfig) is checked
    as it is evaluated, once per unit (aggregates and root.<column> allowed); other SQL sees one run."""
    from reviewdesk.stores.sqlcheck import ExpressionError, check_expression  # DuckDB: only once there is SQL

    if unit is None:
        unit = isinstance(model, QueueConfig) and model.unit != "run"
    lines = []
    for name, info in type(model).model_fields.items():
        value, where = getattr(model, name), (*loc, name)
        per_unit = unit and where[0] == "sampling"
        marks = [m for m in info.metadata if isinstance(m, SqlExpression)]
        if marks and value is not None:
            for expr in value if isinstance(value, list) else [value]:
                try:
                    check_expression(expr, marks[0].want, per_unit)
                except ExpressionError as e:
                    lines.append(f"{'.'.join(map(str, where))}: {expr!r} {e}")
        elif isinstance(value, BaseModel):
            lines += sql_problems(value, where, unit)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                if isinstance(v, BaseModel):
                    lines += sql_problems(v, (*where, i), unit)
    return lines


def load_queue_file(path: Path) -> QueueConfig:
    """Parse and validate one queue file; its `name` must match the file name."""
    if not path.is_file():
        raise QueueFileError(f"No queue file {path}. List the queues with `reviewdesk queues list`.")
    if path.stat().st_size > MAX_BYTES:
        raise QueueFileError(f"{path} is over {MAX_BYTES:,} bytes, and queue files have a few KB: check the file.")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_BoundedLoader)  # a SafeLoader, bounded
    except (yaml.YAMLError, ValueError) as e:  # ValueError: not UTF-8, or a value like the date 2001-13-45
        raise QueueFileError(f"{path} is not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise QueueFileError(f"{path}: expected a mapping of queue settings (name, kind, rubric, sampling, ...)")
    try:
        queue = QueueConfig.model_validate(data)
    except ValidationError as e:
        problems = _problems(e)
    else:
        problems = sql_problems(queue)
    if problems:
        raise QueueFileError(f"{path} is not a valid queue:\n  " + "\n  ".join(problems))
    if queue.name != path.stem:
        raise QueueFileError(f"{path}: name {queue.name!r} differs from the file name; rename one to match")
    return queue


def queue_files(queues_dir: Path) -> list[Path]:
    """The queue files of a folder, sorted by name."""
    if not queues_dir.is_dir():
        raise QueueFileError(f"No queues folder {queues_dir}. Create it, or point --queues-dir elsewhere.")
    return sorted([*queues_dir.glob("*.yaml"), *queues_dir.glob("*.yml")])


def load_queues(queues_dir: Path) -> list[QueueConfig]:
    """Every queue of the folder; one bad file fails the lot, naming it."""
    return [load_queue_file(p) for p in queue_files(queues_dir)]


def get_queue(name: str, queues_dir: Path) -> QueueConfig:
    """The queue called `name`, from `<queues_dir>/<name>.yaml`."""
    for suffix in (".yaml", ".yml"):
        if (queues_dir / f"{name}{suffix}").is_file():
            return load_queue_file(queues_dir / f"{name}{suffix}")
    known = ", ".join(p.stem for p in queue_files(queues_dir)) or "none"
    raise QueueFileError(f"No queue {name!r} in {queues_dir} (queues: {known}).")
