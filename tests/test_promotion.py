"""Promotion on reviewed demo data: every kind in formats real readers accept, versions that never change,
stable splits, lineage back to runs and reviewers, the agreement gate, and the flagged report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from promotion_support import AB, QUALITY, build_reviewed, close, reviewed_copy

from reviewdesk import datasets
from reviewdesk.datasets.formats import COLUMNS, answer_text, input_messages
from reviewdesk.datasets.promotion import promote
from reviewdesk.datasets.read import DatasetTampered
from reviewdesk.demo.simulate import simulate_reviews, truths
from reviewdesk.labels.adjudication import decide, open_cases
from reviewdesk.review.drafts import Draft
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import submit
from schemas.promotion import TRUSTED

KINDS = {
    "support-regression": "regression",
    "support-sft": "sft",
    "support-judge": "classification",
    "support-preference": "preference",
}


@pytest.fixture(scope="module")
def reviewed(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Support-quality half reviewed (the rest arrives in the v2 test), support-ab fully."""
    return build_reviewed(demo_template, tmp_path_factory.mktemp("promotion") / "data", quality_limit=160)


@pytest.fixture
def r(reviewed: Path, tmp_path: Path):
    with reviewed_copy(reviewed, tmp_path / "data") as copy:
        yield copy


def promote_all(r) -> dict:
    out = {}
    for name in (QUALITY, AB):
        out |= {d.dataset: d for d in promote(r.store, r.wh, r.queue(name), r.data).datasets}
    return out


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_every_kind_is_written_in_the_format_its_readers_expect(r):
    made = promote_all(r)
    assert {name: d.status for name, d in made.items()} == dict.fromkeys(KINDS, "created")
    for name, kind in KINDS.items():
        folder = datasets.path(name, 1, r.data)
        assert sorted(p.name for p in folder.iterdir()) == ["data.jsonl", "data.parquet", "manifest.json"]
        meta = json.loads((folder / "manifest.json").read_text())
        frame = pd.read_parquet(folder / "data.parquet")
        table = pq.read_table(folder / "data.parquet")
        assert list(frame.columns) == table.column_names == ["id", "split", *COLUMNS[kind]]
        assert len(frame) == table.num_rows == meta["rows"] == made[name].rows > 0
        assert frame["id"].is_unique and set(frame["split"]) <= {"train", "test"}
        lines = [json.loads(line) for line in (folder / "data.jsonl").read_text().splitlines()]  # every line parses
        assert len(lines) == meta["rows"] and all(list(obj) == COLUMNS[kind] for obj in lines)
        assert [o[COLUMNS[kind][0]] for o in lines] == table[COLUMNS[kind][0]].to_pylist()  # same rows, same order
        assert len(datasets.load(name, data_dir=r.data)) == meta["rows"]
    for line in (datasets.path("support-sft", 1, r.data) / "data.jsonl").read_text().splitlines():
        messages = json.loads(line)["messages"]  # the OpenAI chat fine-tuning shape
        assert set(json.loads(line)) == {"messages"} and messages[-1]["role"] == "assistant"
        assert all(set(m) == {"role", "content"} and m["role"] in ("system", "user", "assistant") for m in messages)
        assert all(isinstance(m["content"], str) and m["content"] for m in messages)
        assert any(m["role"] == "user" for m in messages)
    for row in datasets.load("support-preference", data_dir=r.data).itertuples():
        assert row.prompt[-1]["role"] == "user"
        chosen, rejected = row.chosen[0]["content"], row.rejected[0]["content"]
        assert chosen.strip() and rejected.strip() and chosen != rejected
    regression = datasets.load("support-regression", data_dir=r.data)
    assert all(
        row["criteria"]["correctness"] == "incorrect" and row["reference_output"].strip()
        for _, row in regression.iterrows()
    )
    judge = datasets.load("support-judge", data_dir=r.data)
    assert set(judge["criterion"]) == {"correctness", "helpfulness"}
    assert set(judge[judge["criterion"] == "correctness"]["label"]) <= {"correct", "partially_correct", "incorrect"}
    assert set(judge[judge["criterion"] == "helpfulness"]["label"]) <= {"1", "2", "3", "4", "5"}


def test_promoting_again_with_nothing_new_creates_no_version(r):
    first = promote_all(r)
    again = promote_all(r)
    assert {d.status for d in again.values()} == {"unchanged"}
    versions = {n: d.version for n, d in again.items()}
    assert versions == {n: d.version for n, d in first.items()} == dict.fromkeys(KINDS, 1)
    assert all(datasets.versions(name, r.data) == [1] for name in KINDS)
    assert r.wh.scalar("SELECT count(*) FROM dataset_versions") == len(KINDS)


