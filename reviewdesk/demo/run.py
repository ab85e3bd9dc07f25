"""The whole loop on the embedded demo, stage by stage, as one library call the CLI and tests share.

It composes the same steps the flows run, in the order their schedules run them (the review cycle of
`reviewdesk.review.steps`, the collect cycle of `reviewdesk.quality.steps`, retraining and promotion),
adding only what a demo needs: generated logs, demo accounts and simulated reviewers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from reviewdesk.config import Settings
from reviewdesk.datasets.promotion import PromotionResult
from reviewdesk.datasets.steps import promote_step
from reviewdesk.demo.exports import write_runs
from reviewdesk.demo.logs import counted, generate_runs
from reviewdesk.demo.simulate import SimulationResult, simulate_reviews
from reviewdesk.demo.units import generate_unit_runs
from reviewdesk.ingest import IngestReport, ingest
from reviewdesk.ingest.overview import overview
from reviewdesk.labels.collection import CollectResult
from reviewdesk.labels.resolve import ResolveResult
from reviewdesk.prescore.run import PrescoreReport
from reviewdesk.prescore.steps import train_step
from reviewdesk.prescore.training import TrainResult, wants_models
from reviewdesk.quality.steps import collect_step
from reviewdesk.queues import load_queues
from reviewdesk.review.accounts import add_user, get_user
from reviewdesk.review.oversight import progress
from reviewdesk.review.publication import PublishReport
from reviewdesk.review.steps import cycle_sample_step, prescore_step, publish_step
from reviewdesk.sample.batches import Batch
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
    skipped: list[str] = field(default_factory=list)  # queues that drew no batch, each with why
    capped: list[str] = field(default_factory=list)  # queues that drew less than their size, each with why


def demo_users(store: ReviewStore) -> dict[str, str]:
    """Create the demo accounts that do not exist yet (all with DEMO_PASSWORD); return them all."""
    for name, role in DEMO_USERS.items():
        if get_user(store, name) is None:
            add_user(store, name, role, DEMO_PASSWORD)
    return dict(DEMO_USERS)


SIMULATED_SHARE = 0.75  # of the reviews a queue still needs; the rest is left for people in the app
SIMULATED_ACCURACY = 0.85
SIMULATED_REVIEWERS = 3  # the example queues' assignees, reviewer1-3


def simulate_most(settings: Settings, batches: list[Batch], seed: int) -> list[SimulationResult]:
    """Simulated reviewers do most of what each batch's queue still needs (SIMULATED_SHARE of it)."""
    results = []
    with Warehouse(settings.warehouse_path, settings.memory_limit) as wh, ReviewStore(settings.review_url) as store:
        for batch in batches:
            left = progress(store, batch.queue)
            limit = max(1, int(SIMULATED_SHARE * (left.needed - left.done)))
            results.append(simulate_reviews(store, wh, batch.queue, SIMULATED_REVIEWERS, SIMULATED_ACCURACY,
                                            seed, limit=limit))  # fmt: skip
    return results


def write_unit_runs(settings: Settings, seed: int, traces: int, sessions: int) -> Path:
    """Write the demo's traces and sessions (`reviewdesk.demo.units`) to a log file of their own, ingested
    after the run-level logs: their runs are in projects of their own, so no run-level queue samples them."""
    path = settings.data_dir / "demo" / "units.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_runs(generate_unit_runs(traces, sessions, seed), path)
    return path


RUNS_PER_TRACE, RUNS_PER_SESSION = 20, 40  # the demo's traces and sessions, per run-level demo run


def run_demo(
    settings: Settings,
    runs: int = 5000,
    seed: int = 7,
    tick: Callable[[int], None] | None = None,
    simulate: bool = True,
) -> DemoResult:
    """Generate demo logs (runs, and a trace per RUNS_PER_TRACE runs and a session per RUNS_PER_SESSION for the
    trace and session queues), ingest them, sample and publish a batch of every queue, add demo accounts,
    and (with `simulate`) close the loop: simulated reviews, collect, consensus, quality reports, models
    trained on the consensus (they pre-score the next run's batches), and promotion of every queue with
    promotion rules into dataset versions. Batches are pre-scored before publishing (never by the HTTP
    judge: a queue that asks for it is scored by the heuristic here), pairwise ones by the pairwise
    heuristic (a suggested preference, kept even where the queue hides suggestions from reviewers).

    Rerunning it is safe: the logs are the same (same seed), so they ingest as duplicates, and each
    queue draws a fresh batch of runs not yet reviewed, as far as its backlog limits allow. A queue
    with nothing to sample (a filter matching no new run), paused or full is skipped, with the reason
    in `skipped`.
    """
    settings.ensure_dirs()
    path = settings.data_dir / "demo" / "runs.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_runs(counted(generate_runs(runs, seed), tick), path)
    units = write_unit_runs(settings, seed, traces=runs // RUNS_PER_TRACE, sessions=runs // RUNS_PER_SESSION)
    queues = load_queues(settings.queues_dir)
    with Warehouse(settings.warehouse_path, memory_limit=settings.memory_limit) as wh:
        result = DemoResult(ingest(wh, [path, units]), overview(wh))
    with ReviewStore(settings.review_url) as store:
        result.users = demo_users(store)
    for queue in queues:
        drawn = cycle_sample_step(settings, queue, seed=seed)
        if drawn.batch is None:  # paused, full, or its filter matches no new run: the demo goes on without it
            result.skipped.append(drawn.skipped)
            continue
        batch = drawn.batch
        result.batches.append(batch)
        if drawn.room.capped:
            result.capped.append(drawn.room.reason)
        scorer = "heuristic" if queue.prescore.scorer == "http_judge" else None  # the demo calls no endpoint
        # the queue's scorer: models trained by an earlier run, else rules
        result.prescored.append(prescore_step(settings, queue, batch.batch_id, scorer))
        result.published.append(publish_step(settings, queue, batch.batch_id))
    if simulate:
        result.simulated = simulate_most(settings, result.batches, seed)
        collected = collect_step(settings, seed=seed)
        result.collected, result.resolved, result.reports = collected.collected, collected.resolved, collected.reports
        result.trained = [r for q in queues if wants_models(q) for r in train_step(settings, q, seed=seed)]
        result.promoted = promote_step(settings, queues)
    return result
