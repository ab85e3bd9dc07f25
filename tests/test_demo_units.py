"""The demo's traces and sessions: well formed, with known truth at the stated rates, answered by the simulated
reviewers in the contract's shape and pre-scored without tripping on per-step criteria (issue 18, part 5)."""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from publish_support import load_queue
from unit_support import support_session, support_trace, unit_payload

from reviewdesk import datasets
from reviewdesk.config import Settings
from reviewdesk.demo.exports import RUN_KEYS, write_runs
from reviewdesk.demo.logs import generate_runs
from reviewdesk.demo.run import RUNS_PER_SESSION, RUNS_PER_TRACE, DemoResult, run_demo
from reviewdesk.demo.simulate import CORRECTION_RATE, answers_for, extras, truths
from reviewdesk.demo.units import (
    ABANDON_RATE,
    SESSION_PROJECT,
    TRACE_FAILURES,
    TRACE_PROJECT,
    generate_unit_runs,
)
from reviewdesk.ingest import ingest_file
from reviewdesk.prescore.contracts import scorable
from reviewdesk.prescore.heuristic import HeuristicScorer
from reviewdesk.prescore.run import prescore_batch
from reviewdesk.review.units import step_answer_problems, steps_of, unit_of
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

ROOT = Path(__file__).resolve().parents[1]
TRACES, SESSIONS = 600, 300


@pytest.fixture(scope="module")
def unit_runs() -> list[dict]:
    return list(generate_unit_runs(TRACES, SESSIONS, seed=7))


def _by(runs: list[dict], key: str) -> dict[str, list[dict]]:
    groups = defaultdict(list)
    for r in runs:
        if r[key] is not None:
            groups[r[key]].append(r)
    return groups


def test_deterministic_per_seed_and_the_run_level_demo_unchanged() -> None:
    assert list(generate_unit_runs(20, 10, seed=1)) == list(generate_unit_runs(20, 10, seed=1))
    assert list(generate_unit_runs(20, 10, seed=1)) != list(generate_unit_runs(20, 10, seed=2))
    runs = list(generate_runs(50, seed=1))  # the unit generator draws from a stream of its own
    list(generate_unit_runs(5, 5, seed=1))
    assert list(generate_runs(50, seed=1)) == runs
    assert not {r["project"] for r in runs} & {TRACE_PROJECT, SESSION_PROJECT}


def test_runs_are_canonical(unit_runs: list[dict]) -> None:
    assert len({r["run_id"] for r in unit_runs}) == len(unit_runs)
    for r in unit_runs:
        assert tuple(r) == RUN_KEYS
        assert r["total_tokens"] == r["prompt_tokens"] + r["completion_tokens"]
        start, end = datetime.fromisoformat(r["start_time"]), datetime.fromisoformat(r["end_time"])
        assert (end - start).total_seconds() * 1000 == pytest.approx(r["latency_ms"], abs=1e-3)
        assert (r["error"] is None) == (r["status"] == "success")
        assert (r["model"] is not None) == (r["run_type"] == "llm")
        assert (r["total_tokens"] > 0) == (r["run_type"] in ("llm", "chain"))  # a chain sums its model calls


def test_traces_have_one_root_and_their_parents(unit_runs: list[dict]) -> None:
    traces = _by([r for r in unit_runs if r["project"] == TRACE_PROJECT], "trace_id")
    assert len(traces) == TRACES
    for runs in traces.values():
        ids = {r["run_id"]: r for r in runs}
        (root,) = [r for r in runs if r["parent_run_id"] is None]
        assert root is runs[0] and root["run_type"] == "chain"  # parents come before their children
        assert all(r["parent_run_id"] in ids for r in runs[1:])
        assert [r["run_type"] for r in runs] == ["chain", "retriever", "llm", "tool", "llm"]
        tool = runs[3]
        assert ids[tool["parent_run_id"]]["run_type"] == "llm"  # the tool is the planning call's child
        for r in runs[1:]:  # children run inside the root's span
            assert root["start_time"] <= r["start_time"] <= r["end_time"] <= root["end_time"]
        assert root["total_tokens"] == runs[2]["total_tokens"] + runs[4]["total_tokens"]
        assert root["outputs"]["output"] == runs[4]["outputs"]["messages"][-1]["content"]


