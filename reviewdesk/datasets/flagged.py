"""Product issues for product owners: items reviewers flagged, and decisions a lead routed to product owners.

Written by every promotion to `data/reports/flagged-<queue>.csv` and `.md` (the current list,
replaced each time): one row per flag or decision, with the runs (ids, trace ids and, when the
queue's `promotion.run_url` is set, links), the question and answer, and the item's consensus.
Both files are written whole (temp file, then rename) and escape every run- and reviewer-derived
value for their format (`reviewdesk.quality.report_text`): product owners open them.
A flag removed in a later revision no longer counts, nor one a lead resolved as "not an issue";
a resolved flag carries the lead's category and note (`reviewdesk.review.triage`). A decision counts
when the lead ticked "Route to product owners" (`adjudications.product_issue`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from reviewdesk.datasets.formats import answer_text, input_messages
from reviewdesk.quality.report_text import csv_cell, md_link, md_text, url_part
from reviewdesk.review.oversight import flagged_items
from reviewdesk.review.triage import DISMISSED, describe
from reviewdesk.stores.files import write_text
from reviewdesk.stores.review_schema import adjudications, items
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.promotion import ProductIssues
from schemas.queue import QueueConfig

COLUMNS = [
    "queue",
    "item_id",
    "source",
    "by",
    "reasons",
    "comment",
    "resolution",
    "consensus",
    "run_ids",
    "trace_ids",
    "models",
    "links",
    "question",
    "answers",
    "at",
]
EXCERPT = 300  # characters of a question or answer in the report


@dataclass(frozen=True)
class FlaggedReport:
    queue: str
    issues: int
    csv: str
    markdown: str

    def as_dict(self) -> dict:
        return asdict(self)


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def _routed_decisions(store: ReviewStore, queue: str) -> list[dict[str, Any]]:
    a = adjudications.c
    query = (
        select(
            a.item_id,
            a.criterion,
            a.value,
            a.reason,
            a.decided_by,
            a.decided_at,
            items.c.run_id,
            items.c.run_a,
            items.c.run_b,
        )
        .join(items, items.c.item_id == a.item_id)
        .where(a.queue == queue, a.decided_at.is_not(None), a.product_issue)
        .order_by(a.decided_at.desc(), a.item_id)
    )
    with store.read() as conn:
        return [
            {
                "item_id": r["item_id"],
                "source": "adjudication",
                "by": r["decided_by"],
                "reasons": [f"{r['criterion']} = {r['value']}: {r['reason']}"],
                "comment": None,
                "resolution": "",
                "run_ids": [x for x in (r["run_id"], r["run_a"], r["run_b"]) if x],
                "at": r["decided_at"],
            }
            for r in conn.execute(query).mappings()
        ]



def issues(store: ReviewStore, wh: Warehouse, queue: QueueConfig) -> list[dict[str, Any]]:
    """The queue's product issues, newest first, as rows with the COLUMNS keys."""
    rules = queue.promotion.product_issues if queue.promotion else ProductIssues()
    found = []
    if rules.flags:
        found += [
            {
                "item_id": f.item_id,
                "source": "reviewer flag",
                "by": f.reviewer,
                "reasons": f.reasons,
                "comment": f.comment,
                "resolution": describe(f.resolution),
                "run_ids": f.run_ids,
                "at": f.submitted_at,
            }
            for f in flagged_items(store, queue.name)
            if f.resolution is None or f.resolution["category"] != DISMISSED
        ]
    if rules.adjudications:
        found += _routed_decisions(store, queue.name)
    if not found:
        return []
    run_ids = sorted({r for f in found for r in f["run_ids"]})
    runs = {
        r[0]: r[1:]
        for r in wh.execute(
            "SELECT run_id, trace_id, model, inputs::VARCHAR, outputs::VARCHAR FROM runs "
            "WHERE run_id IN (SELECT unnest(?))",
            [run_ids],
        )
    }
    consensus: dict[str, list[str]] = {}
    for item_id, criterion, value, method in wh.execute(
        "SELECT item_id, criterion, value, method FROM consensus WHERE queue = ? AND item_id IN (SELECT unnest(?)) "
        "ORDER BY item_id, criterion",
        [queue.name, sorted({f["item_id"] for f in found})],
    ):
        consensus.setdefault(item_id, []).append(f"{criterion} = {value} ({method})")
    url = queue.promotion.run_url if queue.promotion else None
    out = []
    for f in sorted(found, key=lambda f: (f["at"], f["item_id"]), reverse=True):
        known = [runs.get(r, (None, None, None, None)) for r in f["run_ids"]]
        messages = input_messages(known[0][2]) if known and known[0][2] else []
        question = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        links = [
            url.format(run_id=url_part(r), trace_id=url_part(k[0] or "")) if url else ""
            for r, k in zip(f["run_ids"], known, strict=True)
        ]
        out.append(
            {
                **f,
                "queue": queue.name,
                "consensus": consensus.get(f["item_id"], []),
                "trace_ids": [k[0] for k in known],
                "models": [k[1] for k in known],
                "links": links,
                "question": _excerpt(question),
                "answers": [_excerpt(answer_text(k[3])) for k in known],
            }
        )
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " | ".join(str(v) for v in value)
    return value.isoformat() if isinstance(value, datetime) else str(value)


