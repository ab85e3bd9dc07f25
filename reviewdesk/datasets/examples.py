"""Examples from reviewed items: a promotion rule applied to one item's consensus, as dataset rows.

An item gives an example only through consensus values whose method the rule trusts (gold,
adjudicated, unanimous or majority by default): every `when` condition must hold on such a value,
and so must the value a kind needs (the preference of a pair, the labels of a classification).
Rows follow `reviewdesk.datasets.formats`; each example carries its lineage and a rank, so that among
examples with the same normalized input the strongest is kept (method, then confidence, then item).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reviewdesk.datasets.formats import answer_text, example_id, input_key, input_messages, normalize, render, split_of
from schemas.promotion import TRUSTED, Condition, DatasetRule
from schemas.rubric import Criterion


@dataclass(frozen=True)
class Run:
    run_id: str
    trace_id: str | None
    model: str | None
    prompt_version: str | None
    inputs: Any  # JSON text or value
    outputs: Any
    tags: list[str]


@dataclass(frozen=True)
class Consensus:
    value: Any  # typed by the criterion
    text: str  # as stored
    method: str
    confidence: float


@dataclass(frozen=True)
class Correction:
    reviewer: str
    text: str
    submitted_at: Any
    answers: dict[str, str]  # the reviewer's labels, as stored text


@dataclass
class Item:
    """What promotion knows of one resolved item."""

    queue: str
    item_id: str
    batch_id: str
    rubric_version: str
    criteria: dict[str, Criterion]
    runs: list[Run]  # one, or run_a then run_b
    consensus: dict[str, Consensus]
    reviewers: list[str]
    corrections: list[Correction] = field(default_factory=list)
    adjudications: dict[str, dict[str, str]] = field(default_factory=dict)  # criterion -> {by, reason}
    unreadable: str | None = None  # why a run's payload cannot be read: the item gives no example


@dataclass(frozen=True)
class Candidate:
    id: str
    row: dict[str, Any]  # id, split, then the kind's columns
    lineage: dict[str, Any]
    rank: tuple  # smaller is stronger


def _holds(cond: Condition, value: Any, c: Criterion) -> bool:
    if cond.values is not None:
        return value in cond.values
    if c.type == "ordinal":
        pos = c.options.index(value)
        lo = 0 if cond.min is None else c.options.index(cond.min)
        hi = len(c.options) - 1 if cond.max is None else c.options.index(cond.max)
        return lo <= pos <= hi
    return (cond.min is None or value >= cond.min) and (cond.max is None or value <= cond.max)


def trusted(item: Item, rule: DatasetRule, key: str) -> Consensus | None:
    found = item.consensus.get(key)
    return found if found is not None and found.method in rule.methods else None


def select(item: Item, rule: DatasetRule, skipped: Counter[str]) -> bool:
    """Whether every `when` condition holds on a trusted value; counts untrusted items it passes over."""
    for cond in rule.when:
        found = item.consensus.get(cond.criterion)
        if found is None or cond.criterion not in item.criteria:
            return False
        if found.method not in rule.methods:
            skipped[f"{found.method} consensus (untrusted)"] += 1
            return False
        if not _holds(cond, found.value, item.criteria[cond.criterion]):
            return False
    return True


def _rank(item: Item, keys: Sequence[str]) -> tuple:
    used = [item.consensus[k] for k in keys if k in item.consensus]
    strength = max((TRUSTED.index(c.method) for c in used if c.method in TRUSTED), default=len(TRUSTED))
    return (strength, -min((c.confidence for c in used), default=0.0), item.queue, item.item_id)


def _lineage(item: Item, keys: Sequence[str], split: str, ex_id: str) -> dict[str, Any]:
    entry = {
        "id": ex_id,
        "split": split,
        "queue": item.queue,
        "item_id": item.item_id,
        "batch_id": item.batch_id,
        "rubric_version": item.rubric_version,
        "run_ids": [r.run_id for r in item.runs],
        "models": [r.model for r in item.runs],
        "prompt_versions": [r.prompt_version for r in item.runs],
        "reviewers": item.reviewers,
        "methods": {k: item.consensus[k].method for k in keys if k in item.consensus},
    }
    decided = {k: item.adjudications[k] for k in keys if k in item.adjudications}
    if decided:
        entry["adjudications"] = decided
    return entry


def _correction(item: Item, rule: DatasetRule) -> Correction | None:
    """A reviewer's correction, preferring reviewers who gave the consensus value on every `when` criterion."""

    def agrees(c: Correction) -> bool:
        return all(c.answers.get(w.criterion) == item.consensus[w.criterion].text for w in rule.when)

    ranked = sorted(item.corrections, key=lambda c: (not agrees(c), -c.submitted_at.timestamp(), c.reviewer))
    return ranked[0] if ranked else None


def _criteria_values(item: Item, rule: DatasetRule) -> dict[str, Any]:
    return {k: c.value for k, c in sorted(item.consensus.items()) if c.method in rule.methods and k in item.criteria}


