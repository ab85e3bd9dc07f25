"""The pre-scoring flows against a real Prefect test API: the review cycle scores spans of a batch in
concurrent mapped tasks, and the nightly retraining flow trains once per set of labels."""

from __future__ import annotations

from pathlib import Path

from flows.retries import transient
from flows.sample import review_cycle
from flows.train import retrain_models, train
from reviewdesk.config import Settings
from reviewdesk.demo.exports import write_runs
from reviewdesk.demo.logs import generate_runs
from reviewdesk.demo.run import demo_users
from reviewdesk.demo.simulate import simulate_reviews
from reviewdesk.ingest import ingest
from reviewdesk.labels.collection import collect
from reviewdesk.labels.resolve import resolve_queue
from reviewdesk.prescore.heuristic import HeuristicScorer
from reviewdesk.prescore.run import prescore_batch
from reviewdesk.queues import get_queue
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]
QUEUES = str(ROOT / "queues")


def ingested(tmp_path: Path, runs: int = 1500) -> str:
    data_dir = tmp_path / "d"
    write_runs(generate_runs(runs, seed=4), tmp_path / "runs.jsonl")
    with Warehouse(Settings.load(data_dir).warehouse_path) as wh:
        ingest(wh, [tmp_path / "runs.jsonl"])
    return str(data_dir)


def test_review_cycle_prescores_spans_concurrently_and_publishes_the_suggestions(prefect_api, tmp_path: Path):
    data_dir = ingested(tmp_path)
    result = review_cycle("support-quality", size=40, seed=1, data_dir=data_dir, queues_dir=QUEUES,
                          scorer="heuristic", chunk=8)  # fmt: skip
    prescored = result["prescore"]
    assert result["published"] == result["items"] == prescored["items"] >= 40  # at least five spans of 8
    assert prescored["scorer"] == "heuristic" and 0 < prescored["scored"] < prescored["items"]
    settings = Settings.load(data_dir, QUEUES)
    with Warehouse(settings.warehouse_path) as wh:
        batch_id = wh.scalar("SELECT batch_id FROM batches")
        concurrent = wh.execute("SELECT item_id, criterion, value, confidence FROM suggestions ORDER BY ALL")
        queue = get_queue("support-quality", settings.queues_dir)
        with ReviewStore(settings.review_url) as store:
            in_store = {i["item_id"]: i for i in store.items("support-quality")}
            prescore_batch(wh, queue, batch_id, HeuristicScorer.for_queue(queue), store=store)  # one span, in turn
        assert wh.execute("SELECT item_id, criterion, value, confidence FROM suggestions ORDER BY ALL") == concurrent
    assert sum(1 for i in in_store.values() if i["suggestions"]) == prescored["scored"]
    assert all(i["priority"] is not None for i in in_store.values())


def test_retrain_flow_trains_each_single_queue_once_per_set_of_labels(prefect_api, tmp_path: Path):
    data_dir = ingested(tmp_path)
    review_cycle("support-quality", size=120, seed=2, data_dir=data_dir, queues_dir=QUEUES)
    settings = Settings.load(data_dir, QUEUES)
    with ReviewStore(settings.review_url) as store, Warehouse(settings.warehouse_path) as wh:
        demo_users(store)
        simulate_reviews(store, wh, "support-quality", reviewers=3, accuracy=0.9, seed=1)
        collect(store, wh)
        resolve_queue(store, wh, "support-quality")
    first = retrain_models(data_dir=data_dir, queues_dir=QUEUES)
    assert list(first) == ["support-quality"]  # the pairwise queue has no model
    assert [(r["criterion"], r["status"]) for r in first["support-quality"]] == [("correctness", "trained"),
                                                                                ("helpfulness", "trained")]  # fmt: skip
    again = retrain_models(data_dir=data_dir, queues_dir=QUEUES)
    assert [r["status"] for r in again["support-quality"]] == ["unchanged", "unchanged"]
    assert (Path(data_dir) / "models" / "support-quality" / "correctness" / "v1" / "model.joblib").is_file()


def test_training_retries_only_transient_failures():
    assert train.retries == 2 and train.retry_condition_fn is transient
