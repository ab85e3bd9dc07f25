"""Publishing computes review priorities in DuckDB (`priority_sql`); they equal `item_priority`, which the
prescore step uses for items already published, value for value, so both orders agree exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from reviewdesk.prescore.priority import POLICIES, item_priority, priority_sql

confidences = st.one_of(
    st.none(),
    st.floats(0, 1),
    st.integers(0, 2**10).map(lambda i: i / 2**10),  # exact binary ties: round() goes to even, so must SQL
    st.integers(0, 10**7).map(lambda i: i / 10**7),
)
items = st.lists(st.tuples(st.text(min_size=1, max_size=20), confidences), min_size=1, max_size=20)
times = st.integers(0, 10**15).map(lambda us: datetime(1990, 1, 1, tzinfo=UTC) + timedelta(microseconds=us))


@settings(max_examples=80, deadline=None)
@given(items, times)
def test_priority_sql_equals_item_priority(rows: list[tuple[str, float | None]], published_at: datetime):
    con = duckdb.connect()
    con.execute("CREATE TABLE t (item_id VARCHAR, confidence DOUBLE)")
    con.executemany("INSERT INTO t VALUES (?, ?)", rows)
    for policy in POLICIES:
        sql = priority_sql(policy, "item_id", "confidence", published_at)
        got = [p for (p,) in con.execute(f"SELECT {sql} FROM t ORDER BY rowid").fetchall()]
        assert got == [item_priority(policy, i, published_at, c) for i, c in rows], policy
