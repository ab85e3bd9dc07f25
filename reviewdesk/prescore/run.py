"""The prescore step: a scorer's suggestions for every item of a batch, kept in the warehouse and, for a
batch already published, pushed to the review store with the items' new review priority.

Work is split into spans of item positions (`spans`), each scored on its own (`score_span`: reads
only that span's runs, reduced in SQL to what scorers need), so a large batch never sits in memory
and the flow can score spans concurrently; `save_suggestions` then writes everything in one place
(DuckDB has one writer). Scoring again replaces a batch's suggestions, except on items a reviewer
has already taken or reviewed: those keep what was shown, so "suggestion shown" stays true to it.
Publishing carries the warehouse's suggestions to the store (`reviewdesk.review.publication`).

Pairwise batches are scored the same way, a span at a time, by a pair scorer (`score_pair_span`:
both runs of each item, for the `preference` criterion; see `reviewdesk.prescore.heuristic.PairwiseHeuristic`).
Items left without a suggestion are counted in the report's `unscored`, with the scorer's reason.

Trace and session items are scored like single items, on the run each is keyed by (the final answer), with a
failed step's error as evidence (`score_unit_span`); only their unit-level criteria get suggestions
(`reviewdesk.prescore.contracts.scorable` leaves `per_step` criteria out).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, exists, select

from reviewdesk.errors import ConfigError
from reviewdesk.prescore.contracts import PairScorer, Scorer, Suggestion
from reviewdesk.prescore.features import RUN_SELECT, RUN_SQL, runs_frame
from reviewdesk.prescore.heuristic import REASONS
from reviewdesk.prescore.priority import item_priority
from reviewdesk.sample.batches import batch_for_queue
from reviewdesk.stores.review_schema import items, reservations
from reviewdesk.stores.reviewstore import JSONText, ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig
from schemas.suggestions import SuggestionRows

CHUNK = 10_000  # items scored at a time
STAGE = "prescore_stage"  # a temporary table of the suggestions being saved
COLUMNS = ["item_id", "criterion", "value", "confidence", "model_version", "reason"]
DTYPES = {"item_id": str, "criterion": str, "value": str, "confidence": float, "model_version": str, "reason": str}
SPAN_SQL = f"""SELECT i.item_id, {RUN_SELECT} FROM items i JOIN runs r ON r.run_id = i.run_id
               WHERE i.batch_id = ? AND i.position BETWEEN ? AND ? ORDER BY i.position"""
PAIR_SQL = {side: SPAN_SQL.replace("r.run_id = i.run_id", f"r.run_id = i.run_{side}") for side in "ab"}
# A trace or session item is scored on the run it is keyed by (a trace's root, a session's last turn: the final
# answer), but with the status and error of the unit's first failed step when that run itself did not fail, so
# a tool call or retrieval that failed is the error rule's evidence. The last column says a step failed.
_UNIT_FIELDS = {**RUN_SQL, "status": "CASE WHEN f.error IS NULL THEN r.status ELSE 'error' END",
                "error": "coalesce(r.error, f.error)"}  # fmt: skip
UNIT_SPAN_SQL = f"""
    WITH span AS (SELECT item_id, position, run_id, unit, unit_id FROM items
                  WHERE batch_id = ? AND position BETWEEN ? AND ?),
    steps AS (SELECT s.item_id, r.status, r.error, r.start_time FROM span s
              JOIN runs root ON root.run_id = s.run_id AND s.unit = 'trace' JOIN runs r ON r.trace_id = root.trace_id
              UNION ALL
              SELECT s.item_id, r.status, r.error, r.start_time FROM span s
              JOIN runs r ON s.unit = 'session' AND r.session_id = s.unit_id),
    failed AS (SELECT item_id, arg_min(coalesce(error, 'status ' || status), start_time) AS error FROM steps
               WHERE status = 'error' GROUP BY item_id)
    SELECT s.item_id, {", ".join(f"{sql} AS {name}" for name, sql in _UNIT_FIELDS.items())},
           f.error IS NOT NULL AND r.status IS DISTINCT FROM 'error' AS step_failed
    FROM span s JOIN runs r ON r.run_id = s.run_id LEFT JOIN failed f USING (item_id) ORDER BY s.position
