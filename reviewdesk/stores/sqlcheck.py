"""Check a user's SQL expression over `runs` before it ever runs: DuckDB's own parser, then an allow-list.

Queue files hold SQL fragments (a filter, weight conditions, strata, pair keys, the gold source).
Each must be one expression over one run's columns: reproducible, and unable to read anything
else. A token check cannot promise that, since DuckDB accepts FROM-first subqueries and table
functions inside expressions (`EXISTS (FROM read_text('/etc/passwd'))`). So DuckDB's parser
(`json_serialize_sql`) turns `SELECT (<expr>) FROM runs` into a tree, and every node of the
expression must be of an allowed kind: constants, the runs columns, operators, comparisons,
CASE, casts to plain types, and the scalar functions listed below (text, numbers, dates, JSON,
lists, structs). No subqueries, table functions, aggregates, windows, parameters, clocks or
settings. The expression is then bound in a sandbox (reviewdesk.stores.sandbox) for its type.
A mistake is caught when the queue is loaded, with a message that says what to use instead.

Trace and session queues (`unit=True`) evaluate their sampling SQL once per unit, over the unit's runs
grouped by the unit: there the deterministic aggregates of `AGGREGATES` are allowed too (with FILTER and
DISTINCT), and the unit's root run is `root.<column>`; a run column outside an aggregate is refused
by the binder, as in `SELECT ... GROUP BY unit`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from typing import Any, ClassVar

import duckdb

from reviewdesk.stores.sandbox import sandbox
from reviewdesk.stores.warehouse import RUN_COLUMNS

CHECKED = "__checked_expression"
MAX_DEPTH = 200  # containers in the parsed tree (about 3 per call or operator): well within Python's recursion limit
# The expression gets lines of its own, so nothing of the wrapper can end up inside a comment or string of it.
WRAPPER = "SELECT (\n{}\n) AS " + CHECKED + " FROM runs"

from reviewdesk.stores.sqlallow import (  # noqa: E402
    AGGREGATES,
    COLLATIONS,
    FUNCTIONS,
    LAMBDA_FUNCTIONS,
    OPERATOR_NODES,
    OPERATORS,
    TYPES,
    UNREPRODUCIBLE,
)  # fmt: skip

SUBQUERY_WORDS = {"SELECT", "FROM", "TABLE", "VALUES", "WITH", "EXISTS", "ANY", "ALL", "SOME", "SUMMARIZE", "DESCRIBE",
                  "SHOW", "PIVOT", "UNPIVOT"}  # fmt: skip
INSTEAD = "use the runs columns, e.g. metadata->>'$.key' or status = 'error'"
ROOT = "root"  # a unit queue reads its root run's columns as root.<column>
UNIT_HINT = (
    "in a trace or session queue, read the unit's runs through an aggregate (bool_or(status = 'error'), "
    "sum(total_tokens), count(*)) or its root run as root.<column> (root.project)"
)
UNIT_WRAPPER = WRAPPER + " GROUP BY __unit, " + ROOT


class ExpressionError(ValueError):
    """The expression is not usable; the message says why and what to do."""


@functools.cache
def _runs() -> duckdb.DuckDBPyConnection:
    """A sandbox holding an empty runs table: where expressions are parsed and bound, never evaluated on data."""
    con = sandbox()
    con.execute(f"CREATE TABLE runs ({RUN_COLUMNS})").fetchall()
    return con


@functools.cache
def _units() -> duckdb.DuckDBPyConnection:
    """A sandbox whose empty runs table also has the unit (`__unit`) and its root run (`root`): where unit
    expressions are bound, as the sampling of trace and session units evaluates them (grouped by the unit)."""
    con = sandbox()
    root = ", ".join(f'"{name}" {kind}' for name, kind in run_column_types().items())
    con.execute(f"CREATE TABLE runs ({RUN_COLUMNS}, __unit VARCHAR, {ROOT} STRUCT({root}))").fetchall()
    return con


@functools.cache
def run_column_types() -> dict[str, str]:
    """The runs columns an expression may use, with their DuckDB types."""
    return {row[0]: row[1] for row in _runs().execute("DESCRIBE runs").fetchall()}


def run_columns() -> list[str]:
    """Names of the columns an expression may use."""
    return list(run_column_types())


@functools.cache
def _function_kinds() -> dict[str, set[str]]:
    """DuckDB's function types by name ('table', 'aggregate', ...), to say why a function is refused."""
    rows = _runs().execute("SELECT function_name, list(DISTINCT function_type) FROM duckdb_functions() GROUP BY ALL")
    return {name: set(kinds) for name, kinds in rows.fetchall()}