def _one(
    item: Item,
    rule: DatasetRule,
    columns: dict[str, Any],
    keys: Sequence[str],
    key: str,
    extra: Mapping[str, Any] | None = None,
) -> Candidate:
    split = split_of(key, rule.test_fraction)
    ex_id = example_id(key)
    lineage = _lineage(item, keys, split, ex_id) | dict(extra or {})
    return Candidate(ex_id, {"id": ex_id, "split": split, **columns}, lineage, _rank(item, keys))


def regression(item: Item, rule: DatasetRule, skipped: Counter[str]) -> list[Candidate]:
    if not select(item, rule, skipped):
        return []
    fix = _correction(item, rule)
    if fix is None:
        skipped["no reviewer correction"] += 1
        return []
    run, messages = item.runs[0], input_messages(item.runs[0].inputs)
    columns = {
        "input": messages,
        "reference_output": fix.text,
        "criteria": _criteria_values(item, rule),
        "run_id": run.run_id,
        "tags": list(run.tags or []),
    }
    keys = [w.criterion for w in rule.when]
    return [_one(item, rule, columns, keys, input_key(messages), {"correction_by": fix.reviewer})]


def sft(item: Item, rule: DatasetRule, skipped: Counter[str]) -> list[Candidate]:
    if not select(item, rule, skipped):
        return []
    messages, answer = input_messages(item.runs[0].inputs), answer_text(item.runs[0].outputs)
    if not answer.strip():
        skipped["empty answer"] += 1
        return []
    columns = {"messages": [*messages, {"role": "assistant", "content": answer}]}
    return [_one(item, rule, columns, [w.criterion for w in rule.when], input_key(messages))]


def preference(item: Item, rule: DatasetRule, skipped: Counter[str]) -> list[Candidate]:
    if not select(item, rule, skipped):
        return []
    found = item.consensus.get("preference")
    if found is None:
        return []
    if found.method not in rule.methods:
        skipped[f"{found.method} consensus (untrusted)"] += 1
        return []
    a, b = item.runs
    if found.value not in (a.run_id, b.run_id):
        skipped["tie"] += 1
        return []
    won, lost = (a, b) if found.value == a.run_id else (b, a)
    prompt = input_messages(won.inputs)
    if input_key(prompt) != input_key(input_messages(lost.inputs)):
        skipped["the two runs answer different inputs"] += 1
        return []
    chosen, rejected = answer_text(won.outputs), answer_text(lost.outputs)
    if not chosen.strip() or not rejected.strip() or normalize(chosen) == normalize(rejected):
        skipped["empty or identical answers"] += 1
        return []
    columns = {
        "prompt": prompt,
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": rejected}],
    }
    keys = ["preference", *(w.criterion for w in rule.when)]
    return [_one(item, rule, columns, keys, input_key(prompt), {"chosen_run_id": won.run_id})]


def labelled(rule: DatasetRule, criteria: Mapping[str, Criterion], pairwise: bool) -> list[str]:
    """The criteria a classification rule labels: its `criteria`, or every non-text one."""
    if rule.criteria is not None:
        return list(rule.criteria)
    return [*(["preference"] if pairwise else []), *(k for k, c in criteria.items() if c.type != "text")]


def classification(item: Item, rule: DatasetRule, skipped: Counter[str]) -> list[Candidate]:
    if not select(item, rule, skipped):
        return []
    messages = input_messages(item.runs[0].inputs)
    if len(item.runs) == 1:
        text = render(messages, [("assistant", answer_text(item.runs[0].outputs))])
    else:
        text = render(
            messages, [("answer A", answer_text(item.runs[0].outputs)), ("answer B", answer_text(item.runs[1].outputs))]
        )
    split, out = split_of(input_key(messages), rule.test_fraction), []
    for key in labelled(rule, item.criteria, len(item.runs) == 2):
        found = item.consensus.get(key)
        if found is None:
            continue
        if found.method not in rule.methods:
            skipped[f"{found.method} consensus (untrusted)"] += 1
            continue
        label = found.text
        if key == "preference":
            label = {item.runs[0].run_id: "A", item.runs[1].run_id: "B"}.get(found.value, "tie")
        ex_id = example_id(normalize(text), key)
        keys = [key, *(w.criterion for w in rule.when)]
        row = {"id": ex_id, "split": split, "text": text, "label": label, "criterion": key}
        out.append(Candidate(ex_id, row, _lineage(item, keys, split, ex_id), _rank(item, keys)))
    return out


BUILDERS = {"regression": regression, "sft": sft, "preference": preference, "classification": classification}


def used_criteria(rule: DatasetRule, criteria: Mapping[str, Criterion], pairwise: bool) -> list[str]:
    """Criteria whose consensus the rule relies on: what an agreement gate checks."""
    keys = [w.criterion for w in rule.when]
    if rule.kind == "preference":
        keys.insert(0, "preference")
    if rule.kind == "classification":
        keys += labelled(rule, criteria, pairwise)
    return list(dict.fromkeys(keys))


__all__ = ["BUILDERS", "Candidate", "Consensus", "Correction", "Item", "Run", "labelled", "used_criteria"]
