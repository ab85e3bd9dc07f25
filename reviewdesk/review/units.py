"""Trace and session items: their steps as a tree, and what a `per_step` criterion asks of them.

The payload of a unit item carries `unit`: `{"kind": "trace" | "session", "id": ..., "steps": [...]}`,
the steps in pre-order (turns in time order; in a turn the root, then its children depth first), each
with `run_id`, `parent_run_id`, `depth`, `turn`, `run_type` and whatever else the queue's `reviewer_sees`
allows. `unreachable` counts the unit's runs that no root reaches (their parents loop): they follow the
tree, each a turn of its own. A step is named on screen and in the form by its `position` in that order
(1, 2, ...), so the reviewer finds the step a question asks about in the tree. A per-step criterion's answer
is an object `{step run_id: value}` with an entry for each step of the listed types (README "Traces and
sessions").

Pure functions over the payload, which may hold anything: a step that is not an object, a parent that
is missing or comes later, a depth of 500. Nothing raises; the review app draws whatever they return.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reviewdesk.review.drafts import unanswered
from schemas.answer_values import value_problems

UNIT_KINDS = ("trace", "session")
NAME_CHARS = 80  # a step's name is shown up to this long: a label, not a place for a whole prompt


@dataclass(frozen=True)
class Step:
    """One step of a unit: its `position` in pre-order (from 1), its run's id, type, depth and turn, and
    the `fields` the payload holds of it (inputs, outputs, status, ... as the queue shows them)."""

    position: int
    run_id: str
    run_type: str
    depth: int
    turn: int
    parent_run_id: str | None
    fields: Mapping[str, Any]

    @property
    def failed(self) -> bool:
        """Whether the step ended in an error (its status says so, or it logged one)."""
        return self.fields.get("status") == "error" or self.fields.get("error") not in (None, "")

    @property
    def name(self) -> str | None:
        """The step's name (its first NAME_CHARS characters), when the queue shows names and the run has one."""
        name = self.fields.get("name")
        if name in (None, ""):
            return None
        name = str(name)
        return name if len(name) <= NAME_CHARS else name[:NAME_CHARS] + "…"


@dataclass
class StepNode:
    """A step in the tree: the steps under it in pre-order, and how deep it is drawn (`level`, from 0)."""

    step: Step
    level: int
    children: list[StepNode] = field(default_factory=list)

    def count(self) -> int:
        """How many steps are under this one, at any depth."""
        total, todo = 0, list(self.children)
        while todo:
            node = todo.pop()
            total += 1
            todo.extend(node.children)
        return total


def unit_of(payload: Any) -> Mapping[str, Any] | None:
    """The payload's unit (a trace or a session), or None for a run-level item."""
    unit = payload.get("unit") if isinstance(payload, Mapping) else None
    return unit if isinstance(unit, Mapping) and unit.get("kind") in UNIT_KINDS else None


def _whole(value: Any, default: int) -> int:
    """A depth or turn number as logged, `default` when it is not a whole number."""
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _id(value: Any) -> str | None:
    return None if value is None else str(value)


def unreachable_of(unit: Mapping[str, Any] | None) -> int:
    """How many of the unit's steps no root reaches (listed last, each a turn of its own); 0 if it says none."""
    return max(_whole(unit.get("unreachable"), 0), 0) if isinstance(unit, Mapping) else 0


def steps_of(unit: Mapping[str, Any] | None) -> list[Step]:
    """The unit's steps in their published order; an entry that is not an object is kept as data."""
    raw = unit.get("steps") if isinstance(unit, Mapping) else None
    found = []
    for position, s in enumerate(raw if isinstance(raw, list) else [], 1):
        s = s if isinstance(s, Mapping) else {"step": s}
        run_id, run_type = _id(s.get("run_id")) or f"step-{position}", str(s.get("run_type") or "step")
        depth, turn = _whole(s.get("depth"), 0), _whole(s.get("turn"), 1)
        found.append(Step(position, run_id, run_type, depth, turn, _id(s.get("parent_run_id")), s))
    return found


def step_tree(steps: Sequence[Step], levels: int = 5) -> list[StepNode]:
    """The steps as a tree (its top steps, in order): each under its parent, nested at most `levels` deep.

    A step deeper than that is drawn beside its parent, in order; a step whose parent is not an
    earlier step of the unit is a top step. Built in one pass, without recursion."""
    top: list[StepNode] = []
    seen: dict[str, tuple[StepNode, list[StepNode]]] = {}  # run id -> its node, and the list holding it
    for step in steps:
        parent = seen.get(step.parent_run_id) if step.parent_run_id is not None else None
        if parent is None:
            node, holder = StepNode(step, 0), top
        elif parent[0].level + 1 < levels:
            node, holder = StepNode(step, parent[0].level + 1), parent[0].children
        else:
            node, holder = StepNode(step, parent[0].level), parent[1]
        holder.append(node)
        seen.setdefault(step.run_id, (node, holder))
    return top


def turns_of(steps: Sequence[Step]) -> list[list[Step]]:
    """A session's steps turn by turn, in order (a new turn starts where the turn number changes)."""
    turns: list[list[Step]] = []
    for step in steps:
        if not turns or turns[-1][-1].turn != step.turn:
            turns.append([])
        turns[-1].append(step)
    return turns


def ancestors(steps: Sequence[Step], run_ids: set[str]) -> set[str]:
    """The run ids of every step above the steps `run_ids` (their parents, and theirs, ...)."""
    parent = {s.run_id: s.parent_run_id for s in reversed(steps)}  # the first step of an id wins
    found: set[str] = set()
    for run_id in run_ids:
        up = parent.get(run_id)
        while up is not None and up not in found and up in parent:
            found.add(up)
            up = parent[up]
    return found