def _refuse_function(name: str) -> ExpressionError:
    """Why `name` is refused, and what to use instead."""
    kinds = _function_kinds().get(name, set())
    if name in UNREPRODUCIBLE:
        return ExpressionError(f"calls {name}(): sampling must be reproducible, and the seed gives its randomness")
    if kinds & {"table", "table_macro", "pragma"}:
        return ExpressionError(f"calls {name}(), which reads files, tables or the database: {INSTEAD}")
    if kinds & {"aggregate", "window"}:
        name = name.removesuffix("_star")  # count(*) parses as count_star()
        return ExpressionError(
            f"calls {name}(), an aggregate: a queue expression sees one run ({INSTEAD}); aggregates over a unit's "
            "runs are for queues with unit: trace or session, which allow "
            + ", ".join(sorted(AGGREGATES - {"count_star"}))
        )
    return ExpressionError(
        f"calls {name}(), which queue SQL does not allow: use operators, CASE, casts and the scalar functions "
        "for text, numbers, dates, JSON and lists listed in reviewdesk/stores/sqlcheck.py"
    )


def _params(lhs: dict[str, Any]) -> set[str]:
    """The parameter names of a lambda's left side: `x` or `(x, i)`."""
    refs = lhs.get("arguments", []) if lhs.get("class") == "FUNCTION" and lhs.get("function_name") == "row" else []
    nodes = [a["expression"] for a in refs] or [lhs]
    if any(n.get("class") != "COLUMN_REF" or len(n["column_names"]) != 1 for n in nodes):
        raise ExpressionError("has a lambda whose parameters are not plain names: write x -> ... or (x, i) -> ...")
    return {n["column_names"][0].lower() for n in nodes}