"""
STEP_FAILED = "A step of the {unit} ended with an error"  # the reason when the error rule fires on a step


SpanScore = Callable[[Any, tuple[int, int]], pd.DataFrame]  # (DuckDB connection, span) -> suggestions
SpanRunner = Callable[[SpanScore, list[tuple[int, int]]], Iterable[pd.DataFrame]]


@dataclass
class PrescoreReport:
    """What one prescore did: `scored` items got suggestions; `kept` ones under review were left as they were."""

    batch_id: str
    queue: str
    scorer: str | None
    items: int
    scored: int = 0
    suggestions: int = 0
    kept: int = 0
    pushed: int = 0  # published items whose suggestions and priority were updated in the review store
    versions: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    note: str = ""
    unscored: dict[str, int] = field(default_factory=dict)  # reason -> items scored now that got no suggestion

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def spans(wh: Warehouse, batch_id: str, chunk: int = CHUNK) -> list[tuple[int, int]]:
    """The batch's item positions (1..n) in inclusive spans of `chunk`."""
    n = wh.scalar("SELECT coalesce(max(position), 0) FROM items WHERE batch_id = ?", [batch_id])
    return [(lo, min(lo + chunk - 1, n)) for lo in range(1, n + 1, chunk)]


def score_span(con: Any, scorer: Scorer, batch_id: str, span: tuple[int, int]) -> pd.DataFrame:
    """Suggestions for the single-run items of one span: a frame of COLUMNS, `value` as JSON text.

    `con` is a DuckDB connection: a flow scoring spans in threads gives each its own cursor.
    """
    rows = con.execute(SPAN_SQL, [batch_id, *span]).fetchall()
    scored = scorer.score(runs_frame([r[1:] for r in rows])) if rows else []
    return _frame([r[0] for r in rows], scored)


def score_unit_span(con: Any, scorer: Scorer, batch_id: str, span: tuple[int, int]) -> pd.DataFrame:
    """Suggestions for the trace or session items of one span (UNIT_SPAN_SQL), as `score_span`; a suggestion
    the error rule made on a failed step, not on the final answer, says so in its reason."""
    rows = con.execute(UNIT_SPAN_SQL, [batch_id, *span]).fetchall()
    scored = scorer.score(runs_frame([r[1:-1] for r in rows])) if rows else []
    units = dict(con.execute("SELECT item_id, unit FROM items WHERE batch_id = ? AND position BETWEEN ? AND ?",
                             [batch_id, *span]).fetchall())  # fmt: skip
    for row, suggestions in zip(rows, scored, strict=True):
        if row[-1]:
            reason = STEP_FAILED.format(unit=units[row[0]])
            for key, s in suggestions.items():
                if s.reason == REASONS[0].capitalize():
                    suggestions[key] = replace(s, reason=reason)
    return _frame([r[0] for r in rows], scored)


def score_pair_span(con: Any, scorer: PairScorer, batch_id: str, span: tuple[int, int]) -> pd.DataFrame:
    """Suggestions for the pairwise items of one span (both runs of each read side by side), as `score_span`."""
    a, b = (con.execute(PAIR_SQL[side], [batch_id, *span]).fetchall() for side in "ab")
    if [r[0] for r in a] != [r[0] for r in b]:
        lost = sorted({r[0] for r in a} ^ {r[0] for r in b})
        raise ValueError(f"Items {', '.join(lost[:5])} of batch {batch_id} name a run the warehouse lacks.")
    scored = scorer.score_pairs(runs_frame([r[1:] for r in a]), runs_frame([r[1:] for r in b])) if a else []
    return _frame([r[0] for r in a], scored)


