"""What reviewers see of a run: the queue's allow-list, less everything its gold source reads.

Review is blind by allow-list: a queue's `reviewer_sees` names the run fields and metadata keys a
reviewer sees, and publishing writes only those into an item's payload, so the review store never
holds what reviewers must not see. A gold item's known answer must never reach a reviewer either,
whatever column or key `gold_source` reads: each field that expression reads is held back even if
listed, or only the top-level keys it reads when it reads a JSON field by constant paths. DuckDB's
own parser (`json_serialize_sql`) says what the expression reads; whatever it cannot pin to a key
counts as reading the whole field, and a subquery or `*` as reading every field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import duckdb

from reviewdesk.errors import ConfigError
from schemas.queue import METADATA_KEY, RUN_FIELDS

JSON_FIELDS = ("inputs", "outputs", "metadata")
# Functions that read their first argument (JSON) only under the path given as the second.
PATH_FUNCTIONS = {
    "->>", "json_extract", "json_extract_string", "json_extract_path", "json_extract_path_text", "json_value",
    "json_exists", "json_type", "json_keys", "json_array_length",
}  # fmt: skip
EVERYTHING = "*"  # gold_reads: the expression may read every field
_DOLLAR_KEY = re.compile(r'\$\.(?:"([^"\\]+)"|([^."\[\]*\\]+))(?=$|[.\[])')


@dataclass(frozen=True)
class ReviewerView:
    """The run fields a payload carries (in RUN_FIELDS order), the metadata keys it keeps (None: every key),
    and per JSON field the top-level keys held back because the gold source reads them."""

    fields: tuple[str, ...]
    metadata_keys: tuple[str, ...] | None = None
    held_back: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _top_key(path: str) -> str | None:
    """The top-level key a constant JSON path reads (`$.k...`, `$."k"...`, `/k...` or a bare key), None if unsure."""
    if path.startswith("/"):
        return path[1:].split("/")[0].replace("~1", "/").replace("~0", "~")
    if not path.startswith("$"):
        return path
    m = _DOLLAR_KEY.match(path)
    return (m.group(1) or m.group(2)) if m else None


def _column(names: list[str]) -> str:
    """The run field a column reference names (`metadata`, `runs.metadata`), `EVERYTHING` for the row itself."""
    names = [n.lower() for n in names]
    if len(names) > 1 and names[0] not in RUN_FIELDS:  # a table qualifier; `metadata.x` reads metadata
        names = names[1:]
    return EVERYTHING if names == ["runs"] else names[0]


def _path_read(node: dict) -> tuple[str, str | None] | None:
    """(field, key) when `node` reads a run field under a constant path (`f(metadata, '$.k')`, `metadata->'k'`)."""
    if node.get("class") == "FUNCTION" and node.get("function_name", "").lower() in PATH_FUNCTIONS:
        args = [a["expression"] for a in node.get("arguments", [])]
    elif node.get("class") == "LAMBDA" and node.get("syntax_type") == "SINGLE_ARROW":
        args = [node["lhs"], node["expr"]]
    else:
        return None
    if len(args) < 2 or args[0].get("class") != "COLUMN_REF" or args[1].get("class") != "CONSTANT":
        return None
    literal, names = args[1]["literal"], args[0]["column_names"]
    if literal.get("kind") != "STRING" or len(names) > 2 or (len(names) == 2 and names[0].lower() in RUN_FIELDS):
        return None
    return _column(names), _top_key(literal["text"])


def _reads(node: object) -> Iterator[tuple[str, str | None]]:
    """(field, top-level key or None for the whole field) for every read of a run field under `node`."""
    if isinstance(node, list):
        for child in node:
            yield from _reads(child)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("class")
    if kind in ("STAR", "SUBQUERY", "POSITIONAL_REFERENCE"):
        yield EVERYTHING, None
        return
    if kind == "COLUMN_REF":
        yield _column(node["column_names"]), None
        return
    if (read := _path_read(node)) is not None:
        yield read
        rest = node.get("arguments", [])[2:]  # any further arguments, e.g. a default value
        yield from _reads(rest)
        return
    for value in node.values():
        yield from _reads(value)


def _merge(found: dict[str, set[str] | None], name: str, keys: set[str] | None) -> None:
    """Add a read of `keys` of field `name` (None: all of it) to `found`."""
    before = found.get(name, set())
    found[name] = None if keys is None or before is None else before | keys


def gold_reads(expr: str) -> dict[str, set[str] | None]:
    """What the SQL expression reads of a run: field -> the top-level keys it reads, or None for all of it.

    `EVERYTHING` among the fields means it may read every field (a subquery, `*`, the row itself).
    """
    with duckdb.connect() as con:
        parsed = json.loads(con.execute("SELECT json_serialize_sql(?)", [f"SELECT ({expr})"]).fetchone()[0])
    if parsed.get("error"):
        raise ConfigError(
            f"gold_source {expr!r} cannot be parsed ({parsed.get('error_message')}): fix it, then check the "
            f"queue with `reviewdesk queues validate`."
        )
    found: dict[str, set[str] | None] = {}
    for name, key in _reads(parsed["statements"]):
        _merge(found, name, None if key is None else {key})
    return found


def reviewer_view(sees: Iterable[str], gold_sources: Iterable[str | None]) -> ReviewerView:
    """What a payload carries: the fields and metadata keys in `sees`, less whatever any gold source reads.

    A field read whole, or read at all when it is not JSON (`json_extract(error, '$.k')`), is left out;
    top-level keys read of a JSON field are removed from it.
    """
    sees = list(sees)
    read: dict[str, set[str] | None] = {}
    for source in filter(None, gold_sources):
        for name, keys in gold_reads(source).items():
            _merge(read, name, keys)
    if EVERYTHING in read:
        return ReviewerView(())
    left_out = {name for name, keys in read.items() if keys is None or name not in JSON_FIELDS}
    held = {name: tuple(sorted(keys)) for name, keys in read.items() if name not in left_out}
    metadata_keys = None
    if "metadata" not in sees:  # only the keys listed, less those read: nothing to remove from them
        read_keys = held.pop("metadata", ())
        listed = [s.removeprefix(METADATA_KEY) for s in sees if s.startswith(METADATA_KEY)]
        metadata_keys = tuple(k for k in listed if k not in read_keys)
        if metadata_keys:
            sees.append("metadata")
    return ReviewerView(tuple(f for f in RUN_FIELDS if f in sees and f not in left_out), metadata_keys, held)


def _literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _pointer(key: str) -> str:
    """A JSON pointer to a top-level key."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


