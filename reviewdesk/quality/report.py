"""A queue's quality report: agreement per criterion (overall and per batch), reviewers to calibrate,
position bias, production estimates, consensus, the adjudication backlog, and human vs model
(suggestions against consensus, their calibration, the anchoring effect: `reviewdesk.quality.suggestion_quality`),
for a pairwise queue which compared value wins (`reviewdesk.quality.head_to_head`), rubric clarity:
confused options, per-option agreement and comments (`reviewdesk.quality.clarity`), agreement before
and after each rubric edit (`reviewdesk.quality.rubric_ab`), and the bias controls: verbosity,
fatigue, rubber-stamping, straight-lining and drift (`reviewdesk.quality.bias_report`).

Computed from the warehouse by the CLI and the collect flow, then kept in three places: flat rows
in `warehouse.agreement` (for SQL), a JSON snapshot in the review store (the app's dashboard reads
only that store), and a Markdown file in `data/reports/` (see `reviewdesk.quality.markdown`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from reviewdesk.labels.adjudication import backlog
from reviewdesk.labels.collection import watermark
from reviewdesk.labels.resolve import policy
from reviewdesk.quality import markdown as reports
from reviewdesk.quality import snapshot
from reviewdesk.quality.bias_report import bias_controls
from reviewdesk.quality.calibration import to_calibrate
from reviewdesk.quality.clarity import queue_clarity
from reviewdesk.quality.head_to_head import pairwise_results
from reviewdesk.quality.provisional import measure
from reviewdesk.quality.rubric_ab import rubric_comparisons
from reviewdesk.quality.rubric_labels import RATED_UNIT
from reviewdesk.quality.store_answers import queue_criteria
from reviewdesk.quality.suggestion_quality import human_vs_model
from reviewdesk.sample.estimates import outcome_estimates
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse


def _labels(wh: Warehouse, queue: str) -> pd.DataFrame:
    return wh.con.execute(
        # a per-step criterion is rated per (item, step): each answered step is a unit being rated
        f"""SELECT {RATED_UNIT} AS item,
                  l.reviewer AS rater, l.criterion, l.value, i.batch_id, b.created_at,
                  i.is_gold, i.gold_answer::VARCHAR AS gold_answer, i.left_run_id
           FROM labels l JOIN items i USING (item_id) JOIN batches b ON b.batch_id = i.batch_id
           WHERE l.queue = ? ORDER BY l.item_id, l.reviewer""",
        [queue],
    ).df()


def queue_quality(
    store: ReviewStore, wh: Warehouse, queue: str, resamples: int = 1000, seed: int = 0, now: datetime | None = None
) -> dict[str, Any]:
    """The queue's report as a JSON-ready dict (see the module docstring)."""
    row, criteria = queue_criteria(store, queue)
    labels = _labels(wh, queue)
    overall, by_batch = {}, []
    for c in criteria:
        rows = labels[labels["criterion"] == c.key]
        if rows.empty:
            continue
        overall[c.key] = measure(rows, c, resamples, seed)
        for (batch_id, created_at), part in rows.groupby(["batch_id", "created_at"], sort=True):
            s = measure(part, c, resamples, seed)
            if "note" not in s:
                kappa = s["cohen_kappa"] if "cohen_kappa" in s else s.get("mean_pairwise_cohen_kappa")
                by_batch.append({"batch_id": batch_id, "created_at": created_at.isoformat(), "criterion": c.key,
                                 "alpha": s["krippendorff_alpha"], "alpha_ci": s["alpha_ci"], "kappa": kappa,
                                 "n_items": s["n_pairable_items"]})  # fmt: skip
    methods = dict(wh.execute("SELECT method, count(*) FROM consensus WHERE queue = ? GROUP BY ALL", [queue]))
    by_criterion: dict[str, dict[str, int]] = {}
    for key, method, n in wh.execute(
        "SELECT criterion, method, count(*) FROM consensus WHERE queue = ? GROUP BY ALL ORDER BY ALL", [queue]
    ):
        by_criterion.setdefault(key, {})[method] = n
    return {
        "queue": queue,
        "kind": row["kind"],
        "computed_at": (now or datetime.now(UTC)).isoformat(),
        "watermark": watermark(wh),  # the last submission collected: the Agreement page counts what came after
        "labels": len(labels),
        "criteria": overall,
        "by_batch": by_batch,
        "calibration": to_calibrate(overall),
        "clarity": queue_clarity(store, wh, queue, resamples, seed),  # per criterion: confused options, comments
        "rubric_ab": rubric_comparisons(store, wh, queue, resamples, seed),  # agreement before and after rubric edits
        "estimates": [e.as_dict() | {"sentence": e.sentence()} for e in outcome_estimates(wh, queue)],
        "consensus": methods,
        "consensus_by_criterion": by_criterion,  # items each method resolved, per criterion
        "consensus_policy": policy(store, queue).model_dump(),
        "backlog": len(backlog(store, queue)),
        "model": human_vs_model(wh, queue, criteria, row["suggestions"], resamples, seed),
        "pairwise": pairwise_results(wh, queue, row["config"]) if row["kind"] == "pairwise" else None,
        "biases": bias_controls(wh, queue, criteria, row, resamples, seed),
    }


def save(store: ReviewStore, wh: Warehouse, report: Mapping[str, Any]) -> None:
    """Keep a report: flat figure rows in the warehouse, the snapshot for the app in the review store."""
    at = datetime.fromisoformat(report["computed_at"])
    rows = []
    for key, s in report["criteria"].items():
        for name, figure in s.get("figures", {}).items():
            ci = figure.get("ci") or [None, None]
            rows.append([report["queue"], None, key, name, figure.get("value"), ci[0], ci[1], figure.get("n_items"),
                         figure.get("n_raters"), at])  # fmt: skip
    for b in report["by_batch"]:
        ci = b["alpha_ci"] or [None, None]
        rows.append([report["queue"], b["batch_id"], b["criterion"], "krippendorff_alpha", b["alpha"], ci[0], ci[1],
                     b["n_items"], None, at])  # fmt: skip
    with wh.transaction() as con:
        con.execute("DELETE FROM agreement WHERE queue = ?", [report["queue"]])
        if rows:
            con.executemany("INSERT INTO agreement VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    snapshot.keep(store, report)


def refresh(
    store: ReviewStore, wh: Warehouse, queue: str, reports_dir: Path, resamples: int = 1000, seed: int = 0
) -> tuple[dict[str, Any], Path]:
    """Compute, save and write a queue's report: what the CLI, the collect flow and the demo run."""
    report = queue_quality(store, wh, queue, resamples, seed)
    save(store, wh, report)
    return report, reports.write(report, reports_dir)


__all__ = ["queue_quality", "refresh", "save"]