def _frame(item_ids: list[str], scored: list[dict[str, Suggestion]]) -> pd.DataFrame:
    out = [
        (item_id, key, json.dumps(s.value), float(s.confidence), s.model_version, s.reason)
        for item_id, suggestions in zip(item_ids, scored, strict=True)
        for key, s in suggestions.items()
    ]
    return pd.DataFrame(out, columns=COLUMNS).astype(DTYPES)  # typed even when empty


def prescore_batch(
    wh: Warehouse,
    queue: QueueConfig,
    batch_id: str,
    scorer: Scorer | PairScorer | None,
    store: ReviewStore | None = None,
    chunk: int = CHUNK,
    now: datetime | None = None,
    tick: Callable[[int], None] | None = None,
    run_spans: SpanRunner | None = None,
) -> PrescoreReport:
    """Score every item of the batch and keep the suggestions (pushed to the store too once published).

    `tick(n)` hears how many items are scored after each span. `run_spans(score, spans)` may score the
    spans concurrently (the flow maps them over Prefect tasks): it must call `score(con, span)` once per
    span, each with a DuckDB connection of its own thread (`wh.con.cursor()`), and yield the frames.
    """
    batch = batch_for_queue(wh, queue, batch_id)
    report = PrescoreReport(batch_id, queue.name, scorer.name if scorer else None, batch.item_count)
    if scorer is None:
        report.note = "the scorer is `none`: no suggestions"
        return report
    pairwise = queue.kind == "pairwise"
    if pairwise and not hasattr(scorer, "score_pairs"):
        report.note = f"pairwise items are not pre-scored by {scorer.name}: it judges one run at a time"
        return report
    if not pairwise and not hasattr(scorer, "score"):
        report.note = f"single items are not pre-scored by {scorer.name}: it judges pairs of runs"
        return report

    def score(con: Any, span: tuple[int, int]) -> pd.DataFrame:
        if pairwise:
            return score_pair_span(con, scorer, batch_id, span)
        if queue.unit != "run":
            return score_unit_span(con, scorer, batch_id, span)
        return score_span(con, scorer, batch_id, span)

    def in_turn(score: SpanScore, todo: list[tuple[int, int]]) -> Iterator[pd.DataFrame]:
        for span in todo:
            yield score(wh.con, span)
            if tick:
                tick(span[1])

    frames = (run_spans or in_turn)(score, spans(wh, batch_id, chunk))
    report = save_suggestions(wh, queue, batch_id, scorer.name, frames, store, report, now)
    report.versions, report.warnings = scorer.versions(), list(scorer.warnings)
    if pairwise and (missing := report.items - report.scored - report.kept) > 0:
        report.unscored = {scorer.no_suggestion: missing}
    return report


def save_suggestions(
    wh: Warehouse,
    queue: QueueConfig,
    batch_id: str,
    scorer: str,
    frames: Iterable[pd.DataFrame],
    store: ReviewStore | None,
    report: PrescoreReport,
    now: datetime | None = None,
) -> PrescoreReport:
    """Validate each span's suggestions into a staging table as they come, then write them: the review store
    first (published batches), then the warehouse, leaving items under review as they were in both."""
    now = now or datetime.now(UTC)
    con = wh.con
    con.execute(f"CREATE OR REPLACE TEMP TABLE {STAGE} (item_id VARCHAR, criterion VARCHAR, value VARCHAR, "
                "confidence DOUBLE, model_version VARCHAR, reason VARCHAR)")  # fmt: skip
    try:
        for frame in frames:
            con.register("span_suggestions", SuggestionRows.validate(frame[COLUMNS]))
            con.execute(f"INSERT INTO {STAGE} SELECT {', '.join(COLUMNS)} FROM span_suggestions")
            con.unregister("span_suggestions")
        kept: set[str] = set()
        published = wh.scalar("SELECT published_at FROM batches WHERE batch_id = ?", [batch_id]) is not None
        if published or (store is not None and store.batch(batch_id) is not None):
            if store is None:
                raise ConfigError(
                    f"Batch {batch_id} is published: pre-scoring it again must update the review store too. "
                    "Run it through `reviewdesk prescore`, which opens both stores."
                )
            kept, report.pushed = push_to_store(wh, store, queue, batch_id)
        with wh.transaction() as tx:
            tx.register("kept_items", pd.DataFrame({"item_id": sorted(kept)}, dtype=str))
            tx.execute(f"DELETE FROM {STAGE} WHERE item_id IN (SELECT item_id FROM kept_items)")
            tx.execute(
                "DELETE FROM suggestions WHERE batch_id = ? AND item_id NOT IN (SELECT item_id FROM kept_items)",
                [batch_id],
            )
            tx.unregister("kept_items")
            tx.execute(
                f"""INSERT INTO suggestions (item_id, batch_id, queue, criterion, value, confidence, model_version,
                                             scorer, scored_at, reason)
                    SELECT item_id, ?, ?, criterion, value::JSON, confidence, model_version, ?, ?, reason
                    FROM {STAGE}""",
                [batch_id, queue.name, scorer, now],
            )
            report.suggestions, report.scored = tx.execute(
                f"SELECT count(*), count(DISTINCT item_id) FROM {STAGE}"
            ).fetchone()
        report.kept = len(kept)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {STAGE}")
    return report