def asked_steps(criterion: Mapping[str, Any], steps: Sequence[Step]) -> list[Step]:
    """The steps a `per_step` criterion asks about: those of its step types, in order, each run id once."""
    types, seen, asked = criterion.get("per_step") or (), set(), []
    for s in steps:
        if s.run_type in types and s.run_id not in seen:
            seen.add(s.run_id)
            asked.append(s)
    return asked


def step_title(step: Step, session: bool = False) -> str:
    """How the screen names a step (plain text: escape it for markdown): "step 3 · tool · lookup"."""
    where = f"turn {step.turn} · " if session else ""
    return f"{where}step {step.position} · {step.run_type}" + (f" · {step.name}" if step.name else "")


def step_answer(values: Mapping[str, Any]) -> dict | None:
    """A per-step criterion's answer from the form's values by step run id: the answered ones, None if none."""
    answered = {run_id: v for run_id, v in values.items() if not unanswered(v)}
    return answered or None


def missing_steps(criterion: Mapping[str, Any], steps: Sequence[Step], answer: Any) -> list[Step]:
    """The steps a required per-step criterion still needs an answer for (none if it is optional)."""
    if not criterion.get("required", True):
        return []
    given = answer if isinstance(answer, Mapping) else {}
    return [s for s in asked_steps(criterion, steps) if unanswered(given.get(s.run_id))]


def step_answer_problems(criterion: Mapping[str, Any], steps: Sequence[Step], answer: Any) -> list[str]:
    """What breaks the contract in a per-step criterion's answer: not an object, a step not in the unit or
    not of the criterion's types, a required step left unanswered; [] when it holds. Each value is then
    checked as the criterion's plain answers are (`step_values` gives them)."""
    key = criterion.get("key")
    if answer is None:
        missing = missing_steps(criterion, steps, {})
        return [f"{key}: answer steps {_positions(missing)}"] if missing else []
    if not isinstance(answer, Mapping):
        return [f"{key}: must be an object of step run id: answer, got {type(answer).__name__}"]
    asked = {s.run_id for s in asked_steps(criterion, steps)}
    known = {s.run_id: s for s in steps}
    problems = [f"{key}: {run_id!r} is not a step of this unit" for run_id in answer if run_id not in known]
    types = ", ".join(criterion.get("per_step") or ())
    problems += [f"{key}: step {known[r].position} is a {known[r].run_type} step, not one of {types}"
                 for r in answer if r in known and r not in asked]  # fmt: skip
    if missing := missing_steps(criterion, steps, answer):
        problems.append(f"{key}: answer steps {_positions(missing)}")
    return problems


def step_values(answer: Any) -> list[tuple[str, Any]]:
    """A per-step answer's (step run id, value) pairs, to check each value like a plain answer."""
    return [(str(k), v) for k, v in answer.items()] if isinstance(answer, Mapping) else []


MAX_PROBLEMS = 20  # a hostile answer (100,000 unknown steps) is refused with this many reasons, then a count


def per_step_problems(criteria: Sequence[Mapping[str, Any]], payload: Any, answers: Mapping[str, Any]) -> list[str]:
    """Why the per-step answers of a submission break the contract, for the item's `payload`: each per-step
    criterion's answer against the unit's steps (`step_answer_problems`), each value as the criterion's plain
    answer; on an item of one run, any per-step answer. [] when all hold."""
    unit = unit_of(payload)
    steps = steps_of(unit)
    problems: list[str] = []
    for c in criteria:
        key, answer = c.get("key"), answers.get(c.get("key"))
        if not c.get("per_step"):
            continue
        if unit is None:
            if answer is not None:
                problems.append(f"{key}: a per-step answer, but this item is one run (not a trace or session)")
            continue
        problems += step_answer_problems(c, steps, answer)
        asked = {s.run_id: s for s in asked_steps(c, steps)}
        for run_id, value in step_values(answer):
            if run_id in asked:
                problems += [f"{key}: step {asked[run_id].position}: {shortened(value)} {why}"
                             for why in value_problems(c, value)]  # fmt: skip
    return capped(problems)


def capped(problems: list[str]) -> list[str]:
    """At most MAX_PROBLEMS reasons, then a count of the rest: a hostile answer gets a readable refusal."""
    if len(problems) <= MAX_PROBLEMS:
        return problems
    return [*problems[:MAX_PROBLEMS], f"... and {len(problems) - MAX_PROBLEMS} more problems"]


def step_rows(criterion: Mapping[str, Any], payload: Any, answer: Any) -> list[tuple[str, Any]]:
    """A valid per-step answer's (step run id, value) pairs in step order, answered steps only."""
    given = answer if isinstance(answer, Mapping) else {}
    return [(s.run_id, given[s.run_id]) for s in asked_steps(criterion, steps_of(unit_of(payload)))
            if not unanswered(given.get(s.run_id))]  # fmt: skip


def shortened(value: Any, chars: int = 60) -> str:
    """A value as a reason quotes it: its repr, cut at `chars`."""
    text = repr(value)
    return text if len(text) <= chars else text[:chars] + "…"


def _positions(steps: Sequence[Step]) -> str:
    return ", ".join(str(s.position) for s in steps)


__all__ = [
    "UNIT_KINDS",
    "Step",
    "StepNode",
    "ancestors",
    "asked_steps",
    "capped",
    "missing_steps",
    "per_step_problems",
    "shortened",
    "step_answer",
    "step_answer_problems",
    "step_rows",
    "step_title",
    "step_tree",
    "step_values",
    "steps_of",
    "turns_of",
    "unit_of",
    "unreachable_of",
]
