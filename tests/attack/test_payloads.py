"""Hostile payloads: a run nested 10,000 levels deep (or just past the limit, or over the size limit) is
quarantined at ingest in every format, and one unreadable item never costs a reviewer their answer,
blocks a queue, or fails a promotion. The documented limits: 64 levels, 8 MiB per record."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from promotion_support import QUALITY, ROOT, close
from publish_support import load_queue
from review_support import PASSWORD, T0, reset_postgres, seed_queue
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from reviewdesk.datasets.promotion import promote
from reviewdesk.demo.exports import write_runs
from reviewdesk.demo.logs import generate_runs
from reviewdesk.demo.simulate import simulate_reviews
from reviewdesk.ingest import detect_format, ingest_file
from reviewdesk.queues import get_queue
from reviewdesk.review import accounts, oversight
from reviewdesk.review.drafts import Draft
from reviewdesk.review.publication import publish
from reviewdesk.review.reservations import next_item
from reviewdesk.review.submissions import item_submissions, submit_and_next
from reviewdesk.sample.designs import draw_batch
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse

MAX_DEPTH = 64  # documented in reviewdesk/stores/payloads.py and the README
MAX_RECORD_BYTES = 8 << 20


def deep_array(depth: int) -> str:
    """JSON text of arrays nested `depth` levels (built as text: json.dumps itself would recurse)."""
    return "[" * depth + "]" * depth


def native_line(run_id: str, inputs: str, second: int = 0) -> str:
    return (
        f'{{"run_id": "{run_id}", "project": "p", "run_type": "llm", "model": "m", "status": "success", '
        f'"start_time": "2026-01-01T00:00:{second:02d}Z", "inputs": {inputs}, "outputs": {{"text": "ok {run_id}"}}}}'
    )


def check_counts(report) -> None:
    assert report.read == report.inserted + report.duplicates + report.rejected


def reasons(wh: Warehouse) -> dict[str, str]:
    return dict(wh.execute("SELECT locator, reason FROM quarantine"))


# -- the reproduction of issue 12 item 2, end to end ----------------------------------------------


def test_a_10000_deep_native_run_is_quarantined_and_reviewers_work_through_the_queue(tmp_path: Path):
    lines = [native_line(f"r{i}", json.dumps({"q": f"question {i}"}), i) for i in range(1, 6)]
    lines.insert(2, native_line("deep", deep_array(10_000), 9))
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with Warehouse(tmp_path / "wh.duckdb") as wh:
        report = ingest_file(wh, path, "native")
        check_counts(report)
        assert (report.read, report.inserted, report.rejected) == (6, 5, 1)
        assert reasons(wh) == {"line 3": "nested 10,001 levels deep, over the 64-level limit"}
        assert wh.scalar("SELECT count(*) FROM runs WHERE run_id = 'deep'") == 0
        queue = load_queue(
            "support-quality", sampling={"filter": "project = 'p'", "strategy": "random", "size": 10, "seed": 1},
            gold_fraction=0, gold_source=None, reviewers_per_item=2, overlap_fraction=1.0, assignees=["alice", "bob"],
            promotion=None,
        )  # fmt: skip
        batch = draw_batch(wh, queue)
        with ReviewStore(f"sqlite:///{tmp_path / 'review.sqlite'}") as store:
            assert publish(wh, store, queue, batch.batch_id).published == 5
            for name in ("alice", "bob"):
                accounts.add_user(store, name, "reviewer", PASSWORD)
            for name in ("alice", "bob"):
                item, done = next_item(store, queue.name, name), 0
                while item is not None:
                    _, item = submit_and_next(store, item["item_id"], name, Draft({"correctness": "correct"}))
                    done += 1
                assert done == 5
            assert oversight.progress(store, queue.name).complete == 5


@pytest.mark.parametrize("fmt", ["native", "langsmith", "otel"])
def test_detection_tells_the_format_when_the_first_record_is_too_deep_to_parse(tmp_path: Path, fmt: str):
    deep = deep_array(10_000)
    first = {
        "native": native_line("deep", deep),
        "langsmith": f'{{"id": "deep", "run_type": "llm", "inputs": {deep}}}',
        "otel": f'{{"resourceSpans": [{{"scopeSpans": [{{"spans": [{{"spanId": "s", "attributes": {deep}}}]}}]}}]}}',
    }[fmt]
    path = tmp_path / f"{fmt}.jsonl"
    path.write_text(first + "\n")
    assert detect_format(path) == fmt
    with Warehouse(tmp_path / "wh.duckdb") as wh:
        report = ingest_file(wh, path)  # auto: the deep record is then quarantined
        check_counts(report)
        assert (report.read, report.rejected) == (1, 1)
        assert "levels deep, over the 64-level limit" in next(iter(reasons(wh).values()))


# -- every format: just under, just over, far over, too large -------------------------------------


def nest_content(run: dict, value: object) -> dict:
    """The run with its first message's content replaced by `value`."""
    messages = [dict(m) for m in run["inputs"]["messages"]]
    messages[0]["content"] = value
    return {**run, "inputs": {**run["inputs"], "messages": messages}}


