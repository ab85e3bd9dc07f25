"""The CLI end to end in a subprocess-free way: typer's runner over a real data dir."""

import json
from pathlib import Path

from demo_support import qualify_demo_reviewers
from typer.testing import CliRunner

from reviewdesk.cli import app
from reviewdesk.demo.run import DEMO_PASSWORD, RUNS_PER_SESSION, RUNS_PER_TRACE
from reviewdesk.demo.units import generate_unit_runs
from reviewdesk.queues import load_queues
from reviewdesk.review.accounts import authenticate
from reviewdesk.review.drafts import Draft
from reviewdesk.review.oversight import progress
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import submit
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import MIGRATIONS

ROOT = Path(__file__).resolve().parents[1]

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_every_command_has_help():
    for cmd in ([], ["init"], ["demo-data"], ["ingest"], ["quarantine"], ["demo"], ["queues"], ["sample"],
                ["collect"], ["simulate-reviews"], ["consensus"], ["promote"], ["datasets"], ["datasets", "list"],
                ["datasets", "show"], ["datasets", "diff"], ["datasets", "export"],
                ["publish"], ["batches"], ["batches", "list"], ["users"], ["users", "add"], ["app"]):  # fmt: skip
        result = run(*cmd, "--help")
        assert result.exit_code == 0, cmd
        assert "Usage" in result.output


def test_init_creates_data_dir_and_reports_migrations(tmp_path: Path):
    result = run("--data-dir", str(tmp_path / "d"), "init", "--json")
    assert result.exit_code == 0
    info = json.loads(result.stdout)
    assert info["migrations"] == list(MIGRATIONS)
    assert (tmp_path / "d" / "warehouse.duckdb").exists()
    for sub in ("datasets", "models", "reports"):
        assert (tmp_path / "d" / sub).is_dir()


def test_demo_data_then_ingest_json_counts_and_rerun_duplicates(tmp_path: Path):
    logs = tmp_path / "runs.jsonl"
    made = run("demo-data", "--runs", "200", "--seed", "3", "--out", str(logs), "--json")
    assert made.exit_code == 0 and json.loads(made.stdout)["runs"] == 200
    assert sum(1 for _ in logs.open()) == 200
    first = run("--data-dir", str(tmp_path / "d"), "ingest", str(logs), "--json")
    assert first.exit_code == 0
    counts = json.loads(first.stdout)
    assert {k: counts[k] for k in ("read", "inserted", "duplicates", "rejected")} == {
        "read": 200, "inserted": 200, "duplicates": 0, "rejected": 0}  # fmt: skip
    assert "quarantine" in counts
    again = json.loads(run("--data-dir", str(tmp_path / "d"), "ingest", str(logs), "--json").stdout)
    assert (again["inserted"], again["duplicates"]) == (0, 200)


def test_ingest_with_rejects_exits_1_and_quarantine_shows_them(tmp_path: Path):
    logs = tmp_path / "bad.jsonl"
    logs.write_bytes(b'{"run_id": "a", "status": "success"}\n{"run_id": \n{"run_id": "b", "prompt_tokens": "x"}\n')
    result = run("--data-dir", str(tmp_path / "d"), "ingest", str(logs), "--json")
    assert result.exit_code == 1
    counts = json.loads(result.stdout)
    assert (counts["read"], counts["inserted"], counts["rejected"]) == (3, 1, 2)
    shown = json.loads(run("--data-dir", str(tmp_path / "d"), "quarantine", "--json").stdout)
    assert sorted(r["locator"] for r in shown) == ["line 2", "line 3"]
    assert any("prompt_tokens" in r["reason"] for r in shown)