def test_new_labels_make_v2_and_leave_v1_byte_identical_with_stable_splits(r):
    promote(r.store, r.wh, r.queue(), r.data)
    before = {name: files(datasets.path(name, 1, r.data)) for name in ("support-judge", "support-sft")}
    v1 = {name: datasets.load(name, 1, data_dir=r.data) for name in before}
    simulate_reviews(r.store, r.wh, QUALITY, reviewers=3, accuracy=1.0, seed=2)  # the rest of the queue
    close(r.store, r.wh, (QUALITY,))
    made = {d.dataset: d for d in promote(r.store, r.wh, r.queue(), r.data).datasets}
    for name, old_files in before.items():
        assert made[name].status == "created" and made[name].version == 2 and made[name].added > 0
        assert files(datasets.path(name, 1, r.data)) == old_files  # byte for byte
        v2 = datasets.load(name, data_dir=r.data)
        assert datasets.manifest(name, 2, r.data)["parent"]["version"] == 1
        kept = v1[name].merge(v2, on="id", suffixes=("_v1", "_v2"))
        assert len(kept) == len(v1[name])  # nothing lost: the earlier examples are still there
        assert (kept["split_v1"] == kept["split_v2"]).all()  # and never change split
        change = datasets.diff(name, 1, 2, r.data)
        assert (len(change.added), len(change.removed), len(change.changed)) == (made[name].added, 0, 0)
        assert set(change.added) == set(v2["id"]) - set(v1[name]["id"])
    assert not datasets.verify("support-judge", 1, r.data)


def test_lineage_resolves_back_to_the_run_and_its_reviewers(r):
    promote(r.store, r.wh, r.queue(), r.data)
    frame = datasets.load("support-regression", data_dir=r.data)
    lineage = datasets.lineage("support-regression", data_dir=r.data)
    assert list(lineage["id"]) == list(frame["id"])
    for row, entry in zip(frame.itertuples(), lineage.to_dict("records"), strict=True):
        [run_id] = entry["run_ids"]
        assert run_id == row.run_id
        inputs = r.wh.scalar("SELECT inputs::VARCHAR FROM runs WHERE run_id = ?", [run_id])
        assert input_messages(inputs) == list(row.input)
        item_run, queue, batch = r.wh.execute(
            "SELECT run_id, queue, batch_id FROM items WHERE item_id = ?", [entry["item_id"]]
        )[0]
        assert (item_run, queue, batch) == (run_id, QUALITY, entry["batch_id"])
        reviewers = r.wh.execute(
            "SELECT DISTINCT reviewer FROM labels WHERE item_id = ? ORDER BY 1", [entry["item_id"]]
        )
        assert entry["reviewers"] == [x for (x,) in reviewers]
        assert entry["methods"]["correctness"] in TRUSTED
        correction = r.wh.scalar(
            "SELECT correction FROM submissions WHERE item_id = ? AND reviewer = ? ORDER BY revision DESC LIMIT 1",
            [entry["item_id"], entry["correction_by"]],
        )
        assert answer_text(correction).strip() == row.reference_output
        assert set(json.loads(correction)) == {"messages"}  # stored in the run's output shape


def test_only_trusted_consensus_is_promoted_and_the_rest_is_counted(r):
    made = promote_all(r)
    untrusted = r.wh.scalar(
        "SELECT count(DISTINCT item_id) FROM consensus WHERE queue = ? AND method = 'single'", [QUALITY]
    )
    assert untrusted > 0 and made["support-sft"].skipped.get("single consensus (untrusted)", 0) > 0
    for name in KINDS:
        for entry in datasets.lineage(name, data_dir=r.data).to_dict("records"):
            assert set(entry["methods"].values()) <= set(TRUSTED)


def test_an_agreement_gate_blocks_promotion_and_says_why(r):
    r.wh.execute("UPDATE agreement SET value = 0.21 WHERE queue = ? AND criterion = 'correctness'", [QUALITY])
    made = {d.dataset: d for d in promote(r.store, r.wh, r.queue(), r.data).datasets}
    assert {d.status for d in made.values()} == {"blocked"}  # each of the three relies on correctness
    assert "krippendorff_alpha of 'correctness' is 0.21" in made["support-sft"].reason
    assert "below the gate's 0.3" in made["support-sft"].reason
    assert datasets.names(r.data) == []
    r.wh.execute("DELETE FROM agreement WHERE queue = ?", [QUALITY])
    missing = promote(r.store, r.wh, r.queue(), r.data).datasets[0]
    assert missing.status == "blocked" and "no krippendorff_alpha for 'correctness'" in missing.reason
    assert "reviewdesk agreement support-quality" in missing.reason
    assert promote(r.store, r.wh, r.queue(AB), r.data).datasets[0].status == "created"  # no gate there


