"""The whole loop on the embedded demo, stage by stage, as one library call the CLI and tests share."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from reviewdesk import summary
from reviewdesk.accounts import add_user, get_user
from reviewdesk.batches import Batch
from reviewdesk.config import Settings
from reviewdesk.demo import generate_runs, write_runs
from reviewdesk.ingest import IngestReport, ingest
from reviewdesk.publish import PublishReport, publish
from reviewdesk.queues import load_queues
from reviewdesk.reviewstore import ReviewStore
from reviewdesk.sampling import draw_batch
from reviewdesk.warehouse import Warehouse

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


def run_demo(
    settings: Settings, runs: int = 5000, seed: int = 7, tick: Callable[[int], None] | None = None
) -> DemoResult:
    """Generate demo logs, ingest them, sample and publish a batch of every queue, and add demo accounts.

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
                result.published.append(publish(wh, store, queue, batch.batch_id))
    return result
