"""Resolve a queue: consensus for every fully reviewed item, and disputes sent to adjudication.

Reads the queue's labels (warehouse), its items' gold answers, its consensus policy and the leads'
decisions (review store); writes `warehouse.consensus` for the queue in one transaction (a rebuild,
so a new label or decision is always reflected) and opens an adjudication case per required
criterion the policy sends to a lead (for a per-step criterion, one case naming its steps in dispute;
an undecided one takes the steps each run finds), and withdraws an open case whose reviewers now agree.
An item is judged once as many reviewers as it needs have submitted (a submission with a flag and no
answers counts as a review, and adds no answer); gold items at once.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from reviewdesk.errors import NotFound
from reviewdesk.labels.adjudication import backlog, decisions, open_cases, withdraw_settled
from reviewdesk.labels.consensus import resolve_item
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.values import as_number, as_text, typed
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import ConsensusPolicy
from schemas.rubric import PREFERENCE_CRITERION, Criterion

CONSENSUS_COLUMNS = ["item_id", "queue", "criterion", "value", "value_num", "method", "confidence", "reviewers",
                     "agreeing", "resolved_at", "step_run_id"]  # fmt: skip


@dataclass(frozen=True)
class ResolveResult:
    queue: str
    items: int  # items judged (all reviews in, or gold)
    methods: dict[str, int] = field(default_factory=dict)  # consensus rows per method
    by_criterion: dict[str, dict[str, int]] = field(default_factory=dict)  # criterion -> method -> items
    opened: int = 0  # adjudication cases opened now
    settled: int = 0  # open cases withdrawn now: their reviewers agree after all
    backlog: int = 0  # cases open after this run

    def as_dict(self) -> dict:
        return asdict(self)


def _criteria(store: ReviewStore, queue: str, versions: set[str], pairwise: bool) -> dict[str, list[Criterion]]:
    """Per rubric version, its criteria (after the preference, for a pairwise queue)."""
    out = {}
    for version in versions:
        rubric = store.rubric(queue, version)
        if rubric is None:
            raise NotFound(f"Rubric {version} of {queue!r} is not in the review store: publish its batch again.")
        out[version] = ([PREFERENCE_CRITERION] if pairwise else []) + [Criterion(**c) for c in rubric["criteria"]]
    return out


def _labels(wh: Warehouse, queue: str) -> pd.DataFrame:
    """The queue's labels, with how many reviewers submitted each item (answers or not)."""
    return wh.con.execute(
        """WITH done AS (SELECT item_id, count(DISTINCT reviewer) AS reviewed FROM submissions WHERE queue = ?
                         GROUP BY item_id)
           SELECT l.item_id, l.criterion, l.step_run_id, l.value, l.rubric_version, l.reviewer,
                  coalesce(d.reviewed, 0) AS reviewed,
                  i.is_gold, i.gold_answer::VARCHAR AS gold_answer, i.reviewers_needed, b.kind
           FROM labels l JOIN items i USING (item_id) JOIN batches b ON b.batch_id = i.batch_id
                LEFT JOIN done d USING (item_id)
           WHERE l.queue = ? ORDER BY l.item_id, l.step_run_id, l.reviewer, l.criterion""",
        [queue, queue],
    ).df()


def _resolve_step(
    answers: Mapping[tuple[str, str], list],
    criteria: list[Criterion],
    step: str,
    gold: Mapping[str, Any] | None,
    decided: Mapping[str, Any],
    rules: ConsensusPolicy,
) -> dict:
    """Consensus of one item's answers about one step (its per-step criteria), or about the whole item
    (step ''): a lead's per-step decision `{step run id: value}` resolves the steps it names."""
    here = [c for c in criteria if bool(c.per_step) == bool(step)]
    by_key = {k: v for (k, s), v in answers.items() if s == step}
    if step:
        gold = None  # gold answers are about whole items
        decided = {k: v[step] for k, v in decided.items() if isinstance(v, Mapping) and step in v}
    return resolve_item(by_key, here, gold, decided, rules)


def policy(store: ReviewStore, queue: str) -> ConsensusPolicy:
    """The queue's consensus policy as last published (the default for a queue published before policies)."""
    row = store.queue(queue)
    return ConsensusPolicy.model_validate((row or {}).get("config", {}).get("consensus") or {})


def resolve_queue(store: ReviewStore, wh: Warehouse, queue: str, now: datetime | None = None) -> ResolveResult:
    """Rebuild the queue's consensus, open cases for its new disputes and withdraw those settled since."""
    now = now or datetime.now(UTC)
    labels = _labels(wh, queue)
    criteria = _criteria(store, queue, set(labels["rubric_version"]), bool((labels["kind"] == "pairwise").any()))
    decided, rules = decisions(store, queue), policy(store, queue)
    rows, disputes, judged = [], {}, []
    for item_id, group in labels.groupby("item_id", sort=True):
        first = group.iloc[0]
        reviewed = max(group["reviewer"].nunique(), first["reviewed"])
        if not first["is_gold"] and reviewed < first["reviewers_needed"]:
            continue  # still being reviewed
        judged.append(item_id)
        item_criteria = criteria[first["rubric_version"]]
        by_key = {c.key: c for c in item_criteria}
        answers = defaultdict(list)  # (criterion, step run id) -> the reviewers' values
        for key, step, value in zip(group["criterion"], group["step_run_id"], group["value"], strict=True):
            if key in by_key:
                answers[(key, step)].append(typed(value, by_key[key]))
        gold = json.loads(first["gold_answer"]) if first["is_gold"] and first["gold_answer"] else None
        for step in sorted({step for _, step in answers}):
            found = _resolve_step(answers, item_criteria, step, gold, decided.get(item_id, {}), rules)
            for key, r in found.items():
                if r.value is not None:
                    rows.append([item_id, queue, key, as_text(r.value), as_number(r.value), r.method, r.confidence,
                                 r.reviewers, r.agreeing, now, step])  # fmt: skip
                if r.disagreement:
                    why = f"step {step}: {r.disagreement}" if step else r.disagreement
                    disputes.setdefault((item_id, key), []).append((step, why))
    cases = [{"item_id": i, "criterion": k, "queue": queue, "why": "; ".join(w for _, w in found),
              "steps": [step for step, _ in found if step] or None} for (i, k), found in disputes.items()]  # fmt: skip
    frame = pd.DataFrame(rows, columns=CONSENSUS_COLUMNS)
    with wh.transaction() as con:
        con.register("new_consensus", frame)
        con.execute("DELETE FROM consensus WHERE queue = ?", [queue])
        con.execute(f"INSERT INTO consensus ({', '.join(CONSENSUS_COLUMNS)}) SELECT * FROM new_consensus")
        con.unregister("new_consensus")
    opened = open_cases(store, cases, now)
    settled = withdraw_settled(store, queue, judged, disputes)
    methods = frame["method"].value_counts().sort_index().to_dict()
    by_criterion: dict[str, dict[str, int]] = {}
    for (key, method), n in frame.groupby(["criterion", "method"]).size().items():
        by_criterion.setdefault(str(key), {})[str(method)] = int(n)
    return ResolveResult(queue, len(judged), {k: int(v) for k, v in methods.items()}, by_criterion, opened,
                         settled, len(backlog(store, queue)))  # fmt: skip


__all__ = ["ResolveResult", "policy", "resolve_queue"]
