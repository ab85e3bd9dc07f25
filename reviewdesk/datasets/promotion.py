"""Promote a queue: its promotion rules applied to the current consensus, as new dataset versions.

For each dataset rule of the queue (its YAML `promotion:` section):
1. the agreement gate: every criterion the rule relies on must have the queue's overall agreement
   figure (`warehouse.agreement`, batch_id NULL) at or above the gate's minimum, else the dataset
   is blocked and the result says which figure fell short or is missing;
2. examples from every resolved item of the queue (`reviewdesk.datasets.examples`), deduplicated by
   normalized input, and merged with the rows other queues contributed to the same dataset; an item
   whose run payload cannot be read (e.g. nested too deeply, ingested before the limits), or whose trace
   or session cannot be rebuilt from the warehouse (`reviewdesk.datasets.runs`), is skipped with its
   reason, and the other items and datasets promote as usual;
3. a new version only if the rows differ from the latest version's (by content hash).

A promotion also writes the queue's flagged report (`reviewdesk.datasets.flagged`) for product owners.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from reviewdesk.config import Settings
from reviewdesk.datasets import read
from reviewdesk.datasets.examples import BUILDERS, Candidate, Consensus, Correction, Item, used_criteria
from reviewdesk.datasets.flagged import FlaggedReport, write_flagged
from reviewdesk.datasets.formats import answer_text
from reviewdesk.datasets.runs import item_runs, unit_runs
from reviewdesk.datasets.versioning import CandidateVersion, adopt, changes, seal, write_version
from reviewdesk.errors import ConfigError, NotFound
from reviewdesk.stores.review_schema import adjudications
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.values import typed
from reviewdesk.stores.warehouse import Warehouse
from schemas.promotion import AgreementGate, DatasetRule
from schemas.queue import QueueConfig
from schemas.rubric import PREFERENCE_CRITERION, Criterion


@dataclass(frozen=True)
class DatasetResult:
    """What one promotion did to one dataset."""

    dataset: str
    kind: str
    queue: str
    status: str  # created | unchanged | blocked | empty
    version: int | None  # the version written, or the latest one when nothing changed
    rows: int = 0
    added: int = 0
    removed: int = 0
    changed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # items passed over, by reason
    reason: str | None = None  # why it was blocked or is empty
    path: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PromotionResult:
    queue: str
    datasets: list[DatasetResult]
    flagged: FlaggedReport | None

    def as_dict(self) -> dict:
        return {
            "queue": self.queue,
            "datasets": [d.as_dict() for d in self.datasets],
            "flagged": self.flagged.as_dict() if self.flagged else None,
        }


def _criteria(store: ReviewStore, queue: QueueConfig, version: str) -> dict[str, Criterion]:
    rubric = store.rubric(queue.name, version)
    if rubric is None and version != queue.rubric_version:
        raise NotFound(f"Rubric {version} of {queue.name!r} is not in the review store: publish its batch again.")
    criteria = [Criterion(**c) for c in rubric["criteria"]] if rubric else list(queue.rubric.criteria)
    return {c.key: c for c in ([PREFERENCE_CRITERION] if queue.kind == "pairwise" else []) + criteria}


def gather(store: ReviewStore, wh: Warehouse, queue: QueueConfig, corrections: bool = True) -> list[Item]:
    """Every item of the queue with consensus: its runs (and unit), consensus (and per-step consensus),
    reviewers, corrections and decisions."""
    name = queue.name
    consensus: dict[str, list[tuple]] = {}
    for item_id, *rest in wh.execute(
        "SELECT item_id, criterion, value, method, confidence, step_run_id FROM consensus WHERE queue = ?", [name]
    ):
        consensus.setdefault(item_id, []).append(tuple(rest))
    rows = wh.execute(
        """SELECT i.item_id, i.batch_id, b.rubric_version, i.run_id, i.run_a, i.run_b, i.unit
           FROM items i JOIN batches b USING (batch_id)
           WHERE i.queue = ? AND i.item_id IN (SELECT item_id FROM consensus WHERE queue = ?) ORDER BY i.item_id""",
        [name, name],
    )
    runs, unreadable = item_runs(wh, name)
    units, broken = unit_runs(wh, name)
    reviewers = dict(
        wh.execute(
            "SELECT item_id, list(DISTINCT reviewer ORDER BY reviewer) FROM labels WHERE queue = ? GROUP BY item_id",
            [name],
        )
    )
    fixes = _corrections(wh, name) if corrections else {}
    decided = _adjudications(store, name)
    rubrics: dict[str, dict[str, Criterion]] = {}
    read: dict[tuple[str, str, str], Any] = {}
    items = []
    for item_id, batch_id, version, run_id, run_a, run_b, unit in rows:
        if version not in rubrics:
            rubrics[version] = _criteria(store, queue, version)
        criteria = rubrics[version]
        found = [runs.get(r) for r in ((run_id,) if run_id else (run_a, run_b))]
        why = broken.get(item_id)
        if why is None and any(r is None for r in found):
            if unit == "run":
                continue  # a run missing from the warehouse: nothing to build an example from
            why = f"run {run_id}: not in the warehouse"
        why = why or next((f"run {r.run_id}: {unreadable[r.run_id]}" for r in found if r.run_id in unreadable), None)
        values: dict[str, Consensus] = {}
        steps: dict[str, dict[str, Consensus]] = {}
        for key, text, method, confidence, step in consensus[item_id]:
            if key in criteria:
                if (version, key, text) not in read:  # a few distinct answers, read back once each
                    read[version, key, text] = typed(text, criteria[key])
                value = Consensus(read[version, key, text], text, method, confidence)
                if step:
                    steps.setdefault(key, {})[step] = value
                else:
                    values[key] = value
        items.append(
            Item(
                name,
                item_id,
                batch_id,
                version,
                criteria,
                [] if why else found,  # type: ignore[arg-type]
                values,
                reviewers.get(item_id, []),
                fixes.get(item_id, []),
                decided.get(item_id, {}),
                why,
                units.get(item_id),
                steps,
            )
        )
    return items


def _corrections(wh: Warehouse, queue: str) -> dict[str, list[Correction]]:
    """Corrections with answer text in reviewers' latest revisions, with each reviewer's labels of the item.

    A correction is stored in the run's output shape (`reviewdesk.review.corrections`): its answer
    text, read as a run's answer is, is the reference."""
    found: dict[tuple[str, str], Correction | None] = {}
    for item_id, reviewer, value, at, criterion, label in wh.execute(
        """WITH latest AS (
               SELECT item_id, reviewer, correction, submitted_at FROM submissions WHERE queue = ?
               QUALIFY row_number() OVER (PARTITION BY item_id, reviewer ORDER BY revision DESC) = 1)
           SELECT f.item_id, f.reviewer, f.correction, f.submitted_at, l.criterion, l.value
           FROM latest f LEFT JOIN labels l ON l.item_id = f.item_id AND l.reviewer = f.reviewer AND l.step_run_id = ''
           WHERE f.correction IS NOT NULL""",
        [queue],
    ):
        if (item_id, reviewer) not in found:
            reference = answer_text(value).strip()
            found[item_id, reviewer] = Correction(reviewer, reference, at, {}) if reference else None
        if (fix := found[item_id, reviewer]) is not None and criterion is not None:
            fix.answers[criterion] = label
    out: dict[str, list[Correction]] = {}
    for (item_id, _), fix in sorted(found.items()):
        if fix is not None:
            out.setdefault(item_id, []).append(fix)
    return out


