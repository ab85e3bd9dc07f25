"""Simulated reviewers: known-accuracy labels for the demo, load tests and checks of the method.

Each simulated reviewer takes items through the same store API as the app (`next_item`, then
`submit`) and answers every criterion the demo's ground truth (`metadata.demo_truth`) covers: the
true value with probability `accuracy`, otherwise another option picked at random. A pairwise
item's true preference is the run with the better verdict (correctness, then helpfulness), or a
tie. A trace or session item is answered from its payload's steps: its unit-level criteria from the truth
of the run it is keyed by (a trace's root, a session's last turn), and a `per_step` criterion step by
step, `{step run id: value}`, from each step's own truth. Since each answer is right with a known
probability, the agreement it implies is known too.

Like careful reviewers, they also correct and flag (`extras`): a reviewer who rightly calls an
answer incorrect writes the good answer (`demo_truth.reference`) as the correction (in the run's output
shape, as the review app stores it) with
probability CORRECTION_RATE, and flags an off-policy answer with probability FLAG_RATE.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from reviewdesk.demo.biases import Biases, Injector
from reviewdesk.errors import ConfigError, NotFound
from reviewdesk.review.corrections import correction
from reviewdesk.review.drafts import Draft
from reviewdesk.review.qualification import NotQualified
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import submit
from reviewdesk.review.training import answer_training
from reviewdesk.review.units import asked_steps, steps_of, unit_of
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse

CORRECTNESS_RANK = {"correct": 2, "partially_correct": 1, "incorrect": 0}
CORRECTION_RATE = 0.8
FLAG_RATE = 0.5
POLICY_FLAG = "off-policy answer"


@dataclass(frozen=True)
class SimulationResult:
    queue: str
    reviewers: list[str]
    submitted: int
    answered_truly: int  # answers equal to the ground truth, over all criteria
    answers: int
    training_answers: int = 0  # training items answered first, in a queue with `training` (never submissions)

    def as_dict(self) -> dict:
        return asdict(self)


# The runs whose truth a queue's items need: each item's run(s), and every run of a trace or session item
# (a trace's runs share its root's trace_id; a session's, its session_id), for per-step criteria.
_TRUTH_RUNS = """
    WITH q AS (SELECT run_id, run_a, run_b, unit, unit_id FROM items WHERE queue = $queue)
    SELECT r.run_id, json_extract_string(r.metadata, '$.demo_truth') FROM runs r
    WHERE r.run_id IN (SELECT unnest([run_id, run_a, run_b]) FROM q)
    UNION ALL
    SELECT r.run_id, json_extract_string(r.metadata, '$.demo_truth') FROM q
    JOIN runs root ON root.run_id = q.run_id AND q.unit = 'trace' JOIN runs r ON r.trace_id = root.trace_id
    UNION ALL
    SELECT r.run_id, json_extract_string(r.metadata, '$.demo_truth') FROM q
    JOIN runs r ON q.unit = 'session' AND r.session_id = q.unit_id
"""


def truths(wh: Warehouse, queue: str) -> dict[str, dict]:
    """The demo ground truth of every run of the queue's items (every step of a unit item too), by run id."""
    rows = wh.execute(_TRUTH_RUNS, {"queue": queue})
    return {run_id: json.loads(t) for run_id, t in rows if t is not None}


def preference(item: Mapping[str, Any], truth: Mapping[str, dict]) -> str | None:
    """The better run of a pairwise item by its truth, "tie" if neither is, None if unknown."""
    a, b = truth.get(item["run_a"]), truth.get(item["run_b"])
    if a is None or b is None:
        return None
    rank = [(CORRECTNESS_RANK.get(t.get("correctness"), 0), t.get("helpfulness") or 0) for t in (a, b)]
    return item["run_a"] if rank[0] > rank[1] else item["run_b"] if rank[1] > rank[0] else "tie"


