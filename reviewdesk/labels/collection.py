"""Collect: read new submissions from the review store, validate them, load labels into the warehouse.

Collect reads submissions in a fixed order after a watermark, in chunks. Each chunk's labels,
rejections and the advanced watermark are written in ONE warehouse transaction, so a crash loses
nothing and a rerun duplicates nothing: what was not committed is read again.

The order must be one that no later commit can fall behind: once collect has read past a place,
no submission may ever appear before it. Time (`submitted_at`) is no such order (a reviewer's clock
is read before the write lock, so a lower id can carry a later time), and neither is an id alone
on PostgreSQL. So collect never filters on time, and:

- On SQLite, one writer at a time hands out ids (AUTOINCREMENT: never reused) and commits inside
  the write lock, so ids are in commit order and a reader's snapshot holds every id below the
  highest it sees, except rolled-back ones, which never come back. The order is the id.
- On PostgreSQL, ids come from a sequence before commit: a reader can see id 437 committed while
  436 is still in flight. Each row records the transaction that wrote it (`txid`, defaulting to
  `pg_current_xact_id()`), and the order is (txid, id). Collect reads only rows whose txid is below
  the xmin of a snapshot taken just before it reads (`pg_snapshot_xmin(pg_current_snapshot())`, the
  oldest transaction still running): every transaction below it has committed, and is visible to
  the read, or rolled back, so no row can still appear there. A transaction that takes its id
  early and commits late holds xmin at or below its id until it ends, so collect waits for it
  rather than pass it. The cost: while some transaction (any, in the whole cluster) stays open,
  submissions written after it began wait for it.

Each submission is checked (pandera, `schemas.answers`) against the rubric version it was made
under. A flag-only submission (a flag with a reason and no answer, `reviewdesk.review.drafts`) is
valid where its queue's `flag_instead_of_rating` allows it: it is stored marked `flag_only` and
gives no labels (so consensus, agreement and promotion never see it), and it is counted apart;
where the queue does not allow it, it is rejected like any submission missing required answers.
A valid one becomes one label per answered criterion, replacing that reviewer's labels of
the item from an earlier revision (by revision number, not by read order: on PostgreSQL an edit
can be read before the revision it replaces); an invalid one is kept in `rejected_submissions`
with every reason. Each label carries what the reviewer did with the criterion's pre-selected
suggestion (`suggestion_outcome`: accepted, changed or left; NULL where none was pre-selected, or the
submission names no valid outcome), so the quality report can measure anchoring.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pandera.pandas as pa
from sqlalchemy import Connection, select, text, tuple_

from reviewdesk.review.drafts import allows_flag_only, flag_only
from reviewdesk.review.units import per_step_problems, step_rows
from reviewdesk.stores.review_schema import items, submissions
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.values import as_number, as_text
from reviewdesk.stores.warehouse import Warehouse
from schemas.answers import META, answer_keys, answers_schema
from schemas.suggestions import OUTCOMES

SOURCE = "review_store"
CHUNK = 20_000
HORIZON = text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")  # PostgreSQL: see the module doc


@dataclass(frozen=True)
class CollectResult:
    """What one collect run did: `read == loaded + rejected` always; `flag_only` of the loaded ones carry
    a flag instead of ratings (no labels)."""

    read: int
    loaded: int  # valid submissions
    rejected: int
    labels: int  # label rows written
    watermark: int  # the last submission id read
    flag_only: int = 0  # valid submissions that flag the item instead of rating it

    def as_dict(self) -> dict:
        return asdict(self)


def watermark(wh: Warehouse) -> int:
    """The id of the last submission collected, in collect order (0 before the first run)."""
    return _position(wh)[1]


def _position(wh: Warehouse) -> tuple[int, int]:
    """(txid, submission id) of the last submission collected: where the next read starts."""
    row = wh.execute("SELECT txid, watermark FROM collect_state WHERE source = ?", [SOURCE])
    return row[0] if row else (0, 0)


def _after(conn: Connection, position: tuple[int, int]) -> tuple[list, list]:
    """The filter and order of the submissions after `position` that no later commit can precede."""
    if conn.dialect.name == "sqlite":  # ids are in commit order
        return [submissions.c.submission_id > position[1]], [submissions.c.submission_id]
    order = [submissions.c.txid, submissions.c.submission_id]  # only finished transactions' rows
    return [tuple_(*order) > tuple_(*position), submissions.c.txid < conn.scalar(HORIZON)], order


def _read(store: ReviewStore, position: tuple[int, int], limit: int) -> list[dict]:
    with store.read() as conn:
        where, order = _after(conn, position)
        query = (
            select(submissions, items.c.queue, items.c.kind, items.c.run_a, items.c.run_b)
            .join(items, items.c.item_id == submissions.c.item_id)
            .where(*where)
            .order_by(*order)
            .limit(limit)
        )
        return [dict(r) for r in conn.execute(query).mappings()]


def _payloads(store: ReviewStore, item_ids: set[str]) -> dict[str, Any]:
    """The review store payloads of these items (their steps), read only for rubrics with per-step criteria."""
    with store.read() as conn:
        query = select(items.c.item_id, items.c.payload).where(items.c.item_id.in_(sorted(item_ids)))
        return dict(conn.execute(query).all())


def _reason(row: pd.Series) -> str:
    if row["schema_context"] == "DataFrameSchema":
        return str(row["check"])
    if row["check"] == "not_nullable":
        return f"{row['column']}: required, but not answered"
    return f"{row['column']}: {row['failure_case']!r} {row['check']}"


NOT_ALLOWED = "flagged instead of rated, but this queue's flag_instead_of_rating is false: answer the required criteria"


def _stepped(rubric: Mapping[str, Any]) -> list[dict]:
    """The rubric's per-step criteria (answered once per step of a trace or session)."""
    return [c for c in rubric["criteria"] if c.get("per_step")]


