"""Monitoring: a qualified reviewer's accuracy on live gold items, and the pause when it falls too low.

After each first answer to a live gold item (in `submit`'s transaction), the reviewer's last
`monitoring.window` gold items answered since they qualified are graded as training is (each
criterion the gold answer knows counts once). With a full window and a share right under
`min_accuracy`, they are sent back to training (`retraining`: their holds end, their next item is a
training item) and a notice for leads is recorded. A window not yet full judges nobody.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from reviewdesk.review.qualification import change, end_holds, grade, state_row
from reviewdesk.stores.review_schema import GOLD, items, submissions
from reviewdesk.stores.reviewstore import ReviewStore

BY = "monitoring"
_P = bindparam
_RECENT = (  # the reviewer's first answers to the queue's gold items since `since`, newest first
    select(submissions.c.answers, items.c.gold_answer, items.c.rubric_version)
    .join(items, items.c.item_id == submissions.c.item_id)
    .where(items.c.queue == _P("queue"), GOLD, submissions.c.reviewer == _P("reviewer"),
           submissions.c.revision == 1, submissions.c.submitted_at >= _P("since"))
    .order_by(submissions.c.submitted_at.desc(), submissions.c.submission_id.desc())
    .limit(_P("window"))
)  # fmt: skip


def monitoring_config(q: Mapping[str, Any]) -> dict | None:
    """The queue row's `monitoring` block, or None."""
    return (q["config"] or {}).get("monitoring")


def gold_window(store: ReviewStore, conn: Connection, queue: str, reviewer: str, since: datetime,
                window: int) -> dict:  # fmt: skip
    """The last `window` gold items the reviewer answered live since `since`: items, graded answers, right ones."""
    rubrics: dict[str, list] = {}
    n = graded = right = 0
    for answers, gold, version in conn.execute(_RECENT, {"queue": queue, "reviewer": reviewer, "since": since,
                                                          "window": window}):  # fmt: skip
        if version not in rubrics:
            rubrics[version] = (store.rubric(queue, version, conn) or {}).get("criteria", [])
        marks = grade(answers if isinstance(answers, Mapping) else {}, gold, rubrics[version])
        n, graded, right = n + 1, graded + len(marks), right + sum(marks.values())
    return {"items": n, "graded": graded, "correct": right, "accuracy": right / graded if graded else None}


def check_gold_answer(store: ReviewStore, conn: Connection, q: Mapping[str, Any], reviewer: str, now: datetime) -> bool:
    """After `reviewer`'s live answer to a gold item of queue row `q` (in that write transaction): send them back
    to training, with a notice for leads, when a full window is under `min_accuracy`. Returns whether it did."""
    cfg = monitoring_config(q)
    if cfg is None:
        return False
    row = state_row(conn, q["name"], reviewer)
    if row is None or row["state"] != "qualified":
        return False  # leads and admins have no row; others answer no live item unless qualified
    seen = gold_window(store, conn, q["name"], reviewer, row["since"], cfg["window"])
    if seen["items"] < cfg["window"] or seen["accuracy"] is None or seen["accuracy"] >= cfg["min_accuracy"]:
        return False
    why = (f"gold accuracy {seen['accuracy']:.0%} ({seen['correct']} of {seen['graded']} answers) over the "
           f"last {seen['items']} gold items, under {cfg['min_accuracy']:.0%}: paused, back to training")  # fmt: skip
    change(store, conn, q["name"], reviewer, "retraining", "paused_by_monitoring", BY, why, now,
           attempt=row["attempt"] + 1, notice=True, detail={**seen, "min_accuracy": cfg["min_accuracy"]})  # fmt: skip
    end_holds(conn, q["name"], reviewer)
    return True


def live_gold_accuracy(store: ReviewStore, queue: str, reviewer: str) -> dict | None:
    """The reviewer's monitoring window now (items, graded, correct, accuracy, window, min_accuracy), or None when
    the queue has no monitoring or they are not qualified; for leads' pages."""
    with store.read() as conn:
        q = store.queue(queue, conn)
        row = state_row(conn, queue, reviewer)
        if q is None or (cfg := monitoring_config(q)) is None or row is None or row["state"] != "qualified":
            return None
        return {**gold_window(store, conn, queue, reviewer, row["since"], cfg["window"]), **cfg}


__all__ = ["check_gold_answer", "live_gold_accuracy"]