class _Walk:
    """One pass over an expression tree: refuses what is not allowed, notes the runs columns it reads."""

    def __init__(self, expr: str, unit: bool = False) -> None:
        self.columns: set[str] = set()
        self.root_columns: set[str] = set()
        self.unit = unit
        words = (expr[pos:end].strip().upper() for pos, end, _ in _spans(expr))
        self.subquery_word = next((w for w in words if w in SUBQUERY_WORDS), "a query")

    def node(self, node: dict[str, Any], scope: frozenset[str]) -> None:
        kind = node.get("class")
        if kind == "SUBQUERY":
            raise ExpressionError(
                f"contains {self.subquery_word}, a subquery: a queue expression reads one run and nothing else; "
                f"{INSTEAD}; for a list, list_contains(tags, 'x')"
            )
        if kind == "WINDOW":
            raise ExpressionError(f"uses a window ({node['function_name']}() OVER ...): queue SQL sees one run")
        if kind == "STAR":
            raise ExpressionError("uses * or COLUMNS(...): name the runs columns you need")
        if kind in ("PARAMETER", "POSITIONAL_REFERENCE"):
            raise ExpressionError("has a parameter ($1, ?, #1): write the value itself")
        if kind not in self.CHECKS:
            raise ExpressionError(f"uses {str(kind).lower()}, which queue SQL does not allow; {INSTEAD}")
        getattr(self, self.CHECKS[kind])(node, scope)

    def children(self, value: Any, scope: frozenset[str]) -> None:
        """Every expression nested anywhere in `value` (a node's fields), so no field escapes the check."""
        for child in _nested(value):
            self.node(child, scope)

    def _column_ref(self, node: dict[str, Any], scope: frozenset[str]) -> None:
        names = [n.lower() for n in node["column_names"]]
        if names[0] == ROOT and len(names) > 1 and ROOT not in scope:
            return self._root(names, scope)
        self._name(names[1] if names[0] == "runs" and len(names) > 1 else names[0], scope, node["column_names"][0])

    def _root(self, names: list[str], scope: frozenset[str]) -> None:
        """root.<column>: the unit's root run, in trace and session queues only."""
        if not self.unit:
            raise ExpressionError("reads root.<column>, the root run of a trace or session: set unit: trace or "
                                  f"session in the queue, or {INSTEAD}")  # fmt: skip
        if len(names) != 2 or names[1] not in run_column_types():
            raise ExpressionError(f"reads {'.'.join(names)}: write root.<column> with a runs column "
                                  f"({', '.join(run_columns())})")  # fmt: skip
        self.root_columns.add(names[1])

    def _name(self, name: str, scope: frozenset[str], shown: str) -> None:
        if name in scope:
            return
        if name == ROOT and self.unit:
            raise ExpressionError("reads root on its own: write root.<column>, e.g. root.project")
        if name in run_column_types():
            self.columns.add(name)
        elif name in UNREPRODUCIBLE:
            raise ExpressionError(f"reads the clock ({shown}): sampling must be reproducible; compare with a fixed "
                                  "time instead, e.g. start_time >= TIMESTAMPTZ '2026-01-01'")  # fmt: skip
        else:
            raise ExpressionError(f'Referenced column "{shown}" not found. Columns of runs: {", ".join(run_columns())}')

    def _function(self, node: dict[str, Any], scope: frozenset[str]) -> None:
        name = node["function_name"]
        if node.get("catalog") or (node.get("is_operator") and name not in OPERATORS):
            raise _refuse_function(name)
        aggregate = self.unit and not node.get("is_operator") and name in AGGREGATES
        if not node.get("is_operator") and name not in FUNCTIONS and not aggregate:
            raise _refuse_function(name)
        if node.get("schema"):  # x.lower() is lower(x): the "schema" is a column or a lambda parameter
            self._name(node["schema"].lower(), scope, node["schema"])
        if node.get("export_state") or node["order_bys"]["orders"]:
            raise ExpressionError(f"calls {name}() with ORDER BY or EXPORT_STATE: queue SQL does not allow them")
        if not aggregate and (node.get("filter") or node.get("distinct")):
            raise ExpressionError(f"calls {name}() with FILTER or DISTINCT: those are for aggregates, in trace and "
                                  "session queues")  # fmt: skip
        if node.get("filter"):
            self.node(node["filter"], scope)
        for arg in node.get("arguments", []):
            expr = arg["expression"]
            if name in LAMBDA_FUNCTIONS and expr.get("class") == "LAMBDA":
                self.node(expr["expr"], scope | _params(expr["lhs"]))
            else:
                self.node(expr, scope)

    def _lambda(self, node: dict[str, Any], scope: frozenset[str]) -> None:
        self.children({"lhs": node["lhs"], "expr": node["expr"]}, scope)  # outside a list function: JSON a -> '$.b'

    def _cast(self, node: dict[str, Any], scope: frozenset[str]) -> None:
        self._type(node["type_expr"])
        self.node(node["child"], scope)

    def _type(self, node: dict[str, Any]) -> None:
        name = str(node.get("type_name", "")).upper()
        if node.get("class") != "TYPE" or name not in TYPES or node.get("schema") or node.get("catalog"):
            raise ExpressionError(f"casts to {node.get('type_name')}: cast to a plain type such as VARCHAR, "
                                  "INTEGER, DOUBLE, BOOLEAN, DATE, TIMESTAMPTZ, JSON or a list of one")  # fmt: skip
        for child in node.get("children", []):
            if child.get("class") != "CONSTANT":  # DECIMAL(10, 2) and INTEGER[3] have constants
                self._type(child)

    def _operator(self, node: dict[str, Any], scope: frozenset[str]) -> None:
        if node["type"] not in OPERATOR_NODES:
            raise ExpressionError(f"uses {node['type'].lower()}, which queue SQL does not allow; {INSTEAD}")
        self.children(node["children"], scope)

    def _collate(self, node: dict[str, Any], scope: frozenset[str]) -> None:
        if not set(node["collation"].lower().split(".")) <= COLLATIONS:
            raise ExpressionError(f"uses collation {node['collation']!r}: use one of {', '.join(sorted(COLLATIONS))}")
        self.node(node["child"], scope)

    def _constant(self, node: dict[str, Any], scope: frozenset[str]) -> None:
        pass

    def _fields(self, node: dict[str, Any], scope: frozenset[str]) -> None:
        self.children(list(node.values()), scope)

    CHECKS: ClassVar[dict[str, str]] = {  # the node kinds allowed, and the method that checks each
        "CONSTANT": "_constant", "COLUMN_REF": "_column_ref", "FUNCTION": "_function", "LAMBDA": "_lambda",
        "CAST": "_cast", "OPERATOR": "_operator", "COLLATE": "_collate", "COMPARISON": "_fields",
        "CONJUNCTION": "_fields", "BETWEEN": "_fields", "CASE": "_fields",
    }  # fmt: skip


