"""Helpers for the push-feedback tests: a queue over given runs, reviewed through the library to consensus."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path

from publish_support import load_queue
from review_support import PASSWORD

from reviewdesk.errors import AlreadyExists
from reviewdesk.ingest import ingest_file
from reviewdesk.labels.collection import collect
from reviewdesk.labels.resolve import resolve_queue
from reviewdesk.review import accounts
from reviewdesk.review.drafts import Draft
from reviewdesk.review.publication import publish
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import revise, submit
from reviewdesk.sample.designs import draw_batch
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

REVIEWERS = ("reviewer1", "reviewer2")
Answer = Callable[[str, dict], dict]  # (reviewer, item) -> answers


def queue_over(project: str, name: str, size: int) -> QueueConfig:
    """support-quality's rubric over the project's LLM runs: every run sampled, two reviewers each, no gold."""
    queue = load_queue(
        "support-quality", sampling={"filter": f"project = '{project}' AND run_type = 'llm'", "size": size},
        reviewers_per_item=2, overlap_fraction=1.0, gold_fraction=0.0, gold_source=None, promotion=None,
        reviewer_sees=["inputs", "outputs"],
    )  # fmt: skip
    return queue.model_copy(update={"name": name})


def ingest_runs(wh: Warehouse, path: Path, runs: list[dict]) -> None:
    """Native runs written to `path` as JSONL and ingested."""
    path.write_text("".join(json.dumps(r) + "\n" for r in runs))
    report = ingest_file(wh, path, "native")
    assert report.inserted == len(runs), report


def review_to_consensus(wh: Warehouse, store: ReviewStore, queue: QueueConfig, answer: Answer) -> list[dict]:
    """Sample every run, publish, let both reviewers answer each item, collect and resolve; the items."""
    batch = draw_batch(wh, queue, seed=1)
    publish(wh, store, queue, batch.batch_id)
    for reviewer in REVIEWERS:
        with contextlib.suppress(AlreadyExists):  # a second queue in the same store
            accounts.add_user(store, reviewer, "reviewer", PASSWORD)
        while (item := next_item(store, queue.name, reviewer)) is not None:
            submit(store, item["item_id"], reviewer, Draft(answer(reviewer, item)))
    resolve(wh, store, queue)
    return store.items(queue.name)


def resolve(wh: Warehouse, store: ReviewStore, queue: QueueConfig) -> None:
    """Collect new submissions and rebuild the queue's consensus."""
    collect(store, wh)
    resolve_queue(store, wh, queue.name)


def both_revise(wh: Warehouse, store: ReviewStore, queue: QueueConfig, item_id: str, answers: dict) -> None:
    """Both reviewers edit their review of `item_id` to `answers`; then collect and resolve."""
    for reviewer in REVIEWERS:
        revise(store, item_id, reviewer, Draft(answers))
    resolve(wh, store, queue)


def consensus(wh: Warehouse, queue: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(item, criterion) -> (value, method) of the queue's consensus."""
    rows = wh.execute("SELECT item_id, criterion, value, method FROM consensus WHERE queue = ?", [queue])
    return {(i, c): (v, m) for i, c, v, m in rows}