_UNTOUCHED = (  # items no reviewer has taken or reviewed: their suggestions may still change
    select(items.c.item_id)
    .where(items.c.batch_id == bindparam("batch_id"), items.c.reviews_done == 0)
    .where(~exists().where(reservations.c.item_id == items.c.item_id))
)
_UPDATE = (
    items.update()
    .where(items.c.item_id == bindparam("b_item_id"))
    .values(suggestions=bindparam("b_suggestions", type_=items.c.suggestions.type), priority=bindparam("b_priority"))
)
# The staged suggestions per item, as the review store keeps them, with the least confidence. A merge patch
# adds the reason only where there is one (a null in the patch adds no key).
_STAGED = f"""
    SELECT item_id, json_group_object(criterion, json_merge_patch(
               json_object('value', value::JSON, 'confidence', confidence, 'model_version', model_version),
               json_object('reason', reason)))::VARCHAR,
           min(confidence)
    FROM {STAGE} GROUP BY item_id ORDER BY item_id
"""


def push_to_store(wh: Warehouse, store: ReviewStore, queue: QueueConfig, batch_id: str) -> tuple[set[str], int]:
    """Give the published batch's untouched items the staged suggestions and their priority, in one store
    write transaction; return the items left as they were (taken or reviewed) and how many were updated."""
    with store.write() as conn:
        batch = store.batch(batch_id, conn)
        if batch is None:
            raise ConfigError(f"Batch {batch_id} is not in the review store: publish it with `reviewdesk publish`.")
        every = set(conn.scalars(select(items.c.item_id).where(items.c.batch_id == batch_id)))
        untouched = set(conn.scalars(_UNTOUCHED, {"batch_id": batch_id}))
        at, policy, done = batch["published_at"], queue.priority, set()
        result = wh.con.execute(_STAGED)
        while rows := result.fetchmany(CHUNK):
            updates = [{"b_item_id": item_id, "b_suggestions": JSONText(suggestions),
                        "b_priority": item_priority(policy, item_id, at, confidence)}
                       for item_id, suggestions, confidence in rows if item_id in untouched]  # fmt: skip
            if updates:
                conn.execute(_UPDATE, updates)
            done.update(u["b_item_id"] for u in updates)
        rest = [{"b_item_id": i, "b_suggestions": None, "b_priority": item_priority(policy, i, at, None)}
                for i in sorted(untouched - done)]  # fmt: skip
        if rest:
            conn.execute(_UPDATE, rest)
    return every - untouched, len(untouched)


__all__ = [
    "CHUNK",
    "PrescoreReport",
    "prescore_batch",
    "push_to_store",
    "save_suggestions",
    "score_pair_span",
    "score_span",
    "score_unit_span",
    "spans",
]
