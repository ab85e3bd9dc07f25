"""Check a user's SQL expression over `runs` before it ever runs against the warehouse.

Queue files hold SQL fragments (a filter, weight conditions, strata, pair keys). Each must be one
expression, reproducible, and bind against the `runs` columns; a mistake is caught when the queue
is loaded, with a message that says what to fix, not halfway through a scheduled flow.
"""

from __future__ import annotations

import functools

import duckdb

from reviewdesk.stores.warehouse import RUN_COLUMNS

STATEMENT_WORDS = {
    "select", "insert", "update", "delete", "create", "drop", "alter", "attach", "detach", "copy", "pragma",
    "set", "install", "load", "call", "export", "import", "truncate", "vacuum", "checkpoint", "use",
}  # fmt: skip
UNREPRODUCIBLE = {"random", "uuid", "gen_random_uuid", "setseed"}


class ExpressionError(ValueError):
    """The expression is not usable; the message says why and what to do."""


@functools.cache
def _runs() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE runs ({RUN_COLUMNS})").fetchall()
    return con


def run_columns() -> list[str]:
    """Names of the columns an expression may use."""
    return [row[0] for row in _runs().execute("DESCRIBE runs").fetchall()]


def _tokens(expr: str) -> list[tuple[str, str]]:
    """(kind, text) of each token, so that quoted text never counts as syntax."""
    found = duckdb.tokenize(expr)
    ends = [pos for pos, _ in found[1:]] + [len(expr)]
    return [(kind.name, expr[pos:end].strip()) for (pos, kind), end in zip(found, ends, strict=True)]


def check_expression(expr: str, want: str | None = None) -> str:
    """Return the DuckDB type of `expr` over runs; raise ExpressionError if it is not one clean expression.

    `want` ('BOOLEAN', say) also requires that type.
    """
    if not expr or not expr.strip():
        raise ExpressionError("is empty; write a DuckDB expression over the runs columns")
    depth = 0
    for kind, text in _tokens(expr):
        word = text.lower()
        if kind == "operator" and ";" in text:
            raise ExpressionError("contains ';': write one expression, not statements")
        if kind in ("keyword", "identifier") and word in STATEMENT_WORDS:
            raise ExpressionError(f"contains {text.upper()}: write one expression, no statements or subqueries")
        if kind == "identifier" and word in UNREPRODUCIBLE:
            raise ExpressionError(f"calls {word}(): sampling must be reproducible, and the seed gives its randomness")
        if kind == "operator":
            depth += text.count("(") - text.count(")")
            if depth < 0:
                raise ExpressionError("has a ')' without its '(': write one expression")
    if depth:
        raise ExpressionError("has an unclosed '(': write one expression")
    try:
        rows = _runs().execute(f"DESCRIBE SELECT ({expr}) AS __checked_expression FROM runs").fetchall()
    except duckdb.BinderException as e:
        detail = str(e).splitlines()[0].removeprefix("Binder Error: ")
        raise ExpressionError(f"{detail.rstrip('.!')}. Columns of runs: {', '.join(run_columns())}") from None
    except duckdb.Error as e:
        raise ExpressionError(str(e).splitlines()[0]) from None
    kind = rows[0][1]
    if want is not None and kind != want:
        raise ExpressionError(f"is {kind}, not {want}: write a condition such as status = 'error'")
    return kind
