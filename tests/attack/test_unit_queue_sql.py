"""Hostile SQL in trace and session queues: aggregates where a run is evaluated, subqueries, bare columns,
root misuse. Each is refused when the queue is checked, with a message that says what to write instead."""

from __future__ import annotations

import pytest

from reviewdesk.queues import sql_problems
from schemas.queue import QueueConfig

RUBRIC = {"instructions": "x", "criteria": [{"key": "ok", "type": "boolean"}]}


def problems(unit: str, filter_: str) -> str:
    q = QueueConfig.model_validate(
        {"name": "q", "unit": unit, "rubric": RUBRIC, "sampling": {"filter": filter_, "size": 5}}
    )
    return "\n".join(sql_problems(q))


@pytest.mark.parametrize(
    ("unit", "sql", "says"),
    [
        ("run", "count(*) > 2", "aggregates over a unit's runs are for queues with unit: trace or session"),
        ("run", "root.project = 'a'", "set unit: trace or session"),
        ("trace", "status = 'error'", "read the unit's runs through an aggregate"),
        ("trace", "count(*) > (SELECT count(*) FROM runs)", "a subquery"),
        ("trace", "bool_or(EXISTS (FROM read_text('/etc/passwd')))", "a subquery"),
        ("session", "list(status) IS NOT NULL", "which allow"),
        ("trace", "sum(sum(total_tokens)) > 1", "cannot be nested"),
        ("trace", "root = 1", "write root.<column>"),
        ("trace", "root.secret = 1", "write root.<column> with a runs column"),
        ("trace", "count(*) OVER () > 1", "window"),
        ("session", "max(now() - start_time) > INTERVAL 1 DAY", "reproducible"),
    ],
)
def test_hostile_unit_sql_is_refused_clearly(unit: str, sql: str, says: str) -> None:
    assert says in problems(unit, sql)


def test_aggregates_and_root_columns_pass_in_unit_queues() -> None:
    sql = "bool_or(status = 'error') AND sum(total_tokens) > 10 AND count(*) FILTER (WHERE parent_run_id IS NULL) >= 1"
    assert problems("trace", sql + " AND root.project = 'support'") == ""
    assert problems("session", "max(user_feedback) < 0") == ""