def nested(depth: int) -> object:
    value: object = "leaf"
    for i in range(depth):
        value = {"k": value} if i % 2 else [value]
    return value


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("native", "runs.jsonl"), ("native", "runs.csv"), ("native", "runs.parquet"), ("langsmith", "ls.jsonl"),
     ("otel", "otel.jsonl")],
)  # fmt: skip
def test_every_format_quarantines_records_past_the_limits(tmp_path: Path, fmt: str, name: str):
    runs = [r for r in generate_runs(40, seed=2) if r["run_type"] == "llm" and r["parent_run_id"] is None][:4]
    assert len(runs) == 4
    runs[1] = nest_content(runs[1], nested(100))  # far past the limit
    runs[2] = nest_content(runs[2], nested(10))  # well inside it
    runs[3] = {**runs[3], "outputs": {"messages": [{"role": "assistant", "content": "a" * (MAX_RECORD_BYTES + 1)}]}}
    path = tmp_path / name
    write_runs(runs, path, fmt)
    with Warehouse(tmp_path / "wh.duckdb") as wh:
        report = ingest_file(wh, path, fmt)
        check_counts(report)
        assert (report.read, report.inserted, report.rejected) == (4, 2, 2)
        kept = {r[0] for r in wh.execute("SELECT run_id FROM runs")}
        found = sorted(reasons(wh).values())
    assert len(kept) == 2
    assert found[0].startswith("nested ") and found[0].endswith("levels deep, over the 64-level limit")
    assert found[1].startswith("record is ") and found[1].endswith(f"bytes, over the {MAX_RECORD_BYTES:,}-byte limit")


def test_a_json_string_holding_deep_json_is_measured_once_unwrapped(tmp_path: Path):
    """Native nested values may be JSON text; escaped brackets must not hide the nesting from the check."""
    escaped = "".join(f"\\u{ord(c):04x}" for c in deep_array(100))
    path = tmp_path / "runs.jsonl"
    path.write_text(native_line("hidden", f'"{escaped}"') + "\n")
    with Warehouse(tmp_path / "wh.duckdb") as wh:
        report = ingest_file(wh, path)
        assert (report.inserted, report.rejected) == (0, 1)
        assert reasons(wh) == {"line 1": "nested 101 levels deep, over the 64-level limit"}


def test_deep_json_hidden_by_upper_case_escapes_of_braces_is_found_too():
    """Ingest measures only records whose brackets could nest that deep (issue 17): braces escaped as
    \\u007B, in upper case, count as brackets too, or a deep record would pass unmeasured."""
    deep = "".join(f"\\u{ord(c):04X}" for c in '{"a":' * 70 + "1" + "}" * 70)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "runs.jsonl"
        path.write_text(native_line("hidden", f'"{deep}"') + "\n" + native_line("fine", '{"a": 1}', 1) + "\n")
        with Warehouse(Path(tmp) / "wh.duckdb") as wh:
            report = ingest_file(wh, path)
            assert (report.inserted, report.rejected) == (1, 1)
            assert reasons(wh) == {"line 1": "nested 71 levels deep, over the 64-level limit"}