def test_trace_truth_and_failures_at_the_stated_rates(unit_runs: list[dict]) -> None:
    traces = _by([r for r in unit_runs if r["project"] == TRACE_PROJECT], "trace_id")
    modes = Counter()
    for root, retrieved, _plan, tool, _answer in traces.values():
        truth = root["metadata"]["demo_truth"]
        mode = truth["failure_mode"]
        modes[mode] += 1
        assert retrieved["metadata"]["demo_truth"] == {
            "retrieval": "irrelevant" if mode == "irrelevant_retrieval" else "relevant"
        }
        assert tool["metadata"]["demo_truth"] == {
            "tool_call": "wrong" if mode in ("wrong_tool", "wrong_arguments") else "right"
        }
        assert (tool["status"] == "error") == (mode == "tool_error")
        assert (truth["correctness"] == "correct") == (mode is None) == ("reference" not in truth)
        if mode == "wrong_arguments":  # the tool looked up another order
            assert tool["inputs"]["order_id"] not in root["inputs"]["messages"][0]["content"]
        if mode == "wrong_tool":
            assert tool["name"] != "lookup_order"
    for mode, rate in TRACE_FAILURES.items():
        assert modes[mode] / TRACES == pytest.approx(rate, abs=0.035), mode
    assert modes[None] / TRACES == pytest.approx(1 - sum(TRACE_FAILURES.values()), abs=0.05)


def test_sessions_in_time_order_resolved_or_abandoned(unit_runs: list[dict]) -> None:
    sessions = _by(unit_runs, "session_id")
    assert len(sessions) == SESSIONS
    outcomes = Counter()
    for runs in sessions.values():
        turns = [r for r in runs if r["parent_run_id"] is None]
        assert 3 <= len(turns) <= 8 and all(r["project"] == SESSION_PROJECT for r in runs)
        assert [t["start_time"] for t in turns] == sorted(t["start_time"] for t in turns)
        assert all(a["end_time"] < b["start_time"] for a, b in pairwise(turns))
        for earlier, later in pairwise(turns):  # each turn sees the conversation so far
            said = earlier["inputs"]["messages"] + earlier["outputs"]["messages"]
            assert later["inputs"]["messages"][: len(said)] == said
        truths = [r["metadata"].get("demo_truth") for r in turns]
        assert truths[:-1] == [None] * (len(turns) - 1)  # the session's truth sits on its last turn
        assert truths[-1]["turns"] == len(turns)
        outcomes[truths[-1]["outcome"]] += 1
        assert truths[-1]["resolved"] == ("yes" if truths[-1]["outcome"] == "resolved" else "no")
        ids = {r["run_id"] for r in runs}
        assert all(r["parent_run_id"] in ids for r in runs if r["parent_run_id"])
    assert outcomes["abandoned"] / SESSIONS == pytest.approx(ABANDON_RATE, abs=0.07)


def test_every_unit_is_settled_at_the_demo_start() -> None:
    end = datetime(2026, 12, 4, 12, tzinfo=UTC)
    runs = list(generate_unit_runs(50, 50, seed=3, end=end))
    newest = max(datetime.fromisoformat(r["end_time"]) for r in runs)
    oldest = min(datetime.fromisoformat(r["start_time"]) for r in runs)
    assert newest <= end - timedelta(minutes=30) and oldest >= end - timedelta(days=14, hours=1)


@pytest.mark.parametrize("name", ["support-traces", "support-sessions"])
def test_unit_queues_validate(name: str) -> None:
    import yaml

    queue = QueueConfig.model_validate(yaml.safe_load((ROOT / "queues" / f"{name}.yaml").read_text()))
    assert queue.unit == name.removeprefix("support-").removesuffix("s") and queue.gold_fraction == 0
    stepped = {c.key: c for c in queue.rubric.criteria if c.per_step}
    assert all(c.type == "categorical" for c in stepped.values())  # number keys answer them
    assert not any("metadata" in f and "demo_truth" in f for f in queue.reviewer_sees or [])


# Simulated reviewers and pre-scoring on unit items ------------------------------------------------------


def _criteria(name: str) -> list[dict]:
    """A queue's criteria as the review store hands them to the simulation (JSON dicts)."""
    return [c.model_dump(mode="json", exclude_none=True) for c in load_queue(name).rubric.criteria]


def _trace_item(tag: str = "t1") -> dict:
    payload = unit_payload("trace", f"{tag}-root", support_trace(tag))
    return {"kind": "single", "item_id": f"i-{tag}", "run_id": f"{tag}-root", "payload": payload,
            "suggestions": None, "suggestion_shown": False}  # fmt: skip