def validate(
    rows: list[dict],
    rubric: Mapping[str, Any],
    kind: str,
    flag_instead: bool = True,
    payloads: Mapping[str, Any] | None = None,
) -> dict[int, list[str]]:
    """Reasons per submission id for those that break the rubric; valid ones are absent. A flag-only
    submission is valid when `flag_instead` (the queue's `flag_instead_of_rating`) allows it. A per-step
    criterion's answer is checked against its item's steps (`payloads`: item_id -> payload)."""
    stepped, payloads = _stepped(rubric), payloads or {}
    keys = answer_keys(rubric, kind)
    reasons: dict[int, list[str]] = {}
    flagged = {r["submission_id"] for r in rows if flag_only(r["answers"], r.get("flags"))}
    if not flag_instead:
        reasons |= {sid: [NOT_ALLOWED] for sid in flagged}
    for r in rows:
        if not isinstance(r["answers"], dict):
            reasons[r["submission_id"]] = ["answers must be an object of criterion: value"]
        elif unknown := sorted(set(r["answers"]) - set(keys)):
            reasons.setdefault(r["submission_id"], []).extend(
                f"{k}: not a criterion of rubric {r['rubric_version']}" for k in unknown
            )
    skip = flagged if flag_instead else set()  # a flag-only submission the queue allows has no answers to check
    checked = [r for r in rows if isinstance(r["answers"], dict) and r["submission_id"] not in skip]
    for r in checked if stepped else ():
        if found := per_step_problems(stepped, payloads.get(r["item_id"]), r["answers"]):
            reasons.setdefault(r["submission_id"], []).extend(found)
    if stepped:  # the plain criteria are checked as before; each step's value was checked above
        rubric = {**rubric, "criteria": [c for c in rubric["criteria"] if not c.get("per_step")]}
        keys = answer_keys(rubric, kind)
    if not checked:
        return reasons
    frame = pd.DataFrame(
        [[r["answers"].get(k) for k in keys] + [r[m] for m in META] for r in checked],
        columns=[*keys, *META],
        index=[r["submission_id"] for r in checked],
        dtype=object,
    )
    try:
        answers_schema(rubric, kind).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as e:
        cases = e.failure_cases
        for sid, reason in dict.fromkeys(zip(cases["index"], cases.apply(_reason, axis=1), strict=True)):
            reasons.setdefault(int(sid), []).append(reason)
    return reasons


def _outcome(row: Mapping[str, Any], key: str) -> str | None:
    """What the reviewer did with the criterion's pre-selected suggestion, if the submission validly says."""
    outcomes = row.get("suggestion_outcomes")
    outcome = outcomes.get(key) if isinstance(outcomes, dict) else None
    return outcome if outcome in OUTCOMES else None


def _label_rows(valid: Iterable[dict]) -> list[dict]:
    """One row per answered criterion of each item x reviewer's latest valid revision; a per-step criterion
    (its pairs in `step_answers`) one per answered step, keyed by the step's run id ('' for the whole item)."""
    latest: dict[tuple[str, str], dict] = {}
    for r in valid:
        key = (r["item_id"], r["reviewer"])
        if key not in latest or r["revision"] > latest[key]["revision"]:
            latest[key] = r
    return [
        {
            "item_id": r["item_id"], "queue": r["queue"], "reviewer": r["reviewer"], "criterion": key,
            "value": as_text(value), "value_num": as_number(value), "submission_id": r["submission_id"],
            "revision": r["revision"], "rubric_version": r["rubric_version"],
            "suggestion_shown": r["suggestion_shown"], "submitted_at": r["submitted_at"],
            "suggestion_outcome": _outcome(r, key), "step_run_id": step_run_id,
        }
        for r in latest.values()
        for key, answer in r["answers"].items()
        for step_run_id, value in (r.get("step_answers") or {}).get(key, [("", answer)])
        if value is not None
    ]  # fmt: skip


SUBMISSION_COLUMNS = ["submission_id", "item_id", "queue", "reviewer", "revision", "rubric_version", "answers",
                      "comment", "correction", "flags", "suggestion_shown", "shown_at", "submitted_at",
                      "flag_only", "suggestion_outcomes"]  # fmt: skip