# -- the property: at or under the limit ingests, anything deeper is quarantined ------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(alphabet='ab[]{}"\\:, ', max_size=6))
small = st.recursive(scalars, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text("xy[{", max_size=3),
                                                                                        kids, max_size=3), max_leaves=6)


@st.composite
def spines(draw: st.DrawFn) -> object:
    """Random JSON around a spine of a random depth, with random siblings at each level."""
    value = draw(small)
    for _ in range(draw(st.integers(0, 72))):
        siblings = draw(st.lists(small, max_size=2))
        if draw(st.booleans()):
            at = draw(st.integers(0, len(siblings)))
            value = [*siblings[:at], value, *siblings[at:]]
        else:
            value = {**{f"s{i}": s for i, s in enumerate(siblings)}, draw(st.text("kl[]", max_size=3)): value}
    return value


def depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(spines(), min_size=1, max_size=12))
def test_random_nesting_at_or_under_the_limit_ingests_and_deeper_is_quarantined(values: list[object]):
    records = [{"run_id": f"r{i}", "inputs": {"q": v}, "outputs": "answer"} for i, v in enumerate(values)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "runs.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
        with Warehouse(Path(tmp) / "wh.duckdb") as wh:
            report = ingest_file(wh, path)
            check_counts(report)
            kept = {r[0] for r in wh.execute("SELECT run_id FROM runs")}
            refused = {f"r{int(loc.split()[1]) - 1}": why for loc, why in reasons(wh).items()}
    assert kept == {r["run_id"] for r in records if depth(r) <= MAX_DEPTH}
    assert refused == {r["run_id"]: f"nested {depth(r)} levels deep, over the 64-level limit"
                       for r in records if depth(r) > MAX_DEPTH}  # fmt: skip


# -- defence in depth in the review store ----------------------------------------------------------

BAD_PAYLOADS = {
    "deep": deep_array(5_000),
    "no-runs": "[]",
}


def _corrupt(store: ReviewStore, item_id: str, payload: str) -> None:
    with store.write() as conn:
        conn.execute(text("UPDATE items SET payload = :p WHERE item_id = :i"), {"p": payload, "i": item_id})


@pytest.fixture(params=["sqlite", "postgresql"])
def review_store(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        with ReviewStore(f"sqlite:///{tmp_path / 'review.sqlite'}") as s:
            yield s
        return
    with ReviewStore(request.getfixturevalue("postgres_url")) as s:
        reset_postgres(s)
        yield s


@pytest.mark.parametrize("bad", list(BAD_PAYLOADS))
def test_an_unreadable_item_is_set_aside_and_the_submission_beside_it_is_kept(review_store: ReviewStore, bad: str):
    store = review_store
    for name in ("reviewer1", "reviewer2"):
        accounts.add_user(store, name, "reviewer", PASSWORD)
    queue = seed_queue(store, n=4, reviewers_needed=2)
    _corrupt(store, f"{queue.name}-b1-0002", BAD_PAYLOADS[bad])
    first = next_item(store, queue.name, "reviewer1", now=T0)
    assert first["item_id"].endswith("-0001")
    result, following = submit_and_next(store, first["item_id"], "reviewer1", Draft({"correctness": "correct"}), T0)
    assert following["item_id"].endswith("-0003")  # the bad item 2 is passed over
    assert [s["submission_id"] for s in item_submissions(store, first["item_id"])] == [result.submission_id]
    assert next_item(store, queue.name, "reviewer2", now=T0)["item_id"].endswith("-0001")  # the queue goes on
    aside = oversight.set_aside_items(store, queue.name)
    assert [(a.item_id, a.run_ids) for a in aside] == [(f"{queue.name}-b1-0002", ["run-2"])]
    assert aside[0].reason.startswith("payload ") and aside[0].set_aside_at == T0
    if bad == "deep":
        assert aside[0].reason.endswith("its JSON is nested 5,000 levels deep, over the 64-level limit")
    assert oversight.progress(store, queue.name, "reviewer2").left_for_me == 3  # 1, 3 and 4


def test_a_held_item_that_cannot_be_read_is_released_and_the_next_one_given(tmp_path: Path):
    with ReviewStore(f"sqlite:///{tmp_path / 'review.sqlite'}") as store:
        accounts.add_user(store, "reviewer1", "reviewer", PASSWORD)
        queue = seed_queue(store, n=3, reviewers_needed=1)
        held = next_item(store, queue.name, "reviewer1", now=T0)
    with sqlite3.connect(tmp_path / "review.sqlite") as raw:  # e.g. a damaged row: not JSON at all
        raw.execute("UPDATE items SET payload = '{\"runs\": ' WHERE item_id = ?", (held["item_id"],))
    with ReviewStore(f"sqlite:///{tmp_path / 'review.sqlite'}") as store:
        again = next_item(store, queue.name, "reviewer1", now=T0)
        assert again["item_id"].endswith("-0002")
        [aside] = oversight.set_aside_items(store, queue.name)
        assert aside.item_id == held["item_id"] and aside.reason.startswith("payload cannot be read: its JSON cannot")


def test_the_queue_progress_page_shows_a_lead_the_item_set_aside_and_why(data_dir: Path):
    with ReviewStore(f"sqlite:///{(data_dir / 'review.sqlite').resolve()}") as store:
        accounts.add_user(store, "reviewer1", "reviewer", PASSWORD)
        accounts.add_user(store, "lena", "lead", PASSWORD)
        queue = seed_queue(store, n=3, reviewers_needed=1)
        _corrupt(store, f"{queue.name}-b1-0001", deep_array(5_000))
        assert next_item(store, queue.name, "reviewer1", now=T0)["item_id"].endswith("-0002")
        login = accounts.authenticate(store, "lena", PASSWORD).token
    at = AppTest.from_file(str(ROOT / "review_app" / "app.py"), default_timeout=30)
    at.session_state["session_token"] = login
    at = at.run().switch_page("views/queue_progress.py").run()
    assert not at.exception
    assert any("Set aside" in t.value and "1 items" in t.value for t in at.text)
    [row] = at.dataframe[0].value.to_dict("records")
    assert row["item_id"] == f"{queue.name}-b1-0001" and "nested 5,000 levels deep" in row["reason"]


# -- promotion -------------------------------------------------------------------------------------


def test_promotion_skips_an_item_whose_run_cannot_be_read_and_promotes_the_rest(demo_stores, tmp_path: Path):
    store, wh = demo_stores
    simulate_reviews(store, wh, QUALITY, reviewers=3, accuracy=1.0, seed=1, limit=90)
    close(store, wh, (QUALITY,))
    flagged = {f.item_id for f in oversight.flagged_items(store, QUALITY)}
    item_id, run_id = next(
        (i, r) for i, r in wh.execute("SELECT item_id, run_id FROM items WHERE queue = ? AND item_id IN "
                                      "(SELECT item_id FROM consensus) ORDER BY item_id", [QUALITY])
        if i not in flagged
    )  # fmt: skip
    # A run ingested before the limits existed: DuckDB holds it, Python's parser cannot read it.
    wh.execute(f"UPDATE runs SET inputs = '{deep_array(10_000)}'::JSON WHERE run_id = ?", [run_id])
    result = promote(store, wh, get_queue(QUALITY, ROOT / "queues"), Path(wh.path).parent)
    assert {d.status for d in result.datasets} <= {"created", "empty"}
    assert any(d.status == "created" for d in result.datasets)
    why = f"item {item_id}, run {run_id}: payload cannot be read: its JSON is nested 10,000 levels deep, over the "
    for d in result.datasets:
        assert d.skipped.get(f"{why}64-level limit") == 1, d.skipped