def _nested(value: Any) -> Iterator[dict[str, Any]]:
    """The outermost expression nodes (dicts with a 'class') anywhere inside `value`."""
    if isinstance(value, dict):
        if "class" in value:
            yield value
            return
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            yield from _nested(item)


# What `SELECT (<expr>) AS __checked_expression FROM runs` must parse to, besides its one select item.
_SHAPE = {
    "type": "SELECT_NODE", "modifiers": [], "cte_map": {"map": []}, "where_clause": None, "group_expressions": [],
    "group_sets": [], "aggregate_handling": "STANDARD_HANDLING", "having": None, "sample": None, "qualify": None,
}  # fmt: skip
_FROM = {
    "type": "BASE_TABLE", "alias": "", "sample": None, "schema_name": "", "table_name": "runs", "column_name_alias": [],
    "catalog_name": "", "at_clause": None, "qualified_name": {"path": ["runs"]},
}  # fmt: skip


def _depth(text: str) -> int:
    """How deep the JSON `text` nests, counted without recursing (json.loads would raise RecursionError)."""
    depth = deepest = 0
    for bracket in re.findall(r"[\[\]{}]", re.sub(r'"(?:[^"\\]|\\.)*"', "", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _tree(expr: str) -> dict[str, Any]:
    """The parsed expression, once its statement is known to be exactly `SELECT (<expr>) FROM runs`."""
    text = _runs().execute("SELECT json_serialize_sql(?)", [WRAPPER.format(expr)]).fetchone()[0]
    if _depth(text) > MAX_DEPTH:
        raise ExpressionError("nests too deeply (some 60 calls or operators inside one another): simplify it")
    found = json.loads(text)
    if found.get("error"):
        raise ExpressionError(f"is not an expression DuckDB can parse ({found.get('error_message')}); write one")
    statements = found["statements"]
    node = statements[0]["node"] if len(statements) == 1 else {}
    items = node.get("select_list", [])
    from_table = {k: v for k, v in node.get("from_table", {}).items() if not k.startswith("query_location")}
    shape_ok = {k: node.get(k) for k in _SHAPE} == _SHAPE and set(node) == {*_SHAPE, "select_list", "from_table"}
    if not (shape_ok and from_table == _FROM and len(items) == 1 and items[0].get("alias") == CHECKED):
        raise ExpressionError("is not one expression: write a single expression, no FROM, WHERE, AS or commas")
    if statements[0].get("named_param_map"):
        raise ExpressionError("has a parameter ($name): write the value itself")
    return items[0]


def _spans(expr: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of each token of `expr`."""
    tokens = duckdb.tokenize(expr)
    ends = [pos for pos, _ in tokens[1:]] + [len(expr)]
    return [(pos, end, kind.name) for (pos, kind), end in zip(tokens, ends, strict=True)]


def _lexical(expr: str) -> None:
    """Refuse what must never be in an expression, whatever the parser would make of it."""
    depth = 0
    for pos, end, kind in _spans(expr):
        text = expr[pos:end]
        if kind == "comment":
            raise ExpressionError("contains a comment (-- or /* */): remove it")
        if kind == "operator":
            if ";" in text:
                raise ExpressionError("contains ';': write one expression, not statements")
            depth += text.count("(") - text.count(")")
            if depth < 0:
                raise ExpressionError("has a ')' without its '(': write one expression")
    if depth:
        raise ExpressionError("has an unclosed '(': write one expression")


@functools.lru_cache(maxsize=4096)
def _checked(expr: str, unit: bool = False) -> tuple[str, frozenset[str], frozenset[str]]:
    """(DuckDB type, runs columns read, root columns read) of an allowed expression; ExpressionError otherwise.

    `unit`: evaluated once per trace or session unit (aggregates and root.<column> allowed)."""
    if not expr or not expr.strip():
        raise ExpressionError("is empty; write a DuckDB expression over the runs columns")
    try:
        expr.encode("utf-8")
    except UnicodeEncodeError:
        raise ExpressionError("is not valid Unicode text (a lone surrogate, such as \\ud800): remove it") from None
    _lexical(expr)
    walk = _Walk(expr, unit)
    try:
        walk.node(_tree(expr), frozenset())
    except (KeyError, TypeError, AttributeError):  # a tree of a shape this check was not written for: refuse it
        raise ExpressionError(f"uses SQL that queue expressions do not allow; {INSTEAD}") from None
    con, wrapper = (_units(), UNIT_WRAPPER) if unit else (_runs(), WRAPPER)
    try:
        rows = con.execute(f"DESCRIBE {wrapper.format(expr)}").fetchall()
    except duckdb.BinderException as e:
        detail = str(e).splitlines()[0].removeprefix("Binder Error: ").rstrip(".!")
        if unit and "GROUP BY" in detail:
            raise ExpressionError(f"{detail.replace(' __unit,', '')}: {UNIT_HINT}") from None
        raise ExpressionError(f"{detail}. Columns of runs: {', '.join(run_columns())}") from None
    except duckdb.Error as e:
        raise ExpressionError(str(e).splitlines()[0]) from None
    return rows[0][1], frozenset(walk.columns), frozenset(walk.root_columns)


def check_expression(expr: str, want: str | None = None, unit: bool = False) -> str:
    """Return the DuckDB type of `expr` over runs; raise ExpressionError if it is not one allowed expression.

    `want` ('BOOLEAN', say) also requires that type; `unit`: evaluated per trace or session unit.
    """
    kind = _checked(expr, unit)[0]
    if want is not None and kind != want:
        raise ExpressionError(f"is {kind}, not {want}: write a condition such as status = 'error'")
    return kind


def columns_read(expr: str) -> frozenset[str]:
    """The runs columns an allowed expression reads (ExpressionError if it is not allowed)."""
    return _checked(expr)[1]


def unit_columns_read(expr: str) -> tuple[frozenset[str], frozenset[str]]:
    """(runs columns, root columns) an allowed unit expression reads (ExpressionError if it is not allowed)."""
    return _checked(expr, True)[1:]


__all__ = [
    "AGGREGATES", "ExpressionError", "check_expression", "columns_read", "run_column_types", "run_columns",
    "unit_columns_read",
]  # fmt: skip
