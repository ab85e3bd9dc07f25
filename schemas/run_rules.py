"""The `runs` contract's domain rules as DuckDB conditions, so ingestion can check every run without pandas.

`schemas.runs.RunSchema` (pandera) is the contract, and it names the reasons a run is refused. Run
through pandera, every staged run would first become pandas: about 1.6 s per million runs, plus
about 1 s to import pandas and pandera in each ingest process. So each of its checks is also written
here as a condition DuckDB evaluates in SQL; only the runs that break one go through pandera, for its
reasons. tests/test_run_rules.py checks that every check of RunSchema has its condition here and
that both agree, run by run, on generated runs. Declarations only: this module imports nothing.
"""

from __future__ import annotations

STATUSES = ["success", "error"]

# Column -> a condition true when the column's value passes RunSchema's checks on it (NULL passes where
# the column is nullable; NaN counts as NULL, as pandera counts it).
COLUMN_RULES: dict[str, str] = {
    "status": "status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")",
    "start_time": "TRUE",
    "end_time": "TRUE",
    "latency_ms": "coalesce(latency_ms >= 0 OR isnan(latency_ms), TRUE)",
    "prompt_tokens": "coalesce(prompt_tokens >= 0, TRUE)",
    "completion_tokens": "coalesce(completion_tokens >= 0, TRUE)",
    "total_tokens": "coalesce(total_tokens >= 0, TRUE)",
    "cost_usd": "coalesce(cost_usd >= 0 OR isnan(cost_usd), TRUE)",
    "user_feedback": "TRUE",
}
# RunSchema's checks over several columns, by their name.
FRAME_RULES: dict[str, str] = {"end_time is not before start_time": "coalesce(NOT end_time < start_time, TRUE)"}

# The columns ingestion checks (run_id's presence and every column's type are checked in SQL when staging).
DOMAIN_COLUMNS = list(COLUMN_RULES)
# True when a run passes every domain rule.
PASSES = " AND ".join(f"({rule})" for rule in [*COLUMN_RULES.values(), *FRAME_RULES.values()])

__all__ = ["COLUMN_RULES", "DOMAIN_COLUMNS", "FRAME_RULES", "PASSES", "STATUSES"]
