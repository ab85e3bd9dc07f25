"""The prescore step and review priority: suggestions for every item, carried by publish, re-scoring a
published batch without touching what reviewers saw, and uncertainty / random / oldest review order."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from pandera.errors import SchemaError
from publish_support import demo_warehouse, insert_pairwise_batch, insert_single_batch, load_queue

from reviewdesk.errors import ConfigError
from reviewdesk.prescore.contracts import Suggestion
from reviewdesk.prescore.heuristic import HeuristicScorer
from reviewdesk.prescore.priority import item_priority
from reviewdesk.prescore.run import prescore_batch, spans
from reviewdesk.review import accounts
from reviewdesk.review.drafts import Draft
from reviewdesk.review.publication import publish
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import submit
from reviewdesk.sample.batches import load_batch
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse

N = 30


def confidence_of(run_id: str) -> float | None:
    """A fixed confidence per run (None for about one run in six: no suggestion)."""
    digest = hashlib.sha256(run_id.encode()).digest()
    return None if digest[0] % 6 == 0 else round(0.34 + 0.65 * digest[1] / 255, 4)


@dataclass
class Fixed:
    """A scorer with known answers: correctness "correct" and helpfulness 4 at `confidence_of(run_id)`."""

    version: str = "fixed-1"
    shift: float = 0.0
    name: str = "fixed"
    warnings: list[str] = field(default_factory=list)

    def score(self, runs: pd.DataFrame) -> list[dict[str, Suggestion]]:
        out = []
        for run_id in runs["run_id"]:
            if (c := confidence_of(run_id)) is None:
                out.append({})
                continue
            correct, four = Suggestion("correct", c + self.shift, self.version), Suggestion(4, 0.5, self.version)
            out.append({"correctness": correct, "helpfulness": four})
        return out

    def versions(self) -> dict[str, str]:
        return {"correctness": self.version, "helpfulness": self.version}


@pytest.fixture
def wh(tmp_path: Path):
    with demo_warehouse(tmp_path) as w:
        yield w


def store_at(path: Path) -> ReviewStore:
    store = ReviewStore(f"sqlite:///{path}")
    accounts.add_user(store, "reviewer1", "reviewer", "correct horse battery")
    return store


@pytest.fixture
def store(tmp_path: Path):
    with store_at(tmp_path / "review.sqlite") as s:
        yield s


def suggestion_rows(wh: Warehouse, batch_id: str) -> list[tuple]:
    return wh.execute(
        "SELECT item_id, criterion, value::VARCHAR, confidence, model_version, scorer FROM suggestions "
        "WHERE batch_id = ? ORDER BY item_id, criterion",
        [batch_id],
    )


def review_order(store: ReviewStore, queue: str = "support-quality") -> list[dict]:
    """Every item in the order reviewer1 is given them."""
    taken = []
    while (item := next_item(store, queue, "reviewer1")) is not None:
        taken.append(item)
        submit(store, item["item_id"], "reviewer1", Draft({"correctness": "correct"}))
    return taken


def test_every_item_is_scored_and_publish_carries_the_suggestions(wh: Warehouse, store: ReviewStore):
    queue = load_queue("support-quality")
    insert_single_batch(wh, queue, "b1", n=N)
    report = prescore_batch(wh, queue, "b1", Fixed())
    runs = dict(wh.execute("SELECT item_id, run_id FROM items WHERE batch_id = 'b1'"))
    expected = {i for i, r in runs.items() if confidence_of(r) is not None}
    assert (report.items, report.scored, report.suggestions) == (N, len(expected), 2 * len(expected))
    assert report.versions == {"correctness": "fixed-1", "helpfulness": "fixed-1"} and report.kept == 0
    publish(wh, store, queue, "b1")
    published = {i["item_id"]: i["suggestions"] for i in store.items(queue.name)}
    for item_id, run_id in runs.items():
        c = confidence_of(run_id)
        want = (
            None
            if c is None
            else {
                "correctness": {"value": "correct", "confidence": c, "model_version": "fixed-1"},
                "helpfulness": {"value": 4, "confidence": 0.5, "model_version": "fixed-1"},
            }
        )
        assert published[item_id] == want  # the ordinal 4 stays a number
        assert load_batch(wh, "b1").as_dict()["items"][int(item_id[-4:]) - 1]["suggestions"] == want


def test_spans_cover_every_position_once_and_any_chunk_gives_the_same_suggestions(wh: Warehouse):
    queue = load_queue("support-quality")
    insert_single_batch(wh, queue, "b1", n=N)
    assert spans(wh, "b1", 7) == [(1, 7), (8, 14), (15, 21), (22, 28), (29, 30)]
    prescore_batch(wh, queue, "b1", Fixed(), chunk=7)
    small = [r[:5] for r in suggestion_rows(wh, "b1")]
    prescore_batch(wh, queue, "b1", Fixed())  # again, one span: the same rows, nothing doubled
    assert [r[:5] for r in suggestion_rows(wh, "b1")] == small


def test_uncertainty_priority_puts_the_least_confident_items_first(wh: Warehouse, store: ReviewStore):
    queue = load_queue("support-quality", priority="uncertainty", reviewers_per_item=1)
    insert_single_batch(wh, queue, "b1", n=N, gold=0)
    prescore_batch(wh, queue, "b1", Fixed())
    publish(wh, store, queue, "b1")
    order = review_order(store)
    least = [min((s["confidence"] for s in (i["suggestions"] or {}).values()), default=None) for i in order]
    unscored = least.count(None)
    assert len(order) == N and unscored > 0
    assert least[:unscored] == [None] * unscored  # no suggestion: as uncertain as can be, first
    assert least[unscored:] == sorted(least[unscored:])  # then by lowest confidence, ascending
    assert [i["position"] for i in order] != sorted(i["position"] for i in order)


def test_priority_changes_the_order_never_the_items_or_their_inclusion_probabilities(wh: Warehouse, tmp_path: Path):
    insert_single_batch(wh, load_queue("support-quality"), "b1", n=N)
    prescore_batch(wh, load_queue("support-quality"), "b1", Fixed())
    stores = {}
    for policy in ("oldest", "random", "uncertainty"):
        with store_at(tmp_path / f"{policy}.sqlite") as s:
            publish(wh, s, load_queue("support-quality", priority=policy), "b1")
            stores[policy] = {i["item_id"]: i for i in s.items("support-quality")}
    same = ("run_id", "inclusion_probability", "is_gold", "reviewers_needed", "position", "payload", "suggestions")
    for policy in ("random", "uncertainty"):
        assert stores[policy].keys() == stores["oldest"].keys()
        for item_id, item in stores[policy].items():
            assert {k: item[k] for k in same} == {k: stores["oldest"][item_id][k] for k in same}
    priorities = {p: [stores[p][i]["priority"] for i in sorted(stores[p])] for p in stores}
    assert len(set(priorities["oldest"])) == 1 and priorities["oldest"][0] < 0  # minus the publication time
    assert all(0 <= p < 1 for p in priorities["random"]) and len(set(priorities["random"])) == N
    assert priorities["random"] == [item_priority("random", i, None, None) for i in sorted(stores["random"])]


def test_oldest_priority_reviews_the_first_published_batch_first(wh: Warehouse, store: ReviewStore):
    queue = load_queue("support-quality", reviewers_per_item=1)
    for batch_id in ("b2", "b1"):  # b2 is published first
        insert_single_batch(wh, queue, batch_id, n=10, gold=0)
        publish(wh, store, queue, batch_id)
    order = [i["batch_id"] for i in review_order(store)]
    assert order == ["b2"] * 10 + ["b1"] * 10


def test_prescoring_a_published_batch_leaves_items_under_review_as_they_were(wh: Warehouse, store: ReviewStore):
    queue = load_queue("support-quality", priority="uncertainty", reviewers_per_item=1)
    insert_single_batch(wh, queue, "b1", n=N, gold=0)
    prescore_batch(wh, queue, "b1", Fixed())
    publish(wh, store, queue, "b1")
    reviewed = next_item(store, queue.name, "reviewer1")
    submit(store, reviewed["item_id"], "reviewer1", Draft({"correctness": "correct"}))
    held = next_item(store, queue.name, "reviewer1")  # reserved, on screen right now
    with pytest.raises(ConfigError, match="is published: pre-scoring it again must update the review store"):
        prescore_batch(wh, queue, "b1", Fixed("fixed-2"))
    report = prescore_batch(wh, queue, "b1", Fixed("fixed-2", shift=-0.3), store=store)
    assert (report.kept, report.pushed) == (2, N - 2)
    touched = {reviewed["item_id"], held["item_id"]}
    in_store = {i["item_id"]: i for i in store.items(queue.name)}
    in_warehouse = {}
    for item_id, _, _, _, version, _ in suggestion_rows(wh, "b1"):
        in_warehouse[item_id] = version
    for item_id, item in in_store.items():
        versions = {s["model_version"] for s in (item["suggestions"] or {}).values()}
        if item_id in touched:
            assert versions <= {"fixed-1"} and in_warehouse.get(item_id, "fixed-1") == "fixed-1"
        elif item["suggestions"]:
            assert versions == {"fixed-2"} and in_warehouse[item_id] == "fixed-2"
            least = min(s["confidence"] for s in item["suggestions"].values())
            assert item["priority"] == pytest.approx(1 - least)


@dataclass
class Overconfident(Fixed):
    """Breaks the contract: a confidence above 1."""

    def score(self, runs: pd.DataFrame) -> list[dict[str, Suggestion]]:
        return [{"correctness": Suggestion("correct", 1.5, "bad-1")} for _ in runs["run_id"]]


def test_a_scorer_breaking_the_contract_writes_nothing(wh: Warehouse):
    queue = load_queue("support-quality")
    insert_single_batch(wh, queue, "b1", n=N)
    prescore_batch(wh, queue, "b1", HeuristicScorer.for_queue(queue))
    before = suggestion_rows(wh, "b1")
    with pytest.raises(SchemaError, match="confidence"):
        prescore_batch(wh, queue, "b1", Overconfident())
    assert suggestion_rows(wh, "b1") == before and before


def test_pairwise_batches_and_the_none_scorer_write_nothing(wh: Warehouse):
    pairwise = load_queue("support-ab")
    insert_pairwise_batch(wh, pairwise, "p1")
    report = prescore_batch(wh, pairwise, "p1", Fixed())
    assert report.scored == 0 and "pairwise items are not pre-scored" in report.note
    single = load_queue("support-quality")
    insert_single_batch(wh, single, "b1", n=5)
    assert "no suggestions" in prescore_batch(wh, single, "b1", None).note
    assert wh.scalar("SELECT count(*) FROM suggestions") == 0