def _adjudications(store: ReviewStore, queue: str) -> dict[str, dict[str, dict[str, str]]]:
    a = adjudications.c
    query = select(a.item_id, a.criterion, a.decided_by, a.reason).where(a.queue == queue, a.decided_at.is_not(None))
    out: dict[str, dict[str, dict[str, str]]] = {}
    with store.read() as conn:
        for item_id, criterion, by, reason in conn.execute(query):
            out.setdefault(item_id, {})[criterion] = {"by": by, "reason": reason}
    return out


def gate_check(wh: Warehouse, queue: str, gate: AgreementGate | None, keys: Sequence[str]) -> tuple[str | None, dict]:
    """(why the gate blocks, or None; the figures it read) for the criteria a rule relies on."""
    if gate is None:
        return None, {}
    figures, problems = {}, []
    for key in keys:
        if key not in gate.min:
            continue
        row = wh.execute(
            """SELECT value, ci_low, ci_high, n_items, computed_at FROM agreement
               WHERE queue = ? AND batch_id IS NULL AND criterion = ? AND coefficient = ?""",
            [queue, key, gate.coefficient],
        )
        need = gate.min[key]
        if not row or row[0][0] is None:
            figures[key] = {"coefficient": gate.coefficient, "min": need, "value": None}
            problems.append(
                f"no {gate.coefficient} for {key!r} of {queue} yet (it needs items with two or more "
                f"reviews); compute it with `reviewdesk agreement {queue}`"
            )
            continue
        value, low, high, n_items, at = row[0]
        figures[key] = {
            "coefficient": gate.coefficient,
            "min": need,
            "value": value,
            "ci": [low, high],
            "n_items": n_items,
            "computed_at": at.isoformat(),
        }
        if value < need:
            ci = f", 95% CI {low:.2f} to {high:.2f}" if low is not None and high is not None else ""
            problems.append(
                f"{gate.coefficient} of {key!r} is {value:.2f}{ci} over {n_items} items, below the "
                f"gate's {need:g}: calibrate reviewers or clarify the rubric, then measure again"
            )
    return ("; ".join(problems) or None), figures