HAND_TRUTH = {  # support_trace's steps: one retrieval, two tool calls (the first failed, but was the right call)
    "t1-root": {"correctness": "partially_correct"},
    "t1-ret": {"retrieval": "irrelevant"},
    "t1-tool1": {"tool_call": "right"},
    "t1-tool2": {"tool_call": "wrong"},
}


def test_simulated_per_step_answers_have_the_contract_shape() -> None:
    item, criteria = _trace_item(), _criteria("support-traces")
    answers, asked, right = answers_for(item, criteria, HAND_TRUTH, random.Random(1), accuracy=1.0)
    assert answers == {
        "correctness": "partially_correct",
        "retrieval": {"t1-ret": "irrelevant"},
        "tool_call": {"t1-tool1": "right", "t1-tool2": "wrong"},
    }
    assert (asked, right) == (4, 4)  # the unit's answer and one per asked step
    steps = steps_of(unit_of(item["payload"]))
    for c in criteria:
        if c.get("per_step"):
            assert step_answer_problems(c, steps, answers[c["key"]]) == []


def test_simulated_answers_follow_the_truth_at_the_set_error_rate() -> None:
    item, criteria, rng = _trace_item(), _criteria("support-traces"), random.Random(3)
    hits, n = Counter(), 4000
    for _ in range(n):
        answers, asked, _ = answers_for(item, criteria, HAND_TRUTH, rng, accuracy=0.8)
        assert asked == 4 and set(answers["tool_call"]) == {"t1-tool1", "t1-tool2"}
        hits["correctness"] += answers["correctness"] == "partially_correct"
        hits["t1-ret"] += answers["retrieval"]["t1-ret"] == "irrelevant"
        hits["t1-tool1"] += answers["tool_call"]["t1-tool1"] == "right"
        hits["t1-tool2"] += answers["tool_call"]["t1-tool2"] == "wrong"
    for key, k in hits.items():  # binomial(4000, 0.8): sd 0.0063, so 0.025 is 4 sd
        assert k / n == pytest.approx(0.8, abs=0.025), key


def test_a_step_without_truth_is_still_answered_and_not_counted() -> None:
    item, criteria = _trace_item(), _criteria("support-traces")
    truth = {"t1-root": {"correctness": "correct"}}  # no step truth (not a demo run)
    answers, asked, right = answers_for(item, criteria, truth, random.Random(2), accuracy=1.0)
    assert set(answers["tool_call"]) == {"t1-tool1", "t1-tool2"} and (asked, right) == (1, 1)
    assert set(answers["tool_call"].values()) <= {"right", "wrong"}


def test_simulated_session_answer_from_the_last_turns_truth() -> None:
    steps = support_session(4, "s1")
    item = {"kind": "single", "item_id": "i-s1", "run_id": "s1-turn4", "payload": unit_payload("session", "s1", steps),
            "suggestions": None, "suggestion_shown": False}  # fmt: skip
    answers, asked, right = answers_for(item, _criteria("support-sessions"), {"s1-turn4": {"resolved": "no"}},
                                        random.Random(0), accuracy=1.0)  # fmt: skip
    assert answers == {"resolved": "no"} and (asked, right) == (1, 1)


@pytest.fixture(scope="module")
def unit_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """The demo's run-level logs and its traces and sessions, with a batch of 40 traces and one of 30 sessions
    (items keyed as the contract says: a trace by its root, a session by its last turn's root)."""
    where = tmp_path_factory.mktemp("units")
    write_runs([*generate_runs(300, seed=1), *generate_unit_runs(120, 60, seed=1)], where / "runs.jsonl")
    with Warehouse(where / "warehouse.duckdb") as wh:
        ingest_file(wh, where / "runs.jsonl")
        for queue, unit, size, pick in (
            ("support-traces", "trace", 40, f"""SELECT run_id, run_id AS unit_id, start_time FROM runs
                WHERE project = '{TRACE_PROJECT}' AND parent_run_id IS NULL"""),
            ("support-sessions", "session", 30, f"""SELECT arg_max(run_id, start_time), session_id, min(start_time)
                FROM runs WHERE project = '{SESSION_PROJECT}' AND parent_run_id IS NULL GROUP BY session_id"""),
        ):  # fmt: skip
            wh.execute("INSERT INTO batches VALUES (?, ?, 'single', 'random', 42, '{}', ?, 0, ?, now(), NULL)",
                       [f"b-{unit}", queue, load_queue(queue).rubric_version, size])  # fmt: skip
            wh.execute(
                f"""INSERT INTO items (item_id, batch_id, queue, position, run_id, inclusion_probability, unit, unit_id)
                    SELECT 'i-' || run_id, ?, ?, row_number() OVER (ORDER BY start_time), run_id, 0.5, ?, unit_id
                    FROM ({pick}) AS u(run_id, unit_id, start_time) ORDER BY start_time LIMIT ?""",
                [f"b-{unit}", queue, unit, size],
            )
        yield wh