def _field_sql(view: ReviewerView, r: str, name: str) -> str:
    """SQL for one field of run alias `r` as reviewers see it."""
    column = f"{r}.{name}"
    if name == "start_time":
        return f"strftime({column} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%f+00:00')"
    if name == "metadata" and view.metadata_keys is not None:
        picked = ", ".join(f"{_literal(k)}, {column} -> {_literal(_pointer(k))}" for k in view.metadata_keys)
        return f"CASE WHEN json_type({column}) = 'OBJECT' THEN json_object({picked}) END"
    if keys := view.held_back.get(name):  # a JSON merge patch with null values deletes those keys
        patch = _literal(json.dumps(dict.fromkeys(keys)))
        return f"CASE WHEN json_type({column}) = 'OBJECT' THEN json_merge_patch({column}, {patch}) ELSE {column} END"
    return column


def run_json_sql(view: ReviewerView, r: str, leading: dict[str, str] | None = None) -> str:
    """SQL for the payload object of run alias `r`: only the fields and keys of `view`, after the
    `leading` entries (name -> SQL; a unit's step structure), which replace view fields of the same name."""
    leading = leading or {}
    entries = [f"{_literal(name)}, {sql}" for name, sql in leading.items()]
    entries += [f"{_literal(name)}, {_field_sql(view, r, name)}" for name in view.fields if name not in leading]
    return f"json_object({', '.join(entries)})"
