"""Sampling: every design's inclusion probabilities, the assignment plan, gold items and the estimator.

Known answers throughout: counts re-derived with SQL, hand-computed probabilities, and textbook
formulas. Demo warehouses (3,000 runs, seed 5) are ingested once and copied per test.
"""

from __future__ import annotations

import math
import shutil
from collections import Counter
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest

from reviewdesk.demo.exports import write_runs
from reviewdesk.demo.logs import generate_runs
from reviewdesk.errors import ConfigError, EmptyPopulation, NotFound, ReviewdeskError
from reviewdesk.ingest import ingest_file
from reviewdesk.sample import designs as sampling_module
from reviewdesk.sample.allocation import allocate, inclusion_probabilities, systematic_allocation
from reviewdesk.sample.batches import list_batches, load_batch
from reviewdesk.sample.designs import draw_batch
from reviewdesk.sample.estimates import horvitz_thompson
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

SUPPORT_LLM = "project = 'support' AND run_type = 'llm' AND status = 'success'"
RUBRIC = {"instructions": "Is the answer right?", "criteria": [{"key": "correctness", "type": "boolean"}]}


def make_queue(sampling: dict, name: str = "q", **top: object) -> QueueConfig:
    return QueueConfig.model_validate({"name": name, "rubric": RUBRIC, "sampling": sampling, **top})


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed warehouse file holding 3,000 demo runs (seed 5)."""
    d = tmp_path_factory.mktemp("demo")
    write_runs(generate_runs(3000, seed=5), d / "runs.jsonl")
    with Warehouse(d / "template.duckdb") as wh:
        ingest_file(wh, d / "runs.jsonl")
    return d / "template.duckdb"


def open_copy(template: Path, path: Path) -> Warehouse:
    shutil.copy(template, path)
    return Warehouse(path)


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path):
    with open_copy(demo_template, tmp_path / "warehouse.duckdb") as wh:
        yield wh


def add_runs(wh: Warehouse, rows: list[dict]) -> None:
    """Hand-made runs: run_id plus any of name, model, project, run_type, status, user_feedback, inputs."""
    cols = ("run_id", "name", "model", "project", "run_type", "status", "user_feedback", "inputs")
    defaults = {"project": "support", "run_type": "llm", "status": "success"}
    wh.con.executemany(
        f"INSERT INTO runs ({', '.join(cols)}, source_format, ingested_at) VALUES ({', '.join('?' * len(cols))}, "
        "'test', now())",
        [[{**defaults, **r}.get(c) for c in cols] for r in rows],
    )


def population(wh: Warehouse, where: str = SUPPORT_LLM) -> int:
    return wh.scalar(f"SELECT count(*) FROM runs WHERE {where}")


def sampled(batch) -> list[dict]:
    return [i for i in batch.items if not i["is_gold"]]


def runs_of(batch) -> set[str]:
    return {r for i in batch.items for r in (i["run_id"], i["run_a"], i["run_b"]) if r}


# ---------------------------------------------------------------------------------------------
# random


def test_random_sample_has_pi_n_over_population_and_sum_of_inverse_pi_equals_population(demo):
    batch = draw_batch(demo, make_queue({"filter": SUPPORT_LLM, "size": 100}), seed=3)
    n_pop = population(demo)
    items = sampled(batch)
    assert batch.population == n_pop and batch.size == len(items) == 100
    assert len({i["run_id"] for i in items}) == 100
    assert all(i["inclusion_probability"] == 100 / n_pop for i in items)
    assert sum(1 / i["inclusion_probability"] for i in items) == pytest.approx(n_pop, rel=1e-9, abs=1e-9)


def test_size_above_the_population_takes_every_run_with_certainty(warehouse):
    add_runs(warehouse, [{"run_id": f"r{i:02d}"} for i in range(40)])
    batch = draw_batch(warehouse, make_queue({"size": 1000}), seed=1)
    assert batch.size == batch.population == 40
    assert {i["inclusion_probability"] for i in batch.items} == {1.0}


# ---------------------------------------------------------------------------------------------
# stratified


def test_stratified_proportional_allocation_matches_stratum_shares(demo):
    queue = make_queue({"filter": SUPPORT_LLM, "strategy": "stratified", "stratify_by": ["model"], "size": 200})
    batch = draw_batch(demo, queue, seed=8)
    counts = dict(demo.execute(f"SELECT model, count(*) FROM runs WHERE {SUPPORT_LLM} GROUP BY model"))
    n_pop = sum(counts.values())
    drawn = Counter(i["stratum"] for i in batch.items)
    assert sum(drawn.values()) == 200 and set(drawn) == set(counts)
    for model, n_h in drawn.items():
        assert abs(n_h - 200 * counts[model] / n_pop) < 1, model
    for item in batch.items:
        assert item["inclusion_probability"] == drawn[item["stratum"]] / counts[item["stratum"]]
    assert sum(1 / i["inclusion_probability"] for i in batch.items) == pytest.approx(n_pop, rel=1e-9, abs=1e-9)
    mislabelled = demo.scalar(
        "SELECT count(*) FROM items i JOIN runs r USING (run_id) WHERE i.batch_id = ? AND i.stratum <> r.model",
        [batch.batch_id],
    )
    assert mislabelled == 0
    assert {s["stratum"]: s["size"] for s in batch.params["strata"]} == dict(drawn)


def test_stratified_over_two_expressions_covers_every_stratum_including_null_values(demo):
    queue = make_queue(
        {"filter": SUPPORT_LLM, "strategy": "stratified", "stratify_by": ["model", "user_feedback"], "size": 150}
    )
    batch = draw_batch(demo, queue, seed=2)
    strata = demo.execute(f"SELECT DISTINCT model, user_feedback FROM runs WHERE {SUPPORT_LLM}")
    labels = {f"{m} | {'NULL' if f is None else f}" for m, f in strata}
    assert {i["stratum"] for i in batch.items} == labels  # every stratum has a unit, so 1/pi covers it
    assert any(label.endswith("| NULL") for label in labels)
    assert sum(1 / i["inclusion_probability"] for i in batch.items) == pytest.approx(
        population(demo), rel=1e-9, abs=1e-9
    )


def test_proportional_allocation_gives_a_tiny_stratum_one_unit():
    # Largest remainder alone gives [20, 0]: the 5-unit stratum would have no weight in any estimate.
    assert allocate([1000, 5], 20, "proportional") == [19, 1]
    assert allocate([50, 30, 20], 10, "proportional") == [5, 3, 2]
    assert allocate([1, 1, 1], 2, "proportional") in ([1, 1, 0], [1, 0, 1], [0, 1, 1])  # fewer units than strata


def test_equal_allocation_redistributes_what_small_strata_cannot_take(warehouse):
    rows = [{"run_id": f"a{i:03d}", "model": "a"} for i in range(50)]
    rows += [{"run_id": f"b{i:03d}", "model": "b"} for i in range(40)]
    rows += [{"run_id": f"c{i:03d}", "model": "c"} for i in range(3)]
    add_runs(warehouse, rows)
    queue = make_queue({"strategy": "stratified", "stratify_by": ["model"], "allocation": "equal", "size": 30})
    batch = draw_batch(warehouse, queue, seed=4)
    drawn = Counter(i["stratum"] for i in batch.items)
    assert drawn["c"] == 3  # all it has; its other 7 go to a and b
    assert sorted([drawn["a"], drawn["b"]]) == [13, 14]
    pi = {i["stratum"]: i["inclusion_probability"] for i in batch.items}
    assert pi == {"a": drawn["a"] / 50, "b": drawn["b"] / 40, "c": 1.0}
    assert sum(1 / i["inclusion_probability"] for i in batch.items) == pytest.approx(93, rel=1e-9)
    assert allocate([50, 40, 3], 30, "equal") in ([14, 13, 3], [13, 14, 3])
    assert allocate([10, 10, 10, 10], 20, "equal") == [5, 5, 5, 5]


# ---------------------------------------------------------------------------------------------
# the filter and exclude_reviewed


@pytest.mark.parametrize(
    "sampling",
    [
        {"strategy": "random"},
        {"strategy": "stratified", "stratify_by": ["model"]},
        {"strategy": "weighted", "weights": [{"when": "user_feedback < 0", "weight": 4}]},
    ],
)
def test_every_sampled_run_satisfies_the_filter(demo, sampling):
    where = "status = 'success' AND (model = 'gpt-4.1' OR latency_ms > 1500) AND run_type = 'llm'"
    batch = draw_batch(demo, make_queue({"filter": where, "size": 80, **sampling}), seed=6)
    assert batch.population == population(demo, where) and batch.size == 80
    checked = demo.execute(
        f"SELECT count(*), count(*) FILTER (WHERE ({where}) IS NOT TRUE) FROM items JOIN runs USING (run_id) "
        "WHERE batch_id = ?",
        [batch.batch_id],
    )
    assert checked == [(80, 0)]


def test_consecutive_batches_with_exclude_reviewed_are_disjoint(demo):
    queue = make_queue({"filter": SUPPORT_LLM, "size": 100})
    first = draw_batch(demo, queue, seed=1)
    second = draw_batch(demo, queue, seed=1)  # same seed: the next 100 in the same seeded order
    assert not runs_of(first) & runs_of(second)
    assert second.population == first.population - 100
    other = draw_batch(demo, make_queue({"filter": SUPPORT_LLM, "size": 100}, name="other"), seed=1)
    assert runs_of(other) == runs_of(first)  # exclusion is per queue


def test_without_exclude_reviewed_batches_may_overlap(warehouse):
    add_runs(warehouse, [{"run_id": f"r{i:02d}"} for i in range(40)])
    queue = make_queue({"size": 30, "exclude_reviewed": False})
    first, second = draw_batch(warehouse, queue, seed=1), draw_batch(warehouse, queue, seed=2)
    assert first.population == second.population == 40
    assert len(runs_of(first) & runs_of(second)) >= 20  # 30 + 30 of 40
    assert runs_of(first) != runs_of(second)


# ---------------------------------------------------------------------------------------------
# seeds and reproducibility


def test_same_seed_on_same_data_gives_the_same_batch(demo_template, tmp_path):
    queue = make_queue(
        {"filter": SUPPORT_LLM, "strategy": "stratified", "stratify_by": ["model"], "size": 60},
        reviewers_per_item=2, overlap_fraction=0.5, gold_fraction=0.1,
        gold_source="json_extract(metadata, '$.demo_truth')",
    )  # fmt: skip
    drawn = []
    for name in ("one", "two"):
        with open_copy(demo_template, tmp_path / f"{name}.duckdb") as wh:
            drawn.append(draw_batch(wh, queue, seed=123).as_dict())
    one, two = ({k: v for k, v in d.items() if k != "created_at"} for d in drawn)
    assert one == two  # batch id, runs, order, item ids, probabilities, reviewers, gold
    with open_copy(demo_template, tmp_path / "three.duckdb") as wh:
        assert runs_of(draw_batch(wh, queue, seed=124)) != {i.get("run_id") for i in one["items"]}


def test_redrawing_a_recorded_batch_returns_it_and_writes_nothing(warehouse):
    add_runs(warehouse, [{"run_id": f"r{i:02d}"} for i in range(40)])
    queue = make_queue({"size": 10, "exclude_reviewed": False})
    first = draw_batch(warehouse, queue, seed=9)
    again = draw_batch(warehouse, queue, seed=9)
    assert again.batch_id == first.batch_id and again.items == first.items
    assert warehouse.scalar("SELECT count(*) FROM batches") == 1
    assert warehouse.scalar("SELECT count(*) FROM items") == 10


def test_a_fresh_seed_is_recorded_and_reproduces_the_batch(tmp_path):
    runs = [{"run_id": f"r{i:03d}", "model": "ab"[i % 2]} for i in range(200)]
    queue = make_queue({"size": 20})
    with Warehouse(tmp_path / "a.duckdb") as wh:
        add_runs(wh, runs)
        batch = draw_batch(wh, queue)
        assert 0 <= batch.seed < 2**31 and batch.params["seed_source"] == "fresh"
        assert load_batch(wh, batch.batch_id).seed == batch.seed
    with Warehouse(tmp_path / "b.duckdb") as wh:
        add_runs(wh, runs)
        assert draw_batch(wh, queue, seed=batch.seed).batch_id == batch.batch_id


def test_queue_seed_is_used_when_no_seed_is_given(warehouse):
    add_runs(warehouse, [{"run_id": f"r{i:02d}"} for i in range(40)])
    batch = draw_batch(warehouse, make_queue({"size": 5, "seed": 77}))
    assert batch.seed == 77 and batch.params["seed_source"] == "queue"


def test_duckdb_hash_is_the_recorded_one():
    # Batches are reproducible only while DuckDB's string hash stays the same (across processes
    # it is; across versions, this test is the alarm). Each batch records the DuckDB version.
    assert duckdb.connect().execute("SELECT hash('run-1' || ':' || '42')").fetchone()[0] == 14174725604510792554


# ---------------------------------------------------------------------------------------------
# weighted


def test_weighted_capping_hand_computed_on_10_runs(warehouse):
    # n = 3, weights 100, 8 and eight 1s (W = 116). Round 1: 3 * 100/116 >= 1, so `huge` is certain.
    # Round 2: 2 units left over W = 16: `big` gets 2 * 8/16 = 1, certain too. Round 3: 1 unit
    # over the eight 1s: pi = 1/8 each. Sum of pi = 1 + 1 + 8/8 = 3.
    rows = [{"run_id": "huge", "name": "huge"}, {"run_id": "big", "name": "big"}]
    rows += [{"run_id": f"r{i}", "name": "small"} for i in range(8)]
    add_runs(warehouse, rows)
    weights = [{"when": "name = 'huge'", "weight": 100}, {"when": "name = 'big'", "weight": 8}]
    queue = make_queue({"strategy": "weighted", "weights": weights, "size": 3, "exclude_reviewed": False})
    pi = inclusion_probabilities({"huge": (100.0, 1), "big": (8.0, 1), "small": (1.0, 8)}, 3)
    assert pi == {"huge": 1, "big": 1, "small": Fraction(1, 8)}
    smalls = Counter()
    for seed in range(40):
        batch = draw_batch(warehouse, queue, seed=seed)
        got = {i["run_id"]: i["inclusion_probability"] for i in batch.items}
        assert len(got) == 3 and got["huge"] == 1.0 and got["big"] == 1.0
        (small,) = set(got) - {"huge", "big"}
        assert got[small] == 0.125
        smalls[small] += 1
    assert len(smalls) >= 6  # the one uncertain unit really varies with the seed


def test_weighted_sum_of_inverse_pi_is_the_population_on_average(demo):
    weights = [{"when": "user_feedback < 0", "weight": 5}, {"when": "model = 'llama-3.1-70b'", "weight": 2}]
    queue = make_queue({"filter": SUPPORT_LLM, "strategy": "weighted", "weights": weights, "size": 60,
                        "exclude_reviewed": False})  # fmt: skip
    n_pop, totals = population(demo), []
    for seed in range(25):
        batch = draw_batch(demo, queue, seed=seed)
        assert batch.size == 60 and batch.population == n_pop
        assert all(0 < i["inclusion_probability"] <= 1 for i in batch.items)
        totals.append(sum(1 / i["inclusion_probability"] for i in batch.items))
    assert abs(sum(totals) / len(totals) - n_pop) < 0.05 * n_pop
    # oversampling worked: negative feedback is 5x as likely per unit as a plain run of the same model
    classes = {tuple(c["matches"]): c["inclusion_probability"] for c in batch.params["weight_classes"]}
    assert classes[("user_feedback < 0",)] == pytest.approx(5 * classes[()])


def test_weighted_empirical_inclusion_frequencies_match_pi(warehouse):
    weights = [1, 1, 1, 1, 2, 2, 2, 3, 3, 5, 6, 9]  # W = 36, n = 4: pi = w/9, all below 1
    add_runs(warehouse, [{"run_id": f"r{i:02d}", "name": f"w{w}"} for i, w in enumerate(weights)])
    rules = [{"when": f"name = 'w{w}'", "weight": w} for w in sorted(set(weights)) if w > 1]
    queue = make_queue({"strategy": "weighted", "weights": rules, "size": 4, "exclude_reviewed": False})
    draws, hits, pi = 300, Counter(), {}
    for seed in range(draws):
        batch = draw_batch(warehouse, queue, seed=seed)
        assert batch.size == 4
        for item in batch.items:
            hits[item["run_id"]] += 1
            pi[item["run_id"]] = item["inclusion_probability"]
    for i, w in enumerate(weights):
        expected = w / 9
        assert pi[f"r{i:02d}"] == pytest.approx(expected)
        assert abs(hits[f"r{i:02d}"] / draws - expected) < 3.5 * math.sqrt(expected * (1 - expected) / draws) + 0.01


def test_systematic_allocation_is_exact_on_average_and_always_sums_to_n():
    lengths = [Fraction(7, 3), Fraction(1, 2), Fraction(13, 6), Fraction(2)]  # total 7
    starts = [Fraction(k, 600) for k in range(600)]
    runs = [systematic_allocation(lengths, u) for u in starts]
    assert all(sum(r) == 7 for r in runs)
    assert all(math.floor(x) <= c <= math.ceil(x) for r in runs for c, x in zip(r, lengths, strict=True))
    means = [Fraction(sum(r[j] for r in runs), len(runs)) for j in range(len(lengths))]
    assert means == lengths  # a grid of starts with step 1/600 averages out exactly


# ---------------------------------------------------------------------------------------------
# pairwise


def test_pairwise_items_are_two_runs_with_the_same_key_and_different_models(demo):
    queue = make_queue({"filter": SUPPORT_LLM, "size": 40}, kind="pairwise")
    batch = draw_batch(demo, queue, seed=5)
    candidates = demo.scalar(
        f"""SELECT count(*) FROM (SELECT md5(inputs::VARCHAR) FROM runs WHERE {SUPPORT_LLM} AND model IS NOT NULL
            GROUP BY 1 HAVING count(DISTINCT model) >= 2)"""
    )
    # Pairs whose answers are identical (after whitespace normalisation) are left out of the population.
    assert batch.population + batch.identical_skipped == candidates and batch.size == 40
    assert batch.identical_skipped > 0  # the demo logs hold such pairs
    answers = demo.execute(
        """SELECT coalesce(a.outputs::VARCHAR, '') || coalesce(a.error, ''),
                  coalesce(b.outputs::VARCHAR, '') || coalesce(b.error, '')
           FROM items i JOIN runs a ON a.run_id = i.run_a JOIN runs b ON b.run_id = i.run_b WHERE i.batch_id = ?""",
        [batch.batch_id],
    )
    assert all("".join(x.split()) != "".join(y.split()) for x, y in answers)
    rows = demo.execute(
        """SELECT i.run_a < i.run_b, md5(a.inputs::VARCHAR) = md5(b.inputs::VARCHAR), a.model <> b.model,
                  i.left_run_id = i.run_a, i.left_run_id = i.run_b, i.run_id IS NULL
           FROM items i JOIN runs a ON a.run_id = i.run_a JOIN runs b ON b.run_id = i.run_b WHERE i.batch_id = ?""",
        [batch.batch_id],
    )
    assert len(rows) == 40
    assert all(ordered and same_key and differ and (left_a != left_b) and no_single
               for ordered, same_key, differ, left_a, left_b, no_single in rows)  # fmt: skip
    sides = Counter(left_a for *_, left_a, _, _ in rows)
    assert sides[True] > 0 and sides[False] > 0  # A/B sides are randomized
    assert sum(1 / i["inclusion_probability"] for i in batch.items) == pytest.approx(batch.population, rel=1e-9)
    assert {"run_a", "run_b", "left_run_id"} <= set(batch.as_dict()["items"][0])


def test_pairwise_with_exclude_reviewed_never_reuses_a_run(demo):
    queue = make_queue({"filter": SUPPORT_LLM, "size": 30}, kind="pairwise")
    first, second = draw_batch(demo, queue, seed=1), draw_batch(demo, queue, seed=1)
    assert not runs_of(first) & runs_of(second)


def test_pairwise_queue_with_gold_is_refused(demo):
    queue = make_queue({"size": 5}, kind="pairwise", gold_fraction=0.1, gold_source="metadata")
    with pytest.raises(ConfigError, match="single queues only"):
        draw_batch(demo, queue, seed=1)


# ---------------------------------------------------------------------------------------------
# assignment plan, gold items, shown order


def test_overlap_plan_gives_exactly_round_size_times_fraction_items_several_reviewers(demo):
    queue = make_queue({"filter": SUPPORT_LLM, "size": 95}, reviewers_per_item=3, overlap_fraction=0.3)
    batch = draw_batch(demo, queue, seed=2)
    plan = Counter(i["reviewers_needed"] for i in batch.items)
    assert plan == {3: 29, 1: 66}  # 95 * 0.3 = 28.5, rounded half up
    assert batch.params["overlap_items"] == 29


def test_gold_items_are_extra_known_answers_outside_the_sample(demo):
    queue = make_queue(
        {"filter": SUPPORT_LLM, "strategy": "stratified", "stratify_by": ["model"], "size": 200},
        reviewers_per_item=2, overlap_fraction=0.25, gold_fraction=0.05,
        gold_source="json_extract(metadata, '$.demo_truth')", assignees=["ann", "bob", "cy"],
    )  # fmt: skip
    batch = draw_batch(demo, queue, seed=7)
    gold = [i for i in batch.items if i["is_gold"]]
    assert batch.size == 200 and len(gold) == 10 and len(batch.items) == 210
    assert all(i["inclusion_probability"] is None and i["reviewers_needed"] == 3 for i in gold)
    assert not {i["run_id"] for i in gold} & {i["run_id"] for i in sampled(batch)}
    # gold runs come from the population, so they pass the filter
    truth = dict(demo.execute(f"SELECT run_id, metadata ->> '$.demo_truth.correctness' FROM runs WHERE {SUPPORT_LLM}"))
    assert all(i["gold_answer"]["correctness"] == truth[i["run_id"]] for i in gold)
    stored = load_batch(demo, batch.batch_id)
    assert [i["gold_answer"] for i in stored.items if i["is_gold"]] == [i["gold_answer"] for i in gold]
    assert sorted(i["position"] for i in batch.items) == list(range(1, 211))
    assert min(i["position"] for i in gold) < 200  # mixed in, not appended
    assert Counter(i["reviewers_needed"] for i in sampled(batch)) == {2: 50, 1: 150}
    as_json = batch.as_dict()["items"]
    assert all(i["is_gold"] and i["inclusion_probability"] is None for i in as_json if i["is_gold"])


def test_a_sample_of_nearly_everything_gets_every_free_known_answer_as_gold(demo):
    """Sampled units come first in gold order as often as not: gold leaves them out before it takes its first."""
    population = demo.execute(f"SELECT count(*) FROM runs WHERE {SUPPORT_LLM}")[0][0]
    queue = make_queue({"filter": SUPPORT_LLM, "size": population - 3}, gold_fraction=0.05,
                       gold_source="metadata -> 'demo_truth'")  # fmt: skip
    batch = draw_batch(demo, queue, seed=4)
    known = {r for (r,) in demo.execute(f"SELECT run_id FROM runs WHERE {SUPPORT_LLM} AND (metadata -> 'demo_truth') "
                                        "IS NOT NULL")}  # fmt: skip
    free = known - {i["run_id"] for i in sampled(batch)}
    assert 0 < len(free) <= 3 < round(0.05 * (population - 3))  # fewer free than wanted: all of them
    assert {i["run_id"] for i in batch.items if i["is_gold"]} == free


def test_a_small_batch_still_gets_one_gold_item(demo):
    queue = make_queue({"filter": SUPPORT_LLM, "size": 5}, gold_fraction=0.05, gold_source="metadata -> 'demo_truth'")
    batch = draw_batch(demo, queue, seed=3)
    assert batch.size == 5 and sum(i["is_gold"] for i in batch.items) == 1


def test_gold_takes_what_exists_when_the_sample_leaves_too_few_known_answers(warehouse):
    add_runs(warehouse, [{"run_id": f"r{i:02d}", "inputs": '{"answer": true}'} for i in range(30)])
    queue = make_queue({"size": 28}, gold_fraction=0.1, gold_source="inputs")
    batch = draw_batch(warehouse, queue, seed=1)
    gold = [i for i in batch.items if i["is_gold"]]
    assert (batch.params["gold_requested"], batch.params["gold_items"], len(gold)) == (3, 2, 2)
    assert runs_of(batch) == {f"r{i:02d}" for i in range(30)}
    assert gold[0]["gold_answer"] == {"answer": True}


def test_a_sample_of_the_whole_population_has_no_run_left_for_gold(warehouse):
    add_runs(warehouse, [{"run_id": f"r{i:02d}", "inputs": '{"answer": true}'} for i in range(30)])
    batch = draw_batch(warehouse, make_queue({"size": 30}, gold_fraction=0.1, gold_source="inputs"), seed=1)
    assert (batch.size, batch.item_count, batch.params["gold_requested"], batch.params["gold_items"]) == (30, 30, 3, 0)
    assert not any(i["is_gold"] for i in batch.items)


def test_a_batch_drawn_without_its_items_is_the_recorded_one(demo):
    queue = make_queue({"filter": SUPPORT_LLM, "size": 40, "exclude_reviewed": False}, gold_fraction=0.05,
                       gold_source="metadata -> 'demo_truth'")
    bare = draw_batch(demo, queue, seed=8, items=False)
    assert bare.items == [] and (bare.size, bare.item_count) == (40, 42)
    assert load_batch(demo, bare.batch_id) == draw_batch(demo, queue, seed=8)  # drawn again: the recorded batch


# ---------------------------------------------------------------------------------------------
# large batches


@pytest.mark.parametrize(
    "sampling",
    [
        {"strategy": "random"},
        {"strategy": "stratified", "stratify_by": ["model", "user_feedback"]},
        {"strategy": "weighted", "weights": [{"when": "user_feedback < 0", "weight": 4}]},
    ],
)
def test_large_draws_sort_each_group_and_draw_the_same_batch(demo_template, tmp_path, monkeypatch, sampling):
    queue = make_queue({"filter": SUPPORT_LLM, "size": 300, **sampling}, gold_fraction=0.02, gold_source="metadata")
    with open_copy(demo_template, tmp_path / "heap.duckdb") as wh:
        small = draw_batch(wh, queue, seed=21)
    monkeypatch.setattr(sampling_module, "HEAP_LIMIT", 0)  # as if the batch were too large for heaps
    with open_copy(demo_template, tmp_path / "sort.duckdb") as wh:
        large = draw_batch(wh, queue, seed=21)
        assert load_batch(wh, large.batch_id) == large
    assert large.batch_id == small.batch_id and large.items == small.items


# ---------------------------------------------------------------------------------------------
# errors, loading and listing


def test_an_empty_population_is_a_clear_error_and_writes_nothing(demo):
    queue = make_queue({"filter": "model = 'no-such-model'", "size": 10})
    with pytest.raises(EmptyPopulation, match=r"ingest runs or loosen sampling\.filter") as e:
        draw_batch(demo, queue, seed=1)
    assert isinstance(e.value, ReviewdeskError) and e.value.exit_code == 2
    assert demo.scalar("SELECT count(*) FROM batches") == demo.scalar("SELECT count(*) FROM items") == 0


def test_a_fully_reviewed_population_says_so(warehouse):
    add_runs(warehouse, [{"run_id": f"r{i}"} for i in range(5)])
    queue = make_queue({"size": 5})
    draw_batch(warehouse, queue, seed=1)
    with pytest.raises(EmptyPopulation, match="not yet in one of its batches"):
        draw_batch(warehouse, queue, seed=2)


def test_pairwise_without_pairs_is_a_clear_error(warehouse):
    add_runs(warehouse, [{"run_id": f"r{i}", "model": "same", "inputs": '{"q": 1}'} for i in range(5)])
    with pytest.raises(EmptyPopulation, match="no pairs"):
        draw_batch(warehouse, make_queue({"size": 5}, kind="pairwise"), seed=1)


def test_load_batch_of_an_unknown_id_raises_not_found(warehouse):
    with pytest.raises(NotFound, match="reviewdesk batches list"):
        load_batch(warehouse, "b-nope")


def test_list_batches_newest_first_with_item_counts(demo):
    a = draw_batch(demo, make_queue({"filter": SUPPORT_LLM, "size": 10}, name="a"), seed=1)
    b = draw_batch(
        demo, make_queue({"filter": SUPPORT_LLM, "size": 20}, name="b", gold_fraction=0.1, gold_source="metadata"),
        seed=1,
    )  # fmt: skip
    listed = list_batches(demo)
    assert [x["batch_id"] for x in listed] == [b.batch_id, a.batch_id]
    assert (listed[0]["items"], listed[0]["gold_items"], listed[0]["published_at"]) == (22, 2, None)
    assert [x["batch_id"] for x in list_batches(demo, "a")] == [a.batch_id]
    assert list_batches(demo, "nothing") == []


def test_load_batch_round_trips_what_draw_batch_returned(demo):
    queue = make_queue({"filter": SUPPORT_LLM, "size": 12}, kind="pairwise")
    batch = draw_batch(demo, queue, seed=4)
    assert load_batch(demo, batch.batch_id) == batch


def test_load_batch_without_items_reads_its_row_and_counts_its_items(demo):
    queue = make_queue({"filter": SUPPORT_LLM, "size": 20}, gold_fraction=0.1, gold_source="metadata")
    batch = draw_batch(demo, queue, seed=5)
    row = load_batch(demo, batch.batch_id, items=False)
    assert (row.items, row.suggestions, row.published_at) == ([], {}, None)
    assert row.item_count == batch.item_count == len(batch.items) == 22
    assert replace(row, items=batch.items) == batch


# ---------------------------------------------------------------------------------------------
# Horvitz-Thompson


def test_horvitz_thompson_hand_computed_unequal_probabilities():
    # 1/pi = 2, 4, 5, 10: N^ = 21, t = 2 + 5 + 10 = 17, p = 17/21.
    # z = (y - p)/pi = 8/21, -68/21, 20/21, 40/21 (mean 0); sum z^2 = 6688/441.
    # v = 4/3 * 6688/441 * (1 - 4/21); Var(p) = v / 21^2.
    est = horvitz_thompson([1, 0, 1, 1], [0.5, 0.25, 0.2, 0.1])
    assert est.proportion == pytest.approx(17 / 21)
    assert est.population == pytest.approx(21)
    var = 4 / 3 * 6688 / 441 * (17 / 21) / 21**2
    assert est.stderr == pytest.approx(math.sqrt(var))  # 0.19266...
    assert est.stderr == pytest.approx(0.192661, abs=1e-6)
    assert est.low == pytest.approx(17 / 21 - 1.959963985 * math.sqrt(var))
    assert est.high == 1.0  # clipped
    assert est.n == 4


def test_horvitz_thompson_with_known_population():
    # p = t/N = 17/25; z = y/pi = 2, 0, 5, 10 (mean 17/4); sum (z - mean)^2 = 56.75; fpc 1 - 4/25.
    est = horvitz_thompson([1, 0, 1, 1], [0.5, 0.25, 0.2, 0.1], population=25)
    assert est.proportion == pytest.approx(17 / 25)
    assert est.stderr == pytest.approx(math.sqrt(4 / 3 * 56.75 * (21 / 25)) / 25)


def test_horvitz_thompson_on_a_simple_random_sample_is_the_textbook_interval():
    n, big_n = 50, 1000
    y = [1] * 18 + [0] * 32
    est = horvitz_thompson(y, [n / big_n] * n)
    p = 18 / 50
    se = math.sqrt((1 - n / big_n) * p * (1 - p) / (n - 1))
    assert est.proportion == pytest.approx(p) and est.population == pytest.approx(big_n)
    assert est.stderr == pytest.approx(se)
    assert (est.low, est.high) == pytest.approx((p - 1.959963985 * se, p + 1.959963985 * se))
    est90 = horvitz_thompson(y, [n / big_n] * n, population=big_n, confidence=0.90)
    assert est90.stderr == pytest.approx(se)
    assert est90.high - est90.proportion == pytest.approx(1.644853627 * se)


def test_horvitz_thompson_certain_units_add_no_variance():
    census = horvitz_thompson([1, 0, 1], [1, 1, 1])
    assert (census.proportion, census.stderr, census.low, census.high) == (2 / 3, 0.0, 2 / 3, 2 / 3)
    mixed = horvitz_thompson([1, 0, 1, 0], [1.0, 0.5, 0.5, 0.5])  # 1 certain + 3 of 6
    assert mixed.population == pytest.approx(7)
    assert mixed.proportion == pytest.approx(3 / 7)


def test_horvitz_thompson_rejects_what_it_cannot_estimate():
    with pytest.raises(ValueError, match="one probability per value"):
        horvitz_thompson([1, 0], [0.5])
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        horvitz_thompson([1], [0])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        horvitz_thompson([2], [0.5])
    with pytest.raises(ValueError, match="at least one"):
        horvitz_thompson([], [])