def test_truths_cover_every_step_of_a_unit_item(unit_warehouse: Warehouse) -> None:
    wh = unit_warehouse
    found = truths(wh, "support-traces")
    roots = [r for (r,) in wh.execute("SELECT run_id FROM items WHERE batch_id = 'b-trace'")]
    assert len(roots) == 40 and all("correctness" in found[r] for r in roots)
    steps = wh.execute("""SELECT r.run_id, r.run_type FROM runs r JOIN runs root USING (trace_id)
                           WHERE root.run_id IN (SELECT run_id FROM items WHERE batch_id = 'b-trace')
                             AND r.run_type IN ('tool', 'retriever')""")  # fmt: skip
    assert len(steps) == 80  # one retrieval and one tool call per trace, each with its truth
    assert all(found[run_id] == {"tool_call": "right"} or found[run_id]["tool_call" if t == "tool" else "retrieval"]
               for run_id, t in steps)  # fmt: skip
    sessions = truths(wh, "support-sessions")
    last = [r for (r,) in wh.execute("SELECT run_id FROM items WHERE batch_id = 'b-session'")]
    assert {sessions[r]["resolved"] for r in last} == {"yes", "no"}
    assert not set(found) & set(sessions)  # each queue's own units only


def test_prescore_suggests_unit_criteria_only_with_failed_steps_as_evidence(unit_warehouse: Warehouse) -> None:
    wh = unit_warehouse
    queue = load_queue("support-traces")
    report = prescore_batch(wh, queue, "b-trace", HeuristicScorer.for_queue(queue))
    assert report.items == 40 and report.scored > 0
    rows = wh.execute("""SELECT i.run_id, s.criterion, s.value::VARCHAR, s.reason FROM suggestions s
                         JOIN items i USING (item_id) WHERE s.batch_id = 'b-trace'""")  # fmt: skip
    assert {c for _, c, _, _ in rows} == {"correctness"}  # never retrieval or tool_call (per step)
    truth = truths(wh, "support-traces")
    failed = {root for (root,) in wh.execute("""SELECT DISTINCT root.run_id FROM runs r JOIN runs root USING (trace_id)
        WHERE root.parent_run_id IS NULL AND r.status = 'error' AND root.project = ?""", [TRACE_PROJECT])}  # fmt: skip
    stepped = [
        (run_id, value) for run_id, _, value, reason in rows if reason == "A step of the trace ended with an error"
    ]
    assert stepped and {run_id for run_id, _ in stepped} == failed & {r for r, _, _, _ in rows}
    assert all(value == '"incorrect"' and truth[run_id]["failure_mode"] == "tool_error" for run_id, value in stepped)
    sessions = load_queue("support-sessions")
    report = prescore_batch(wh, sessions, "b-session", HeuristicScorer.for_queue(sessions))
    values = {v for (v,) in wh.execute("SELECT DISTINCT value::VARCHAR FROM suggestions WHERE batch_id = 'b-session'")}
    assert report.items == 30 and values <= {'"yes"', '"no"'} and report.scored > 0


def test_scorable_leaves_per_step_criteria_out() -> None:
    queue = load_queue("support-traces")
    assert [c.key for c in scorable(queue)] == ["correctness"]
    assert set(HeuristicScorer.for_queue(queue).values) == {"correctness"}


def test_a_correction_for_a_trace_item_takes_the_roots_output_shape() -> None:
    item = _trace_item()
    truth = {"t1-root": {"correctness": "incorrect", "reference": "Order A1 is still packed.", "failure_mode": None}}
    fixes = [extras(item, {"correctness": "incorrect"}, truth, 1, f"r{i}")[0] for i in range(200)]
    assert {json.dumps(f) for f in fixes} == {"null", json.dumps({"output": "Order A1 is still packed."})}
    assert sum(f is not None for f in fixes) / 200 == pytest.approx(CORRECTION_RATE, abs=0.1)


