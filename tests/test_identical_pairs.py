"""Identical pairs are never published: pairwise sampling leaves out pairs whose two answers are equal after
whitespace normalisation, in SQL, and the batch records how many it left out."""

from __future__ import annotations

import json

import pytest

from reviewdesk.errors import EmptyPopulation
from reviewdesk.sample.batches import list_batches, load_batch
from reviewdesk.sample.designs import draw_batch
from schemas.queue import QueueConfig

RUBRIC = {"instructions": "Which is better?", "criteria": [{"key": "margin", "type": "ordinal", "options": [1, 2]}]}


def pairwise_queue(size: int = 5) -> QueueConfig:
    return QueueConfig.model_validate({"name": "ab", "kind": "pairwise", "rubric": RUBRIC, "sampling": {"size": size}})


def add(wh, run_id: str, question: str, model: str, output: object, error: str | None = None) -> None:
    wh.execute(
        """INSERT INTO runs (run_id, model, project, run_type, status, error, inputs, outputs, source_format,
                             ingested_at) VALUES (?, ?, 'support', 'llm', 'success', ?, ?, ?, 'test', now())""",
        [run_id, model, error, json.dumps({"q": question}), None if output is None else json.dumps(output)],
    )


def test_three_pairs_one_identical_modulo_whitespace_publishes_two_and_counts_one(warehouse):
    add(warehouse, "a1", "q1", "m1", {"text": "Yes, you can."})
    add(warehouse, "a2", "q1", "m2", {"text": "No, you cannot."})
    add(warehouse, "b1", "q2", "m1", {"text": "Reset it from  Settings.\n"})
    add(warehouse, "b2", "q2", "m2", {"text": "Reset it\nfrom Settings."})  # the same answer, laid out otherwise
    add(warehouse, "c1", "q3", "m1", {"text": "Call us."})
    add(warehouse, "c2", "q3", "m2", {"text": "Call us!"})  # one character apart: a real pair

    batch = draw_batch(warehouse, pairwise_queue(), seed=1)

    assert sorted((i["run_a"], i["run_b"]) for i in batch.items) == [("a1", "a2"), ("c1", "c2")]
    assert (batch.population, batch.size, batch.identical_skipped) == (2, 2, 1)
    assert [i["inclusion_probability"] for i in batch.items] == [1.0, 1.0]  # 2 of a population of 2
    assert batch.as_dict()["identical_pairs_skipped"] == 1
    assert load_batch(warehouse, batch.batch_id).identical_skipped == 1  # recorded with the batch
    assert list_batches(warehouse)[0]["identical_pairs_skipped"] == 1


def test_a_key_pairs_its_first_run_with_another_whose_answer_differs(warehouse):
    # q1 has three runs: whichever of the two identical ones comes first, its partner is the one that differs.
    add(warehouse, "x1", "q1", "m1", {"text": "Same answer"})
    add(warehouse, "x2", "q1", "m2", {"text": "Same  answer"})
    add(warehouse, "x3", "q1", "m3", {"text": "Another answer"})
    batch = draw_batch(warehouse, pairwise_queue(), seed=7)
    [item] = batch.items
    assert "x3" in (item["run_a"], item["run_b"]) and batch.identical_skipped == 0


def test_errors_count_as_part_of_the_answer(warehouse):
    add(warehouse, "e1", "q1", "m1", None, error="timeout")
    add(warehouse, "e2", "q1", "m2", None, error="rate limited")
    add(warehouse, "f1", "q2", "m1", None, error="timeout")
    add(warehouse, "f2", "q2", "m2", None, error="time out")  # equal once whitespace is removed
    batch = draw_batch(warehouse, pairwise_queue(), seed=1)
    assert [(i["run_a"], i["run_b"]) for i in batch.items] == [("e1", "e2")] and batch.identical_skipped == 1


def test_only_identical_pairs_is_an_empty_population_that_says_why(warehouse):
    add(warehouse, "a1", "q1", "m1", {"text": "ok"})
    add(warehouse, "a2", "q1", "m2", {"text": " ok "})
    with pytest.raises(EmptyPopulation, match="1 pairs had identical answers"):
        draw_batch(warehouse, pairwise_queue(), seed=1)


def test_single_batches_record_no_skipped_pairs(warehouse):
    add(warehouse, "s1", "q1", "m1", {"text": "ok"})
    queue = QueueConfig.model_validate({"name": "one", "rubric": RUBRIC, "sampling": {"size": 1}})
    batch = draw_batch(warehouse, queue, seed=1)
    assert batch.identical_skipped == 0 and "identical_pairs_skipped" not in batch.params