def _answer(rng: random.Random, true: Any, options: list, accuracy: float) -> Any:
    """The true value with probability `accuracy`, otherwise another option at random."""
    wrong = [o for o in options if o != true]
    return true if rng.random() < accuracy or not wrong else rng.choice(wrong)


def answers_for(
    item: Mapping[str, Any],
    criteria: list[Mapping[str, Any]],
    truth: Mapping[str, dict],
    rng: random.Random,
    accuracy: float,
    anchoring: float = 0.0,
    anchor_rng: random.Random | None = None,
) -> tuple[dict, int, int]:
    """One simulated submission's answers, with how many were asked and answered truly.

    With `anchoring`, a suggestion the item shows is copied with that probability instead (decided by
    `anchor_rng`, so `rng` draws the same answers with or without): a known bias to measure.
    """
    shown = (item.get("suggestions") or {}) if item.get("suggestion_shown") else {}
    out: dict[str, Any] = {}
    asked = right = 0
    if item["kind"] == "pairwise":
        true = preference(item, truth)
        options = [item["run_a"], item["run_b"], "tie"]
        out["preference"] = _answer(rng, true, options, accuracy) if true else rng.choice(options)
        asked, right = 1, int(out["preference"] == true)
        verdict: Mapping[str, Any] = {}
    else:
        verdict = truth.get(item["run_id"]) or {}
    for c in criteria:
        options = c.get("options") or ([True, False] if c["type"] == "boolean" else None)
        if options is None:
            continue  # free text and open numbers: the simulation leaves them unanswered
        if c.get("per_step"):
            per_step, n, k = step_answers(item, c, options, truth, rng, accuracy)
            if per_step:
                out[c["key"]] = per_step
            asked, right = asked + n, right + k
        elif c["key"] in verdict:
            out[c["key"]] = _answer(rng, verdict[c["key"]], options, accuracy)
            if anchoring and c["key"] in shown and (anchor_rng or rng).random() < anchoring:
                out[c["key"]] = shown[c["key"]]["value"]
            asked, right = asked + 1, right + int(out[c["key"]] == verdict[c["key"]])
        elif c.get("required", True):
            out[c["key"]] = rng.choice(options)
    return out, asked, right


def step_answers(
    item: Mapping[str, Any],
    criterion: Mapping[str, Any],
    options: list,
    truth: Mapping[str, dict],
    rng: random.Random,
    accuracy: float,
) -> tuple[dict[str, Any], int, int]:
    """A per-step criterion's answer `{step run id: value}` for every step it asks about (in the item's
    payload), each the step's true value with probability `accuracy`; a step with no known truth gets a
    random option (the criterion is required) or none. Also how many had a truth, and how many were right."""
    answer, asked, right = {}, 0, 0
    for step in asked_steps(criterion, steps_of(unit_of(item.get("payload")))):
        true = (truth.get(step.run_id) or {}).get(criterion["key"])
        if true is not None:
            answer[step.run_id] = _answer(rng, true, options, accuracy)
            asked, right = asked + 1, right + int(answer[step.run_id] == true)
        elif criterion.get("required", True):
            answer[step.run_id] = rng.choice(options)
    return answer, asked, right


def extras(
    item: Mapping[str, Any], answers: Mapping[str, Any], truth: Mapping[str, dict], seed: int, reviewer: str
) -> tuple[Any, list[dict]]:
    """The correction (the good answer in the run's output shape) and flags a reviewer adds to a single
    item they rightly call incorrect. Drawn from a generator of their own (seed, item, reviewer), so the
    answers are the same with or without."""
    verdict = truth.get(item.get("run_id")) or {}
    if item["kind"] == "pairwise" or not answers.get("correctness") == verdict.get("correctness") == "incorrect":
        return None, []
    rng = random.Random(f"{seed}:{item['item_id']}:{reviewer}")
    reference = verdict.get("reference") if rng.random() < CORRECTION_RATE else None
    outputs = item["payload"]["runs"][item["run_id"]].get("outputs") or ""  # text, where outputs are not shown
    fixed = None if reference is None else correction(outputs, reference)
    flagged = verdict.get("failure_mode") == "off_policy" and rng.random() < FLAG_RATE
    return fixed, [{"reason": POLICY_FLAG}] if flagged else []


