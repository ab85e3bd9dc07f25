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


class QueueFileError(ConfigError):
    """A queue file is missing, not YAML, or breaks the schema; the message lists every problem."""


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


def sql_problems(model: BaseModel, loc: tuple[str | int, ...] = ()) -> list[str]:
    """One line per SQL field of `model` (and the models inside it) that is not a usable expression over runs:
    the field path, the expression, then what is wrong and how to fix it."""
    from reviewdesk.stores.sqlcheck import ExpressionError, check_expression  # DuckDB: only once there is SQL

    lines = []
    for name, info in type(model).model_fields.items():
        value, where = getattr(model, name), (*loc, name)
        marks = [m for m in info.metadata if isinstance(m, SqlExpression)]
        if marks and value is not None:
            for expr in value if isinstance(value, list) else [value]:
                try:
                    check_expression(expr, marks[0].want)
                except ExpressionError as e:
                    lines.append(f"{'.'.join(map(str, where))}: {expr!r} {e}")
        elif isinstance(value, BaseModel):
            lines += sql_problems(value, where)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                if isinstance(v, BaseModel):
                    lines += sql_problems(v, (*where, i))
    return lines


def load_queue_file(path: Path) -> QueueConfig:
    """Parse and validate one queue file; its `name` must match the file name."""
    if not path.is_file():
        raise QueueFileError(f"No queue file {path}. List the queues with `reviewdesk queues list`.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
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
