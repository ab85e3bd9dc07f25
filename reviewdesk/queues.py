"""Queue definitions: load and check the YAML files in the queues folder, one file a queue."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from reviewdesk.errors import ConfigError
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
        raise QueueFileError(f"{path} is not a valid queue:\n  " + "\n  ".join(_problems(e))) from None
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
