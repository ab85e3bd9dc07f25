"""Read-only summaries of the warehouse for people: what is there, and what was refused."""

from __future__ import annotations

from reviewdesk.stores.warehouse import Warehouse


def overview(wh: Warehouse) -> dict:
    """Runs per model with errors, thumbs-down, latency and cost, plus pairwise candidates.

    Cost counts model calls only (a model, or run type llm): a trace's chain runs carry the summed cost of the
    calls under them, as LangSmith reports it, and adding theirs would count those calls twice."""
    models = wh.execute(
        """SELECT model, count(*), count(*) FILTER (status = 'error'), count(*) FILTER (user_feedback < 0),
                  coalesce(median(latency_ms), 0),
                  coalesce(sum(cost_usd) FILTER (model IS NOT NULL OR run_type = 'llm'), 0)
           FROM runs GROUP BY ALL ORDER BY 2 DESC"""
    )
    keys = ("model", "runs", "errors", "thumbs_down", "p50_latency_ms", "cost_usd")
    return {
        "runs": wh.scalar("SELECT count(*) FROM runs"),
        "models": [dict(zip(keys, row, strict=True)) for row in models],
        "pair_inputs": wh.scalar(
            "SELECT count(*) FROM (SELECT md5(inputs::VARCHAR) FROM runs WHERE run_type = 'llm' "
            "GROUP BY 1 HAVING count(DISTINCT model) > 1)"
        ),
        "quarantined": wh.scalar("SELECT count(*) FROM quarantine"),
    }


def quarantined(wh: Warehouse, ingest_id: str | None = None, limit: int = 20) -> list[dict]:
    """The newest quarantined records, raw bytes shown as text (invalid bytes replaced)."""
    rows = wh.execute(
        """SELECT ingest_id, source, source_format, line_no, locator, reason, decode(raw, 'replace'), quarantined_at
           FROM quarantine WHERE ? IS NULL OR ingest_id = ?
           ORDER BY quarantined_at DESC, line_no LIMIT ?""",
        [ingest_id, ingest_id, limit],
    )
    keys = ("ingest_id", "source", "source_format", "line_no", "locator", "reason", "raw", "quarantined_at")
    return [dict(zip(keys, row, strict=True)) for row in rows]
