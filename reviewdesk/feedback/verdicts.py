"""A queue's trusted consensus as verdicts: one per label and run, ready to send to a tracing tool.

Only values reached by a trusted method (`schemas.promotion.TRUSTED`: gold, adjudicated, unanimous,
majority, median within the criterion's tolerance) are verdicts, as for promotion. A single item's
label goes to its run (a trace's root, a session's last turn). A per-step label of a trace or session
(`step_run_id`: a tool call, a retrieval) goes to that step's own run, so it shows on the child run,
observation or span it judges. A pairwise item's labels go to both of its runs; its preference becomes,
per run, `preferred` (score 1), `not_preferred` (0) or `tie` (0.5), so each run carries how it fared.
A label whose run is gone from the warehouse is skipped and counted.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import quote

from reviewdesk.feedback.contracts import Run, Verdict
from reviewdesk.stores.warehouse import Warehouse
from schemas.promotion import TRUSTED
from schemas.rubric import PREFERENCE, TIE

BOOLEAN_TEXT = ("true", "false")


class QueueVerdicts(NamedTuple):
    """A queue's verdicts, and how many trusted labels were skipped because their run left the warehouse."""

    verdicts: list[Verdict]
    runs_gone: int


def item_link(app_url: str, item_id: str) -> str:
    """The item in the review app: its base URL with `?item=ITEM_ID`."""
    return f"{app_url.rstrip('/')}/?item={quote(item_id, safe='')}"


def _reading(value: str, value_num: float | None) -> tuple[str, float | None, str]:
    """(label, score, kind) of a stored consensus value (see reviewdesk.stores.values)."""
    if value_num is None:
        return value, None, "CATEGORICAL"
    return value, value_num, "BOOLEAN" if value in BOOLEAN_TEXT else "NUMERIC"


def _preference(value: str, run_id: str) -> tuple[str, float, str]:
    if value == TIE:
        return "tie", 0.5, "CATEGORICAL"
    return ("preferred", 1.0, "CATEGORICAL") if value == run_id else ("not_preferred", 0.0, "CATEGORICAL")


# The run judged per item and step ('' = the whole item): the item's run, both runs of a pair, or the step's
# own run. UNION ALL keeps every join an equi-join (an OR / IN join makes DuckDB compare each label with every run).
_JUDGED = """
WITH judged AS (
    SELECT item_id, '' AS step_run_id, run_id AS judged FROM items WHERE queue = $queue AND run_id IS NOT NULL
    UNION ALL SELECT item_id, '', run_a FROM items WHERE queue = $queue AND run_a IS NOT NULL
    UNION ALL SELECT item_id, '', run_b FROM items WHERE queue = $queue AND run_b IS NOT NULL
    UNION ALL SELECT DISTINCT item_id, step_run_id, step_run_id FROM consensus
        WHERE queue = $queue AND step_run_id <> '')
SELECT c.item_id, c.criterion, c.value, c.value_num, c.method, c.confidence, c.reviewers, c.agreeing, j.judged,
       r.run_id IS NOT NULL, r.trace_id, r.project, r.source_format
FROM consensus c JOIN judged j USING (item_id, step_run_id) LEFT JOIN runs r ON r.run_id = j.judged
WHERE c.queue = $queue AND list_contains($trusted, c.method) AND c.value IS NOT NULL
ORDER BY c.item_id, c.criterion, j.judged"""


def queue_verdicts(wh: Warehouse, queue: str, app_url: str) -> QueueVerdicts:
    """Every trusted consensus label of the queue as verdicts, ordered by item, criterion and run."""
    rows = wh.execute(_JUDGED, {"queue": queue, "trusted": list(TRUSTED)})
    out, gone = [], 0
    for item_id, criterion, value, value_num, method, confidence, reviewers, agreeing, run_id, found, *run in rows:
        if not found:
            gone += 1
            continue
        target = Run(run_id, *run)
        if criterion == PREFERENCE:
            label, score, kind = _preference(value, target.run_id)
        else:
            label, score, kind = _reading(value, value_num)
        out.append(Verdict(queue, item_id, criterion, target, label, score, kind, method, confidence, reviewers,
                           agreeing, item_link(app_url, item_id)))  # fmt: skip
    return QueueVerdicts(out, gone)


__all__ = ["QueueVerdicts", "item_link", "queue_verdicts"]