@pytest.mark.parametrize("fmt", ["native", "langsmith", "otel"])
def test_units_export_and_ingest_in_every_format(tmp_path: Path, fmt: str) -> None:
    runs = list(generate_unit_runs(12, 6, seed=4))
    assert write_runs(iter(runs), tmp_path / "units.jsonl", fmt=fmt) == len(runs)
    with Warehouse(tmp_path / "wh.duckdb") as wh:
        ingest_file(wh, tmp_path / "units.jsonl")
        got = wh.execute(
            "SELECT run_type, count(*), count(parent_run_id), count(DISTINCT trace_id) FROM runs GROUP BY 1"
        )
    types = Counter(r["run_type"] for r in runs)
    if fmt == "otel":  # OTel has no retriever operation: a retrieval comes back as a chain
        types["chain"] += types.pop("retriever")
    assert {t: n for t, n, _, _ in got} == dict(types)
    assert sum(p for _, _, p, _ in got) == sum(r["parent_run_id"] is not None for r in runs)


# The whole demo loop on traces and sessions ------------------------------------------------------------

DEMO_RUNS = 800
UNIT_QUEUES = {"support-traces": "trace", "support-sessions": "session"}
RUN_QUEUES = ("support-quality", "support-ab")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoResult, Settings]]:
    """The demo run once, simulated reviews and all, on 800 runs (so 40 traces and 20 sessions)."""
    settings = Settings.load(tmp_path_factory.mktemp("unit-demo") / "data", ROOT / "queues")
    yield run_demo(settings, runs=DEMO_RUNS, seed=7), settings


def unit_runs_of(wh: Warehouse, queue: str) -> dict[str, set[str]]:
    """Every run of each item's unit, by item id (a trace: its root's trace_id; a session: its session_id)."""
    rows = wh.execute(
        """SELECT i.item_id, r.run_id FROM items i JOIN runs root ON root.run_id = i.run_id
           JOIN runs r ON CASE i.unit WHEN 'trace' THEN r.trace_id = root.trace_id ELSE r.session_id = i.unit_id END
           WHERE i.queue = ?""",
        [queue],
    )
    found = defaultdict(set)
    for item_id, run_id in rows:
        found[item_id].add(run_id)
    return found


