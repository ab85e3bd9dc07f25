"""The whole loop on the embedded demo, stage by stage, as one library call the CLI and tests share."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from reviewdesk.config import Settings
from reviewdesk.datasets.promotion import PromotionResult, promote
from reviewdesk.demo.exports import write_runs
from reviewdesk.demo.logs import generate_runs
from reviewdesk.demo.simulate import SimulationResult, simulate_reviews
from reviewdesk.ingest import IngestReport, ingest
from reviewdesk.ingest import overview as summary
from reviewdesk.labels.collection import CollectResult, collect
from reviewdesk.labels.resolve import ResolveResult, resolve_queue
from reviewdesk.prescore.heuristic import get_scorer
from reviewdesk.prescore.run import PrescoreReport, prescore_batch
from reviewdesk.prescore.trained import TrainResult, train_queue, wants_models
from reviewdesk.quality.report import refresh
from reviewdesk.queues import load_queues
from reviewdesk.review.accounts import add_user, get_user
from reviewdesk.review.publication import PublishReport, publish
from reviewdesk.review.reviews import progress
from reviewdesk.sample.batches import Batch
from reviewdesk.sample.designs import draw_batch
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse

DEMO_PASSWORD = "reviewdesk-demo"
DEMO_USERS = {
    "reviewer1": "reviewer",
    "reviewer2": "reviewer",
    "reviewer3": "reviewer",
    "lead": "lead",
    "admin": "admin",
}  # fmt: skip  (the example queues assign reviewer1-3)


@dataclass
class DemoResult:
    """What each stage of the demo did."""

    ingest: list[IngestReport]
    overview: dict
    batches: list[Batch] = field(default_factory=list)
    published: list[PublishReport] = field(default_factory=list)
    users: dict[str, str] = field(default_factory=dict)  # name -> role of the demo accounts
    simulated: list[SimulationResult] = field(default_factory=list)
    collected: CollectResult | None = None
    resolved: list[ResolveResult] = field(default_factory=list)
    reports: list[Path] = field(default_factory=list)  # quality reports written
    promoted: list[PromotionResult] = field(default_factory=list)  # dataset versions and flagged reports
    prescored: list[PrescoreReport] = field(default_factory=list)  # suggestions per batch, before publishing
    trained: list[TrainResult] = field(default_factory=list)  # models per criterion, on the new consensus


def demo_users(store: ReviewStore) -> dict[str, str]:
    """Create the demo accounts that do not exist yet (all with DEMO_PASSWORD); return them all."""
    for name, role in DEMO_USERS.items():
        if get_user(store, name) is None:
            add_user(store, name, role, DEMO_PASSWORD)
    return dict(DEMO_USERS)


def counted(items: Iterable[dict], tick: Callable[[int], None] | None, every: int = 1000) -> Iterator[dict]:
    """Pass items through, calling `tick(n)` every `every` items: progress without a second pass."""
    for i, item in enumerate(items, 1):
        if tick and i % every == 0:
            tick(i)
        yield item


SIMULATED_SHARE = 0.75  # of the reviews a queue still needs; the rest is left for people in the app
SIMULATED_ACCURACY = 0.85
SIMULATED_REVIEWERS = 3  # the example queues' assignees, reviewer1-3


def close_loop(store: ReviewStore, wh: Warehouse, result: DemoResult, seed: int, reports_dir: Path) -> None:
    """Simulated reviewers do most of what each queue needs, then collect, resolve and report every queue."""
    for batch in result.batches:
        left = progress(store, batch.queue)
        limit = max(1, int(SIMULATED_SHARE * (left.needed - left.done)))
        result.simulated.append(
            simulate_reviews(store, wh, batch.queue, SIMULATED_REVIEWERS, SIMULATED_ACCURACY, seed, limit=limit)
        )
    result.collected = collect(store, wh)
    result.resolved = [resolve_queue(store, wh, name) for name in store.published_counts()]
    result.reports = [refresh(store, wh, r.queue, reports_dir, seed=seed)[1] for r in result.resolved]


def run_demo(
    settings: Settings,
    runs: int = 5000,
    seed: int = 7,
    tick: Callable[[int], None] | None = None,
    simulate: bool = True,
) -> DemoResult:
    """Generate demo logs, ingest them, sample and publish a batch of every queue, add demo accounts,
    and (with `simulate`) close the loop: simulated reviews, collect, consensus, quality reports, models
    trained on the consensus (they pre-score the next run's batches), and promotion of every queue with
    promotion rules into dataset versions. Batches are pre-scored before publishing (never by the HTTP
    judge: a queue that asks for it is scored by the heuristic here), pairwise ones by the pairwise
    heuristic (a suggested preference, kept even where the queue hides suggestions from reviewers).

    Rerunning it is safe: the logs are the same (same seed), so they ingest as duplicates, and each
    queue draws a fresh batch of runs not yet reviewed.
    """
    settings.ensure_dirs()
    path = settings.data_dir / "demo" / "runs.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_runs(counted(generate_runs(runs, seed), tick), path)
    queues = load_queues(settings.queues_dir)
    with Warehouse(settings.warehouse_path, memory_limit=settings.memory_limit) as wh:
        result = DemoResult(ingest(wh, [path]), summary.overview(wh))
        with ReviewStore(settings.review_url) as store:
            result.users = demo_users(store)
            for queue in queues:
                batch = draw_batch(wh, queue, seed=seed)
                result.batches.append(batch)
                name = "heuristic" if queue.prescore.scorer == "http_judge" else None  # the demo calls no endpoint
                scorer = get_scorer(name, queue, wh, settings.models_dir)  # models of an earlier run, else rules
                result.prescored.append(prescore_batch(wh, queue, batch.batch_id, scorer))
                result.published.append(publish(wh, store, queue, batch.batch_id))
            if simulate:
                close_loop(store, wh, result, seed, settings.reports_dir)
                trained = [train_queue(wh, q, settings.models_dir, seed=seed) for q in queues if wants_models(q)]
                result.trained = [r for results in trained for r in results]
                result.promoted = [promote(store, wh, q, settings.data_dir) for q in queues if q.promotion]
    return result