def to_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows as CSV, every cell quoted and safe to open in a spreadsheet (no formula runs)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(COLUMNS)
    writer.writerows([csv_cell(_cell(r[c])) for c in COLUMNS] for r in rows)
    return buf.getvalue()


def _md(values: Sequence[Any], sep: str = ", ") -> str:
    return sep.join(md_text(v) for v in values if v)


def to_markdown(queue: str, rows: Sequence[Mapping[str, Any]], now: datetime) -> str:
    """The rows as a Markdown document; every run- or reviewer-derived value is escaped (`md_text`)."""
    lines = [
        f"# Product issues: {md_text(queue)}",
        "",
        f"{len(rows)} review{'' if len(rows) == 1 else 's'} flagged, or decided and routed to product owners, as of "
        f"{now:%Y-%m-%d %H:%M} UTC; newest first.",
        "",
    ]
    if not rows:
        return "\n".join([*lines, "Nothing flagged.", ""])
    for r in rows:
        runs = [
            md_link(run, link) if link else md_text(run) + (f" (trace {md_text(trace)})" if trace else "")
            for run, trace, link in zip(r["run_ids"], r["trace_ids"], r["links"], strict=True)
        ]
        lines += [
            f"## {md_text(r['item_id'])}: {_md(r['reasons'], '; ') or 'flagged'}",
            "",
            f"- **{md_text(r['source'])}** by {md_text(r['by'])} at {_cell(r['at'])}",
            f"- runs: {', '.join(runs)}" + (f" ({_md(r['models'])})" if any(r["models"]) else ""),
            f"- consensus: {_md(r['consensus']) or 'not resolved yet'}",
        ]
        if r["comment"]:
            lines.append(f"- comment: {md_text(r['comment'])}")
        if r["resolution"]:
            lines.append(f"- resolution: {md_text(r['resolution'])}")
        lines += ["", f"> **Customer:** {md_text(r['question'])}"]
        lines += [
            f"> **Answer{' ' + 'AB'[i] if len(r['answers']) > 1 else ''}:** {md_text(a)}"
            for i, a in enumerate(r["answers"])
        ]
        lines.append("")
    return "\n".join(lines)


def write_flagged(
    store: ReviewStore, wh: Warehouse, queue: QueueConfig, reports_dir: Path, now: datetime
) -> FlaggedReport:
    """Write the queue's product-issues report as CSV and Markdown; return where, and how many issues."""
    rows = issues(store, wh, queue)
    csv_path, md_path = reports_dir / f"flagged-{queue.name}.csv", reports_dir / f"flagged-{queue.name}.md"
    write_text(csv_path, to_csv(rows))
    write_text(md_path, to_markdown(queue.name, rows, now))
    return FlaggedReport(queue.name, len(rows), str(csv_path), str(md_path))


__all__ = ["COLUMNS", "FlaggedReport", "issues", "to_csv", "to_markdown", "write_flagged"]