def test_the_demo_samples_traces_and_sessions_by_their_filters_apart_from_run_queues(demo) -> None:
    result, settings = demo
    logged = list(generate_unit_runs(DEMO_RUNS // RUNS_PER_TRACE, DEMO_RUNS // RUNS_PER_SESSION, seed=7))
    assert [r.read for r in result.ingest] == [DEMO_RUNS, len(logged)]
    turns = Counter(r["session_id"] for r in logged if r["session_id"] and r["parent_run_id"] is None)
    long_sessions = sum(n >= 4 for n in turns.values())  # support-sessions' filter: four turns or more
    batches = {b.queue: b for b in result.batches}
    assert batches["support-traces"].population == DEMO_RUNS // RUNS_PER_TRACE  # every trace has a retrieval
    assert batches["support-sessions"].population == long_sessions < len(turns)
    with Warehouse(settings.warehouse_path) as wh:
        for queue, unit in UNIT_QUEUES.items():
            rows = wh.execute(
                """SELECT i.unit, i.unit_id, i.run_id, r.parent_run_id, r.project
                   FROM items i JOIN runs r USING (run_id) WHERE i.queue = ?""",
                [queue],
            )
            assert len(rows) == len(batches[queue].items) > 0
            assert all(u == unit and parent is None for u, _, _, parent, _ in rows)
            assert {p for *_, p in rows} == {TRACE_PROJECT if unit == "trace" else SESSION_PROJECT}
        for item_id, runs in unit_runs_of(wh, "support-sessions").items():  # keyed by the last turn, 4+ turns
            (last,) = wh.execute("SELECT run_id FROM items WHERE item_id = ?", [item_id])[0]
            roots = wh.execute(
                f"SELECT run_id FROM runs WHERE parent_run_id IS NULL AND run_id IN ({', '.join('?' * len(runs))})"
                " ORDER BY start_time",
                list(runs),
            )
            assert len(roots) >= 4 and roots[-1] == (last,)
        leaked = wh.scalar(
            """SELECT count(*) FROM items i JOIN runs r ON r.run_id IN (i.run_id, i.run_a, i.run_b)
               WHERE i.queue IN (?, ?) AND r.project IN (?, ?)""",
            [*RUN_QUEUES, TRACE_PROJECT, SESSION_PROJECT],
        )
    assert leaked == 0  # the run-level queues sample only their own project


def test_per_step_labels_name_a_step_of_the_judged_kind(demo) -> None:
    _, settings = demo
    per_step = {c.key: c.per_step for c in load_queue("support-traces").rubric.criteria if c.per_step}
    with Warehouse(settings.warehouse_path) as wh:
        units = unit_runs_of(wh, "support-traces")
        types = dict(wh.execute("SELECT run_id, run_type FROM runs WHERE project = ?", [TRACE_PROJECT]))
        labels = wh.execute(
            "SELECT item_id, reviewer, criterion, step_run_id FROM labels WHERE queue = 'support-traces'"
        )
        submitted = wh.execute("SELECT DISTINCT item_id, reviewer FROM submissions WHERE queue = 'support-traces'")
    assert labels and submitted
    per_reviewer = Counter()
    for item_id, reviewer, criterion, step in labels:
        if criterion in per_step:
            assert step in units[item_id] and [types[step]] == per_step[criterion]
            per_reviewer[item_id, reviewer, criterion] += 1
        else:
            assert step == ""  # a whole-trace answer
    # each demo trace has one retrieval and one tool call: every submission answered each once, by step
    assert per_reviewer == {(i, r, c): 1 for i, r in submitted for c in per_step}


def test_consensus_per_step_follows_the_labels(demo) -> None:
    _, settings = demo
    with Warehouse(settings.warehouse_path) as wh:
        labels = wh.execute(
            """SELECT l.item_id, l.criterion, l.step_run_id, l.value FROM labels l JOIN items i USING (item_id)
               WHERE l.queue = 'support-traces' AND l.step_run_id <> ''
                 AND (SELECT count(DISTINCT reviewer) FROM submissions s WHERE s.item_id = l.item_id)
                     >= i.reviewers_needed"""
        )
        found = {(i, c, s): (v, m) for i, c, s, v, m in wh.execute(
            """SELECT item_id, criterion, step_run_id, value, method FROM consensus
               WHERE queue = 'support-traces' AND step_run_id <> ''"""
        )}  # fmt: skip
    answers = defaultdict(list)
    for item_id, criterion, step, value in labels:
        answers[item_id, criterion, step].append(value)
    # by hand: one answer is a single consensus, two equal answers unanimous, two different a dispute
    expected = {
        key: (values[0], "single" if len(values) == 1 else "unanimous")
        for key, values in answers.items()
        if len(set(values)) == 1
    }
    assert found == expected
    assert {m for _, m in found.values()} == {"single", "unanimous"} and len(expected) < len(answers)


def test_the_demo_promotes_unit_examples_with_their_unit_lineage(demo) -> None:
    result, settings = demo
    made = {d.dataset: d for p in result.promoted if p.queue in UNIT_QUEUES for d in p.datasets}
    assert set(made) == {"support-tool-calls", "support-agent-regression", "support-conversations-sft"}
    with Warehouse(settings.warehouse_path) as wh:
        units = {q: unit_runs_of(wh, q) for q in UNIT_QUEUES}
        unit_ids = dict(wh.execute("SELECT item_id, unit_id FROM items WHERE unit <> 'run'"))
        trusted = {(i, c, s) for i, c, s in wh.execute(
            "SELECT item_id, criterion, step_run_id FROM consensus WHERE method IN ('unanimous', 'majority')"
        )}  # fmt: skip
    for name, found in made.items():
        lineage = datasets.lineage(name, data_dir=settings.data_dir)
        assert found.status == "created" and len(lineage) == found.rows > 0
        for ex in lineage.to_dict("records"):
            queue = ex["queue"]
            assert ex["unit"] == UNIT_QUEUES[queue] and ex["unit_id"] == unit_ids[ex["item_id"]]
            assert set(ex["run_ids"]) == units[queue][ex["item_id"]]  # every run of the unit
            if name == "support-tool-calls":  # one example per trusted (item, step)
                step = ex["step_run_id"]
                ((criterion, method),) = ex["methods"].items()
                assert step in ex["run_ids"] and (ex["item_id"], criterion, step) in trusted and method == "unanimous"