def test_a_changed_file_is_detected_and_never_loaded(r):
    promote(r.store, r.wh, r.queue(), r.data)
    folder = datasets.path("support-sft", 1, r.data)
    assert datasets.verify("support-sft", 1, r.data) == []
    parquet = folder / "data.parquet"
    assert not parquet.stat().st_mode & 0o222  # written read-only
    parquet.chmod(0o644)
    data = bytearray(parquet.read_bytes())
    data[len(data) // 2] ^= 0xFF
    parquet.write_bytes(bytes(data))
    with pytest.raises(DatasetTampered, match="changed after it was written"):
        datasets.load("support-sft", data_dir=r.data)
    assert "data.parquet: sha256 differs from the manifest" in datasets.verify("support-sft", 1, r.data)
    manifest = folder / "manifest.json"
    manifest.chmod(0o644)
    manifest.write_text(manifest.read_text().replace('"reviewer1"', '"someone-else"'))
    row = r.wh.execute("SELECT manifest_sha256, content_hash FROM dataset_versions WHERE name = 'support-sft'")[0]
    problems = datasets.verify("support-sft", 1, r.data, {"manifest_sha256": row[0], "content_hash": row[1]})
    assert "manifest.json differs from the one recorded in warehouse.dataset_versions" in problems


def test_simulated_reviewers_correct_and_flag_only_answers_they_rightly_call_incorrect(r):
    truth = truths(r.wh, QUALITY)
    rows = r.wh.execute(
        """SELECT i.run_id, s.answers ->> '$.correctness', s.correction, s.flags::VARCHAR FROM submissions s
           JOIN items i USING (item_id)
           WHERE s.queue = ? AND (s.correction IS NOT NULL OR json_array_length(s.flags) > 0)""",
        [QUALITY],
    )
    assert rows, "the demo needs corrections for its regression set"
    for run_id, answer, correction, flags in rows:
        assert answer == truth[run_id]["correctness"] == "incorrect"
        assert correction is None or answer_text(correction) == truth[run_id]["reference"]
        assert json.loads(flags) in ([], [{"reason": "off-policy answer"}])


def test_flags_and_routed_decisions_reach_the_flagged_report_with_run_links(r):
    item = next_item(r.store, QUALITY, "reviewer1")  # one the simulation left open
    flagged = Draft(
        {"correctness": "incorrect", "helpfulness": 1},
        comment="Shows the customer's full card number",
        flags=[{"reason": "contains personal data (PII)"}],
    )
    submit(r.store, item["item_id"], "reviewer1", flagged)
    decided, unrouted = r.wh.execute(
        "SELECT item_id, run_id FROM items WHERE queue = ? AND NOT is_gold ORDER BY item_id LIMIT 2", [QUALITY]
    )
    for case_item in (decided, unrouted):
        open_cases(r.store, [{"item_id": case_item[0], "criterion": "correctness", "queue": QUALITY, "why": "test"}])
    decide(r.store, decided[0], "correctness", "incorrect", "Promised a refund outside the 30 days", "lead",
           product_issue=True)  # fmt: skip
    # the word "policy" in a reason routes nothing: only the lead's checkbox does
    decide(r.store, unrouted[0], "correctness", "incorrect", "Policy: wrong order number", "lead")
    queue = r.queue()
    queue = queue.model_copy(
        update={
            "promotion": queue.promotion.model_copy(
                update={"run_url": "https://traces.example/runs/{run_id}?trace={trace_id}"}
            )
        }
    )
    report = promote(r.store, r.wh, queue, r.data).flagged
    with open(report.csv, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert report.issues == len(rows) >= 2
    by_item = {(row["item_id"], row["source"]): row for row in rows}
    pii = by_item[(item["item_id"], "reviewer flag")]
    assert pii["reasons"] == "contains personal data (PII)"
    assert pii["comment"] == "Shows the customer's full card number"
    assert pii["run_ids"] == item["run_id"] and pii["links"].startswith(f"https://traces.example/runs/{item['run_id']}")
    assert (unrouted[0], "adjudication") not in by_item
    policy = by_item[(decided[0], "adjudication")]
    assert policy["by"] == "lead" and "Promised a refund outside the 30 days" in policy["reasons"]
    assert policy["run_ids"] == decided[1] and policy["question"]
    markdown = Path(report.markdown).read_text()
    assert markdown.startswith(f"# Product issues: {QUALITY}")
    assert f"[{decided[1]}](https://traces.example/runs/" in markdown