def _parent(wh: Warehouse, data_dir: Path, rule: DatasetRule, queue: str) -> tuple[dict | None, list[Candidate]]:
    """The latest version's manifest (None if the dataset is new), and the examples other queues gave it."""
    adopt(wh, data_dir, rule.name)
    if not read.versions(rule.name, data_dir):
        return None, []
    meta = read.manifest(rule.name, None, data_dir)
    if meta["kind"] != rule.kind:
        raise ConfigError(
            f"Dataset {rule.name!r} is a {meta['kind']} dataset, but the rule makes {rule.kind}: "
            "give the rule another dataset name."
        )
    if all(e["queue"] == queue for e in meta["lineage"]):
        return meta, []
    rows = read.read_table(rule.name, meta["version"], None, data_dir).to_pylist()
    return meta, [
        Candidate(r["id"], r, dict(e), (0, 0.0, e["queue"], e["item_id"]))
        for r, e in zip(rows, meta["lineage"], strict=True)
        if e["queue"] != queue
    ]


def _dedupe(candidates: list[Candidate]) -> tuple[list[Candidate], int]:
    """The strongest candidate per example id, sorted by id; and how many duplicates were dropped."""
    best: dict[str, Candidate] = {}
    for c in candidates:
        if c.id not in best or c.rank < best[c.id].rank:
            best[c.id] = c
    return [best[k] for k in sorted(best)], len(candidates) - len(best)