def test_missing_file_is_a_short_error_with_exit_2(tmp_path: Path):
    result = run("--data-dir", str(tmp_path / "d"), "ingest", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 2
    assert "No such file" in result.output and "Traceback" not in result.output


def test_unknown_format_is_a_usage_error(tmp_path: Path):
    logs = tmp_path / "x.jsonl"
    logs.write_text('{"run_id": "a"}\n')
    result = run("--data-dir", str(tmp_path / "d"), "ingest", str(logs), "--format", "xml")
    assert result.exit_code == 2
    assert "Unknown format" in result.output


def test_demo_generates_ingests_samples_and_publishes(tmp_path: Path):
    args = ["--data-dir", str(tmp_path / "d"), "--queues-dir", str(ROOT / "queues"), "demo", "--runs", "1500", "--json"]
    result = run(*args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    logged = 1500 + len(list(generate_unit_runs(1500 // RUNS_PER_TRACE, 1500 // RUNS_PER_SESSION, seed=7)))
    assert [f["read"] for f in summary["ingest"]["files"]] == [1500, logged - 1500]  # the runs, then the units
    assert summary["ingest"]["inserted"] == summary["warehouse"]["runs"] == logged
    assert summary["warehouse"]["pair_inputs"] > 0
    assert len(summary["warehouse"]["models"]) >= 4
    queues = load_queues(ROOT / "queues")
    names = sorted(q.name for q in queues)
    assert sorted(b["queue"] for b in summary["batches"]) == names  # the trace and session queues too
    assert all(p["published"] > 0 for p in summary["published"])
    assert summary["users"] == {"reviewer1": "reviewer", "reviewer2": "reviewer", "reviewer3": "reviewer",
                                "lead": "lead", "admin": "admin"}  # fmt: skip
    simulated = sum(s["submitted"] for s in summary["simulated"])  # the loop is closed: reviews, labels, consensus
    assert simulated > 0 and summary["collected"]["read"] == simulated
    assert sorted(r["queue"] for r in summary["consensus"]) == names
    assert all(r["items"] > 0 and r["methods"] for r in summary["consensus"])
    assert [Path(p).name.split("-2")[0] for p in summary["reports"]] == names
    created = {d["dataset"]: d for p in summary["datasets"] for d in p["datasets"] if d["status"] == "created"}
    assert set(created) == {rule.name for q in queues if q.promotion for rule in q.promotion.datasets}  # each one
    assert {d["kind"] for d in created.values()} == {"regression", "sft", "preference", "classification"}
    assert all(Path(d["path"], "data.parquet").is_file() and d["rows"] > 0 for d in created.values())
    with ReviewStore(f"sqlite:///{tmp_path / 'd' / 'review.sqlite'}") as store:
        assert authenticate(store, "reviewer1", DEMO_PASSWORD) is not None
        assert progress(store, "support-quality", "reviewer1").left_for_me > 0  # some left for a person
    again = json.loads(run(*args).stdout)  # same logs: duplicates; fresh runs for each queue that has any left
    assert again["ingest"]["duplicates"] == logged
    assert all(p["published"] > 0 for p in again["published"])
    drawn_whole = {b["queue"] for b in summary["batches"] if b["population"] <= b["size"]}  # nothing new left
    assert {why.split(":")[0] for why in again["skipped"]} == drawn_whole
    assert {b["queue"] for b in again["batches"]} == set(names) - drawn_whole


def test_sample_publish_and_batches_commands(tmp_path: Path):
    base = ["--data-dir", str(tmp_path / "d"), "--queues-dir", str(ROOT / "queues")]
    logs = tmp_path / "runs.jsonl"
    run("demo-data", "--runs", "1000", "--out", str(logs))
    run(*base, "ingest", str(logs))
    drawn = run(*base, "sample", "support-quality", "--size", "30", "--seed", "5", "--json")
    assert drawn.exit_code == 0, drawn.output
    batch = json.loads(drawn.stdout)
    assert {"batch_id", "queue", "strategy", "seed", "population", "items"} <= batch.keys()
    assert batch["seed"] == 5 and batch["strategy"] == "stratified"
    sampled = [i for i in batch["items"] if not i.get("is_gold")]
    assert len(sampled) == 30
    assert all({"item_id", "run_id", "inclusion_probability"} <= i.keys() for i in sampled)
    first = json.loads(run(*base, "publish", batch["batch_id"], "--json").stdout)
    second = json.loads(run(*base, "publish", batch["batch_id"], "--json").stdout)
    assert first["published"] == len(batch["items"]) and second["published"] == 0 and second["already_published"]
    listed = json.loads(run(*base, "batches", "list", "--json").stdout)
    assert [b["batch_id"] for b in listed] == [batch["batch_id"]] and listed[0]["published_at"]
    shown = json.loads(run(*base, "batches", "show", batch["batch_id"], "--json").stdout)
    assert shown["items"] == batch["items"]
    pairs = json.loads(run(*base, "sample", "support-ab", "--size", "5", "--json").stdout)
    assert all({"item_id", "run_a", "run_b", "inclusion_probability"} <= i.keys() for i in pairs["items"])
    unknown = run(*base, "publish", "b-nope")
    assert unknown.exit_code == 2 and "Traceback" not in unknown.output


def test_sample_with_publish_draws_and_publishes_in_one_run(tmp_path: Path):
    base = ["--data-dir", str(tmp_path / "d"), "--queues-dir", str(ROOT / "queues")]
    logs = tmp_path / "runs.jsonl"
    run("demo-data", "--runs", "600", "--out", str(logs))
    run(*base, "ingest", str(logs))
    drawn = run(*base, "sample", "support-quality", "--size", "12", "--seed", "2", "--publish", "--json")
    assert drawn.exit_code == 0, drawn.output
    batch = json.loads(drawn.stdout)
    assert batch["publication"] == {"batch_id": batch["batch_id"], "queue": "support-quality",
                                    "items": len(batch["items"]), "published": len(batch["items"]),
                                    "already_published": False}  # fmt: skip
    with ReviewStore(f"sqlite:///{tmp_path / 'd' / 'review.sqlite'}") as store:
        assert store.count_items("support-quality", batch["batch_id"]) == len(batch["items"])
    again = json.loads(run(*base, "publish", batch["batch_id"], "--json").stdout)
    assert again["already_published"] and again["published"] == 0
    told = run(*base, "sample", "support-quality", "--size", "5", "--publish")
    assert told.exit_code == 0 and "Published 6 items" in told.output  # 5 drawn and 1 gold
    assert "Next:" not in told.output  # nothing left to do by hand


def test_users_add_list_disable_and_set_password(tmp_path: Path, monkeypatch):
    base = ["--data-dir", str(tmp_path / "d")]
    monkeypatch.setenv("REVIEWDESK_PASSWORD", "correct-horse")
    added = run(*base, "users", "add", "alice", "--role", "reviewer", "--queues", "support-quality", "--json")
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["queues"] == ["support-quality"]
    assert run(*base, "users", "add", "alice").exit_code == 2  # exists already
    bad_role = run(*base, "users", "add", "bob", "--role", "boss")
    assert bad_role.exit_code == 2 and "reviewer, lead, admin" in bad_role.output
    monkeypatch.delenv("REVIEWDESK_PASSWORD")
    prompted = runner.invoke(app, [*base, "users", "add", "carol", "--role", "lead"], input="s3cret-pw\ns3cret-pw\n")
    assert prompted.exit_code == 0, prompted.output
    listed = json.loads(run(*base, "users", "list", "--json").stdout)
    assert [(u["name"], u["role"]) for u in listed] == [("alice", "reviewer"), ("carol", "lead")]
    assert all("hash" not in key for u in listed for key in u)
    assert run(*base, "users", "disable", "alice").exit_code == 0
    assert json.loads(run(*base, "users", "list", "--json").stdout)[0]["disabled"] is True
    reset = runner.invoke(app, [*base, "users", "set-password", "carol"], input="n3w-password\nn3w-password\n")
    assert reset.exit_code == 0, reset.output
    assert run(*base, "users", "disable", "nobody").exit_code == 2


def test_collect_prints_counts_and_exits_1_when_some_submissions_are_rejected(tmp_path: Path):
    data = tmp_path / "d"
    args = ["--data-dir", str(data), "--queues-dir", str(ROOT / "queues"), "demo", "--runs", "800", "--no-simulate"]
    assert run(*args, "--json").exit_code == 0
    qualify_demo_reviewers(data)
    with ReviewStore(f"sqlite:///{data / 'review.sqlite'}") as store:
        for answers in ({"correctness": "correct", "helpfulness": 4}, {"correctness": "perfect", "helpfulness": 4}):
            item = next_item(store, "support-quality", "reviewer1")
            submit(store, item["item_id"], "reviewer1", Draft(answers))
    result = run("--data-dir", str(data), "collect", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"read": 2, "loaded": 1, "rejected": 1, "labels": 2, "watermark": 2,
                                         "flag_only": 0}  # fmt: skip
    simulated = run("--data-dir", str(data), "simulate-reviews", "support-quality", "--limit", "10", "--json")
    assert simulated.exit_code == 0 and json.loads(simulated.stdout)["submitted"] == 10
    again = run("--data-dir", str(data), "collect")
    assert again.exit_code == 0 and "Read 10 submissions: 10 loaded" in again.output
    resolved = run("--data-dir", str(data), "consensus", "--json")
    assert resolved.exit_code == 0
    assert {r["queue"] for r in json.loads(resolved.stdout)} == {q.name for q in load_queues(ROOT / "queues")}


def test_agreement_queue_mode_saves_the_report_and_writes_markdown(tmp_path: Path):
    data = tmp_path / "d"
    assert run("--data-dir", str(data), "--queues-dir", str(ROOT / "queues"), "demo", "--runs", "1500",
               "--no-serve", "--json").exit_code == 0  # fmt: skip
    result = run("--data-dir", str(data), "agreement", "support-ab", "--resamples", "100", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["queue"] == "support-ab" and report["criteria"]["preference"]["n_raters"] == 3
    assert Path(report["report_path"]).read_text().startswith("# Quality report: support-ab")
    text = run("--data-dir", str(data), "agreement", "support-quality", "--resamples", "100")
    assert text.exit_code == 0 and "Agreement in support-quality" in text.output and "Report:" in text.output