def _reviewers(store: ReviewStore, queue: str, count: int) -> list[str]:
    row = store.queue(queue)
    if row is None:
        raise NotFound(f"No queue {queue!r} in the review store: publish a batch of it first (`reviewdesk publish`).")
    assignees = (row["config"] or {}).get("assignees") or []
    if len(assignees) < count:
        raise ConfigError(
            f"Queue {queue!r} has {len(assignees)} assignees, fewer than {count} simulated reviewers: "
            "simulate fewer reviewers, or list more assignees in its YAML and publish again."
        )
    return assignees[:count]


def simulate_reviews(
    store: ReviewStore,
    wh: Warehouse,
    queue: str,
    reviewers: int,
    accuracy: float,
    seed: int = 0,
    limit: int | None = None,
    tick: Callable[[int], None] | None = None,
    anchoring: float = 0.0,
    biases: Biases | None = None,
) -> SimulationResult:
    """Review `queue` as its first `reviewers` assignees in turn, until nothing is left or `limit`
    submissions are made. Deterministic for a seed on the same published items. With `anchoring`,
    a reviewer shown a suggestion copies it with that probability (see `answers_for`). With `biases`,
    every reviewer keeps a simulated clock and the first ones carry the biases (`reviewdesk.demo.biases`);
    `answered_truly` then counts the answers before length, leniency and repetition change them."""
    for what, p in (("accuracy", accuracy), ("anchoring", anchoring)):
        if not 0 <= p <= 1:
            raise ConfigError(f"{what} {p} is not a probability: give a value from 0 to 1.")
    anchor_rng = random.Random(f"{seed}:anchoring")
    names = _reviewers(store, queue, reviewers)
    truth = truths(wh, queue)
    rng = random.Random(seed)
    rubrics: dict[str, list] = {}
    active, submitted, asked, right, trained = list(names), 0, 0, 0, 0
    now = datetime.now(UTC)
    injector = Injector.for_queue(biases, store, wh, queue, names, now, seed) if biases else None
    while active and (limit is None or submitted < limit):
        for name in list(active):
            at = injector.clock(name) if injector else now
            try:
                item = next_item(store, queue, name, now=at)
            except NotQualified:  # failed training: held until the retry opens
                item = None
            if item is None:
                active.remove(name)
                continue
            if item["rubric_version"] not in rubrics:
                rubrics[item["rubric_version"]] = store.rubric(queue, item["rubric_version"])["criteria"]
            right_now = injector.accuracy(name, accuracy) if injector else accuracy
            answers, n, k = answers_for(item, rubrics[item["rubric_version"]], truth, rng, right_now, anchoring,
                                        anchor_rng)  # fmt: skip
            if item.get("training"):  # graded against the gold answer; never a submission
                answer_training(store, item["item_id"], name, answers, now=now)
                trained += 1
                continue
            shown_at = now - timedelta(seconds=rng.uniform(15, 150))  # a plausible time on the item
            if injector:
                answers, at, shown_at = injector.apply(name, item, answers, rubrics[item["rubric_version"]])
            fix, flags = extras(item, answers, truth, seed, name)
            shown = item["suggestion_shown"]
            draft = Draft(answers, correction=fix, flags=flags, suggestion_shown=shown, shown_at=shown_at)
            submit(store, item["item_id"], name, draft, now=at)
            submitted, asked, right = submitted + 1, asked + n, right + k
            if tick:
                tick(submitted)
            if limit is not None and submitted >= limit:
                break
    return SimulationResult(queue, names, submitted, right, asked, trained)


__all__ = ["SimulationResult", "answers_for", "extras", "preference", "simulate_reviews", "step_answers", "truths"]