def promote_rule(
    wh: Warehouse, data_dir: Path, queue: QueueConfig, rule: DatasetRule, items: list[Item], now: datetime
) -> DatasetResult:
    """One dataset of the queue: gate, examples, and a new version if they changed."""
    keys = used_criteria(
        rule, items[0].criteria if items else {c.key: c for c in queue.rubric.criteria}, queue.kind == "pairwise"
    )
    gate = queue.promotion.agreement_gate if queue.promotion else None
    blocked, figures = gate_check(wh, queue.name, gate, keys)
    parent, others = _parent(wh, data_dir, rule, queue.name)
    latest = parent["version"] if parent else None
    base = {"dataset": rule.name, "kind": rule.kind, "queue": queue.name}
    if blocked:
        return DatasetResult(
            **base,
            status="blocked",
            version=latest,
            rows=parent["rows"] if parent else 0,
            reason=f"agreement gate: {blocked}",
        )
    skipped: Counter[str] = Counter(f"item {i.item_id}, {i.unreadable}" for i in items if i.unreadable)
    fresh = [c for item in items if not item.unreadable for c in BUILDERS[rule.kind](item, rule, skipped)]
    # Across queues the queue listed first wins a duplicate input; within one, the strongest consensus.
    kept, duplicates = _dedupe([*fresh, *others])
    if duplicates:
        skipped["duplicate input"] = duplicates
    draft = seal(
        CandidateVersion(
            rule.name,
            rule.kind,
            rule.description,
            [c.row for c in kept],
            [c.lineage for c in kept],
            {
                **(parent["rules"] if parent else {}),
                queue.name: {
                    "rule": rule.model_dump(mode="json", by_alias=True, exclude_none=True),
                    "agreement_gate": gate.model_dump(mode="json") if gate else None,
                    "agreement": figures,
                },
            },
            rule.test_fraction,
        )
    )
    if parent and draft.content_hash == parent["content_hash"]:
        return DatasetResult(
            **base,
            status="unchanged",
            version=latest,
            rows=parent["rows"],
            skipped=dict(skipped),
            path=str(read.path(rule.name, latest, data_dir)),
        )
    if not draft.rows and parent is None:
        why = ", ".join(f"{n} {reason}" for reason, n in skipped.most_common()) or "none met the rule"
        return DatasetResult(
            **base,
            status="empty",
            version=None,
            skipped=dict(skipped),
            reason=f"no example from {len(items)} resolved items ({why})",
        )
    change = (
        changes(parent["lineage"], draft.lineage) if parent else {"added": len(draft.rows), "removed": 0, "changed": 0}
    )
    meta = write_version(wh, data_dir, draft, parent, change, now)
    return DatasetResult(
        **base,
        status="created",
        version=meta["version"],
        rows=meta["rows"],
        **change,
        skipped=dict(skipped),
        path=str(read.path(rule.name, meta["version"], data_dir)),
    )


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Hold off the cyclic garbage collector while promotion builds ~10 objects per example: it would
    otherwise rescan them all again and again (about half the time on 100,000 items). Nothing here makes cycles."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def promote(
    store: ReviewStore,
    wh: Warehouse,
    queue: QueueConfig,
    data_dir: Path,
    dataset: str | None = None,
    now: datetime | None = None,
) -> PromotionResult:
    """Promote the queue's resolved items into its datasets (or just `dataset`), and write its flagged report."""
    now = now or datetime.now(UTC)
    rules = list(queue.promotion.datasets) if queue.promotion else []
    if dataset is not None:
        rules = [r for r in rules if r.name == dataset]
        if not rules:
            known = ", ".join(r.name for r in queue.promotion.datasets) if queue.promotion else "none"
            raise NotFound(
                f"Queue {queue.name!r} has no dataset {dataset!r} in its promotion rules (its datasets: "
                f"{known}); add one under `promotion.datasets` in its YAML."
            )
    with _no_gc_pauses():
        items = gather(store, wh, queue, corrections=any(r.kind == "regression" for r in rules)) if rules else []
        results = [promote_rule(wh, data_dir, queue, rule, items, now) for rule in rules]
    flagged = write_flagged(store, wh, queue, Settings.load(data_dir).reports_dir, now)
    return PromotionResult(queue.name, results, flagged)


__all__ = ["DatasetResult", "PromotionResult", "gate_check", "gather", "promote", "promote_rule"]
