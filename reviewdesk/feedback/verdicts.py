"""A queue's trusted consensus as verdicts: one per label and run, ready to send to a tracing tool.

Only values reached by a trusted method (`schemas.promotion.TRUSTED`: gold, adjudicated, unanimous,
majority, median within the criterion's tolerance) are verdicts, as for promotion. A single item's
label goes to its run. A pairwise item's labels go to both of its runs; its preference becomes, per
run, `preferred` (score 1), `not_preferred` (0) or `tie` (0.5), so each run carries how it fared.
"""

from __future__ import annotations

from urllib.parse import quote

from reviewdesk.feedback.contracts import Run, Verdict
from reviewdesk.stores.warehouse import Warehouse
from schemas.promotion import TRUSTED
from schemas.rubric import PREFERENCE, TIE

BOOLEAN_TEXT = ("true", "false")


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


def queue_verdicts(wh: Warehouse, queue: str, app_url: str) -> list[Verdict]:
    """Every trusted consensus label of the queue as verdicts, ordered by item, criterion and run."""
    rows = wh.execute(
        f"""SELECT c.item_id, c.criterion, c.value, c.value_num, c.method, c.confidence, c.reviewers, c.agreeing,
                   r.run_id, r.trace_id, r.project, r.source_format
            FROM consensus c JOIN items i USING (item_id) JOIN runs r ON r.run_id IN (i.run_id, i.run_a, i.run_b)
            WHERE c.queue = ? AND c.method IN ({", ".join("?" * len(TRUSTED))}) AND c.value IS NOT NULL
              AND c.step_run_id = ''  -- answers about a step are not the run's verdict
            ORDER BY c.item_id, c.criterion, r.run_id""",
        [queue, *TRUSTED],
    )
    out = []
    for item_id, criterion, value, value_num, method, confidence, reviewers, agreeing, *run in rows:
        target = Run(*run)
        if criterion == PREFERENCE:
            label, score, kind = _preference(value, target.run_id)
        else:
            label, score, kind = _reading(value, value_num)
        out.append(Verdict(queue, item_id, criterion, target, label, score, kind, method, confidence, reviewers,
                           agreeing, item_link(app_url, item_id)))  # fmt: skip
    return out


__all__ = ["item_link", "queue_verdicts"]