LABEL_COLUMNS = ["item_id", "queue", "reviewer", "criterion", "value", "value_num", "submission_id", "revision",
                 "rubric_version", "suggestion_shown", "submitted_at", "suggestion_outcome", "step_run_id"]  # fmt: skip
REJECTED_COLUMNS = ["submission_id", "item_id", "queue", "reviewer", "revision", "rubric_version", "answers",
                    "reasons", "submitted_at"]  # fmt: skip


def _frame(rows: list[dict], columns: list[str], json_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    for c in json_columns:
        frame[c] = [None if v is None else json.dumps(v) for v in frame[c]]
    return frame


def _load(wh: Warehouse, rows: list[dict], reasons: dict[int, list[str]], now: datetime) -> tuple[int, int]:
    """Write one chunk and its watermark in one transaction; returns the label rows and the flag-only
    submissions written."""
    valid = [{**r, "flag_only": flag_only(r["answers"], r["flags"])} for r in rows if r["submission_id"] not in reasons]
    rejected = [{**r, "reasons": reasons[r["submission_id"]]} for r in rows if r["submission_id"] in reasons]
    new_submissions = _frame(valid, SUBMISSION_COLUMNS, ("answers", "correction", "flags"))
    new_submissions["suggestion_outcomes"] = [
        None if v is None else json.dumps(v) for v in new_submissions["suggestion_outcomes"]
    ]  # NULL: none pre-selected
    new_labels = _frame(_label_rows(valid), LABEL_COLUMNS)
    new_rejected = _frame(rejected, REJECTED_COLUMNS, ("answers",))
    with wh.transaction() as con:
        con.register("new_submissions", new_submissions)
        con.register("new_labels", new_labels)
        con.register("new_rejected", new_rejected)
        into = ", ".join(SUBMISSION_COLUMNS)
        con.execute(f"INSERT INTO submissions ({into}, collected_at) SELECT {into}, ? FROM new_submissions", [now])
        con.execute(  # a later revision replaces all of an earlier one's labels ...
            """DELETE FROM labels USING new_submissions n
               WHERE labels.item_id = n.item_id AND labels.reviewer = n.reviewer AND labels.revision < n.revision"""
        )
        con.execute(  # ... and an earlier one read late (PostgreSQL) adds none
            f"""INSERT INTO labels ({", ".join(LABEL_COLUMNS)}) SELECT {", ".join(LABEL_COLUMNS)} FROM new_labels l
                WHERE NOT EXISTS (
                    SELECT 1 FROM submissions s
                    WHERE s.item_id = l.item_id AND s.reviewer = l.reviewer AND s.revision > l.revision)"""
        )
        con.execute(
            f"INSERT INTO rejected_submissions SELECT {', '.join(REJECTED_COLUMNS)}, ? FROM new_rejected", [now]
        )
        con.execute(
            "INSERT OR REPLACE INTO collect_state (source, watermark, txid, updated_at) VALUES (?, ?, ?, ?)",
            [SOURCE, rows[-1]["submission_id"], rows[-1]["txid"], now],
        )
        for name in ("new_submissions", "new_labels", "new_rejected"):
            con.unregister(name)
    return len(new_labels), int(new_submissions["flag_only"].sum())


def collect(
    store: ReviewStore,
    wh: Warehouse,
    now: datetime | None = None,
    chunk: int = CHUNK,
    tick: Callable[[int], None] | None = None,
) -> CollectResult:
    """Collect every submission after the watermark, stamped `now`; `tick(read so far)` reports progress."""
    now = now or datetime.now(UTC)
    read = rejected = labels = flagged = 0
    rubrics: dict[tuple[str, str], dict] = {}
    flag_instead: dict[str, bool] = {}
    while rows := _read(store, _position(wh), chunk):
        reasons: dict[int, list[str]] = {}
        groups: dict[tuple[str, str, str], list[dict]] = {}
        for r in rows:
            groups.setdefault((r["queue"], r["rubric_version"], r["kind"]), []).append(r)
        for (queue, version, kind), group in groups.items():
            if (queue, version) not in rubrics:
                rubrics[(queue, version)] = store.rubric(queue, version)
            if queue not in flag_instead:
                flag_instead[queue] = allows_flag_only(store.queue(queue) or {})
            rubric = rubrics[(queue, version)]
            payloads = _payloads(store, {r["item_id"] for r in group}) if _stepped(rubric) else {}
            reasons |= validate(group, rubric, kind, flag_instead[queue], payloads)
            for r in group if payloads else ():
                if r["submission_id"] not in reasons and isinstance(r["answers"], dict):
                    r["step_answers"] = {c["key"]: step_rows(c, payloads.get(r["item_id"]), r["answers"].get(c["key"]))
                                         for c in _stepped(rubric)}  # fmt: skip
        written, flag_only_written = _load(wh, rows, reasons, now)
        labels, flagged = labels + written, flagged + flag_only_written
        read, rejected = read + len(rows), rejected + len(reasons)
        if tick:
            tick(read)
    return CollectResult(read, read - rejected, rejected, labels, watermark(wh), flagged)


__all__ = ["CollectResult", "collect", "validate", "watermark"]
