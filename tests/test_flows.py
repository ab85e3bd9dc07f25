"""Flows against a real Prefect test API, and prefect.yaml kept in step with the code and queues."""

import ast
from pathlib import Path

import yaml

from flows.collect import collect_submissions, collect_task
from flows.inbox import inbox_task, ingest_inbox_flow
from flows.ingest import ingest_logs, ingest_path
from flows.promote import promote_datasets, promote_task
from flows.retries import transient
from flows.sample import review_cycle
from reviewdesk.config import Settings
from reviewdesk.demo.exports import write_runs
from reviewdesk.demo.logs import generate_runs
from reviewdesk.queues import load_queues
from reviewdesk.review.accounts import add_user
from reviewdesk.review.drafts import Draft
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import submit
from reviewdesk.stores.reviewstore import ReviewStore

ROOT = Path(__file__).resolve().parents[1]
PREFECT = yaml.safe_load((ROOT / "prefect.yaml").read_text())


def test_ingest_flow_loads_runs_and_is_idempotent(prefect_api, tmp_path: Path):
    logs = tmp_path / "runs.jsonl"
    write_runs(generate_runs(50, seed=2), logs)
    data_dir = str(tmp_path / "d")
    first = ingest_logs([str(logs)], data_dir=data_dir)
    assert [(r["read"], r["inserted"], r["duplicates"]) for r in first] == [(50, 50, 0)]
    second = ingest_logs([str(logs)], data_dir=data_dir)
    assert [(r["inserted"], r["duplicates"]) for r in second] == [(0, 50)]


def test_inbox_flow_ingests_what_the_inbox_holds_once(prefect_api, tmp_path: Path):
    data_dir = tmp_path / "d"
    (data_dir / "inbox").mkdir(parents=True)
    write_runs(generate_runs(30, seed=2), data_dir / "inbox" / "runs.jsonl")
    first = ingest_inbox_flow(data_dir=str(data_dir), settle_seconds=0)
    assert [(f["name"], f["outcome"], f["report"]["inserted"]) for f in first["files"]] == [
        ("runs.jsonl", "ingested", 30)]  # fmt: skip
    assert ingest_inbox_flow(data_dir=str(data_dir), settle_seconds=0)["files"] == []
    assert (data_dir / "inbox" / "done" / "runs.jsonl").is_file()


def test_the_inbox_is_ingested_every_minute_and_no_deployment_names_a_log_file():
    inbox = next(d for d in PREFECT["deployments"] if d["name"] == "ingest-inbox")
    assert inbox["entrypoint"] == "flows/inbox.py:ingest_inbox_flow"
    assert [s["cron"] for s in inbox["schedules"]] == ["* * * * *"] and inbox["concurrency_limit"] == 1
    assert not [d["name"] for d in PREFECT["deployments"] if "paths" in d.get("parameters", {})]


def test_review_cycle_samples_and_publishes_each_example_queue(prefect_api, tmp_path: Path):
    logs, data_dir = tmp_path / "runs.jsonl", str(tmp_path / "d")
    write_runs(generate_runs(1500, seed=4), logs)
    ingest_logs([str(logs)], data_dir=data_dir)
    quality = review_cycle("support-quality", size=40, seed=1, data_dir=data_dir, queues_dir=str(ROOT / "queues"))
    assert quality["published"] == quality["items"] >= 40  # plus gold items
    pairs = review_cycle("support-ab", size=10, seed=1, data_dir=data_dir, queues_dir=str(ROOT / "queues"))
    assert pairs["published"] == pairs["items"] == 10
    with ReviewStore(Settings.load(data_dir).review_url) as store:
        add_user(store, "lead1", "lead", "correct horse battery")
        for _ in range(2):
            item = next_item(store, "support-quality", "lead1")
            submit(store, item["item_id"], "lead1", Draft({"correctness": "correct", "helpfulness": 5}))
    first = collect_submissions(data_dir=data_dir)
    assert (first["read"], first["loaded"], first["labels"]) == (2, 2, 4)
    assert {r["queue"] for r in first["resolved"]} == {"support-quality", "support-ab"}
    assert all(Path(path).is_file() for path in first["reports"]) and len(first["reports"]) == 2
    assert collect_submissions(data_dir=data_dir)["read"] == 0  # nothing twice
    promoted = promote_datasets(data_dir=data_dir, queues_dir=str(ROOT / "queues"))
    with_rules = sorted(q.name for q in load_queues(ROOT / "queues") if q.promotion)  # published or not
    assert [r["queue"] for r in promoted["promoted"]] == with_rules
    assert promoted["created"] == []  # two reviews by one person: nothing to measure agreement on
    assert set(promoted["blocked"]) == {"support-regression", "support-sft", "support-judge"}
    assert all("no krippendorff_alpha for 'correctness'" in why for why in promoted["blocked"].values())
    assert all(Path(r["flagged"]["markdown"]).is_file() for r in promoted["promoted"])


def test_io_tasks_retry():
    for io_task in (ingest_path, inbox_task, collect_task, promote_task):
        assert io_task.retries == 3
        assert io_task.retry_condition_fn is transient


def test_prefect_yaml_entrypoints_exist():
    for deployment in PREFECT["deployments"]:
        module, _, func = deployment["entrypoint"].partition(":")
        source = (ROOT / module).read_text()
        assert f"def {func}(" in source, deployment["entrypoint"]


def test_every_example_queue_is_deployed_on_its_own_schedule():
    cycles = {d["parameters"]["queue"]: d for d in PREFECT["deployments"] if d["entrypoint"].endswith(":review_cycle")}
    for queue in load_queues(ROOT / "queues"):
        assert queue.name in cycles, f"no deployment for queue {queue.name}"
        assert [s["cron"] for s in cycles[queue.name]["schedules"]] == [queue.schedule]


def called(path: Path) -> set[str]:
    """The names of the functions a source file calls."""
    tree = ast.parse(path.read_text())
    return {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def test_the_flows_and_the_demo_compose_the_same_library_steps():
    steps = {"sample.py": {"cycle_sample_step", "prescore_step", "publish_step"}, "collect.py": {"collect_step"},
             "train.py": {"train_step"}, "promote.py": {"promote_step"}}  # fmt: skip
    demo = called(ROOT / "reviewdesk" / "demo" / "run.py")
    for flow, names in steps.items():
        assert names <= called(ROOT / "flows" / flow), flow
        assert names <= demo, f"the demo runs {flow}'s steps its own way"
