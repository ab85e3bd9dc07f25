"""Examples from reviewed items: a promotion rule applied to one item's consensus, as dataset rows.

An item gives an example only through consensus values whose method the rule trusts (gold,
adjudicated, unanimous or majority by default): every `when` condition must hold on such a value,
and so must the value a kind needs (the preference of a pair, the labels of a classification).
Rows follow `reviewdesk.datasets.formats`; each example carries its lineage and a rank, so that among
examples with the same normalized input the strongest is kept (method, then confidence, then item).

Trace and session items (a `Unit`): a trace's input and answer are its root run's; a session's are its
conversation up to the last user turn and the last answer, so sft holds the whole conversation. A
regression example's reference is a reviewer's correction, else the unit's final answer (which the rule's
`when` approved). A per-step criterion gives one classification example per (item, step), from the
step's input and output. A unit's examples share one split (by the unit's input), and their lineage
names the unit and every run of it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reviewdesk.datasets.formats import (
    answer_text,
    conversation,
    example_id,
    input_key,
    input_messages,
    normalize,
    render,
    split_of,
    step_text,
)
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
    parent_run_id: str | None = None
    run_type: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Unit:
    """A trace or session item's runs (`reviewdesk.datasets.runs` reads and orders them)."""

    kind: str  # trace | session
    id: str  # the trace's root run id, or the session id
    runs: list[Run]  # every run, in the order reviewed: turns by time, each root then its children depth first
    turns: list[Run]  # the root runs: a trace's one, a session's turns up to the one its item reviewed


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
    unreadable: str | None = None  # why a run's payload (or its unit) cannot be read: the item gives no example
    unit: Unit | None = None  # a trace or session item's runs; None for a run item
    steps: dict[str, dict[str, Consensus]] = field(default_factory=dict)  # per-step criterion -> step run id -> value


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


def exchange(item: Item) -> tuple[list[dict[str, str]], str]:
    """The item's input as chat messages and its answer: its run's (a trace's root's), or a session's
    conversation up to the last user turn and the last turn's answer."""
    if item.unit is not None and item.unit.kind == "session":
        return conversation([(t.inputs, t.outputs) for t in item.unit.turns])
    run = item.unit.turns[0] if item.unit is not None else item.runs[0]
    return input_messages(run.inputs), answer_text(run.outputs)


def _rank(item: Item, keys: Sequence[str], steps: Sequence[Consensus] = ()) -> tuple:
    used = [*(item.consensus[k] for k in keys if k in item.consensus), *steps]
    strength = max((TRUSTED.index(c.method) for c in used if c.method in TRUSTED), default=len(TRUSTED))
    return (strength, -min((c.confidence for c in used), default=0.0), item.queue, item.item_id)


def _lineage(item: Item, keys: Sequence[str], split: str, ex_id: str) -> dict[str, Any]:
    runs = item.unit.runs if item.unit is not None else item.runs
    entry = {
        "id": ex_id,
        "split": split,
        "queue": item.queue,
        "item_id": item.item_id,
        "batch_id": item.batch_id,
        "rubric_version": item.rubric_version,
        "run_ids": [r.run_id for r in runs],
        "models": [r.model for r in runs],
        "prompt_versions": [r.prompt_version for r in runs],
        "reviewers": item.reviewers,
        "methods": {k: item.consensus[k].method for k in keys if k in item.consensus},
    }
    if item.unit is not None:
        entry |= {"unit": item.unit.kind, "unit_id": item.unit.id}
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
    messages, answer = exchange(item)
    if fix is None and item.unit is None:
        skipped["no reviewer correction"] += 1
        return []
    if fix is None and not answer.strip():
        skipped["no reviewer correction and an empty answer"] += 1
        return []
    run = item.runs[0]
    columns = {
        "input": messages,
        "reference_output": fix.text if fix else answer,
        "criteria": _criteria_values(item, rule),
        "run_id": run.run_id,
        "tags": list(run.tags or []),
    }
    keys = [w.criterion for w in rule.when]
    source = {"correction_by": fix.reviewer} if fix else {"reference": "final answer"}
    return [_one(item, rule, columns, keys, input_key(messages), source)]


def sft(item: Item, rule: DatasetRule, skipped: Counter[str]) -> list[Candidate]:
    if not select(item, rule, skipped):
        return []
    messages, answer = exchange(item)
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
    messages, answer = exchange(item)
    if len(item.runs) == 1:
        text = render(messages, [("assistant", answer)])
    else:
        text = render(
            messages, [("answer A", answer_text(item.runs[0].outputs)), ("answer B", answer_text(item.runs[1].outputs))]
        )
    split, out = split_of(input_key(messages), rule.test_fraction), []
    for key in labelled(rule, item.criteria, len(item.runs) == 2):
        if key in item.criteria and item.criteria[key].per_step:
            out += _step_examples(item, rule, key, split, skipped)
            continue
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


def _step_examples(item: Item, rule: DatasetRule, key: str, split: str, skipped: Counter[str]) -> list[Candidate]:
    """One example per step a per-step criterion was resolved for: the step's input and output, its label."""
    out, runs = [], {r.run_id: r for r in item.unit.runs} if item.unit is not None else {}
    for step_id, found in sorted(item.steps.get(key, {}).items()):
        if found.method not in rule.methods:
            skipped[f"{found.method} consensus (untrusted)"] += 1
            continue
        run = runs.get(step_id)
        if run is None:
            skipped["step run not in the unit"] += 1
            continue
        text = step_text(run.run_type, run.name, run.inputs, run.outputs)
        ex_id, keys = example_id(normalize(text), key), [w.criterion for w in rule.when]
        row = {"id": ex_id, "split": split, "text": text, "label": found.text, "criterion": key}
        lineage = _lineage(item, keys, split, ex_id)
        lineage["methods"][key] = found.method
        lineage["step_run_id"] = step_id
        out.append(Candidate(ex_id, row, lineage, _rank(item, keys, [found])))
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


__all__ = [
    "BUILDERS", "Candidate", "Consensus", "Correction", "Item", "Run", "Unit", "exchange", "labelled", "used_criteria",
]  # fmt: skip
