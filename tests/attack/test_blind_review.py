"""Blind review: what the review store holds for reviewers is an allow-list, and never a gold answer.

The attacks that broke it (issue 12, item 5): run details showed the run `name` (ChatOpenAI beside
ChatAnthropic), `cost_usd`, latency and, for LangSmith runs, `metadata.ls_model_name` and
`ls_provider`, because only `model` was hidden; and a `gold_source` reading any metadata key but
`demo_truth` put the known answer in front of reviewers. Each case runs on demo runs ingested from
every format (native, LangSmith, OTel), sampled and published the way the review cycle does it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from blind_support import ANSWER_KEY, FORMATS, GOLD_FROM_METADATA, demo_runs, hidden_strings
from publish_support import load_queue
from sqlalchemy import text
from typer.testing import CliRunner

from reviewdesk.demo.exports import write_runs
from reviewdesk.ingest import ingest_file
from reviewdesk.queues import QueueFileError, load_queue_file
from reviewdesk.review.publication import publish
from reviewdesk.sample.designs import draw_batch
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

ROOT = Path(__file__).resolve().parents[2]
# A gold source reading a top-level column: escalated conversations are known to be unhelpful.
GOLD_FROM_TAGS = "CASE WHEN list_contains(tags, 'escalated') THEN json_object('helpfulness', 1) END"
# What reviewers see unless a queue lists more: the conversation, the answer and neutral fields.
NEUTRAL = ["inputs", "outputs", "status", "error", "prompt_tokens", "completion_tokens", "total_tokens"]


@pytest.fixture(scope="module", params=FORMATS)
def fmt_wh(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Warehouse]]:
    """A warehouse of demo runs ingested from one format (module-wide; each test draws its own batches)."""
    fmt, root = request.param, tmp_path_factory.mktemp(request.param)
    write_runs(demo_runs(fmt, 300, seed=5), root / "runs.jsonl", fmt=fmt)
    with Warehouse(root / "warehouse.duckdb") as wh:
        report = ingest_file(wh, root / "runs.jsonl", fmt)
        assert report.inserted > 200
        yield fmt, wh


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ReviewStore]:
    with ReviewStore(f"sqlite:///{tmp_path / 'review.sqlite'}") as s:
        yield s


def published(wh: Warehouse, store: ReviewStore, queue, seed: int = 11) -> list[dict]:
    """Draw a batch of `queue`, publish it, and return its items as the store holds them, with the raw payload."""
    batch = draw_batch(wh, queue, size=12, seed=seed)
    publish(wh, store, queue, batch.batch_id)
    return stored_items(store, batch.batch_id)


def stored_items(store: ReviewStore, batch_id: str) -> list[dict]:
    """The batch's items as the review store holds them, the payload as its raw JSON text."""
    with store.read() as conn:
        rows = conn.execute(
            text("SELECT item_id, is_gold, gold_answer, payload FROM items WHERE batch_id = :b"), {"b": batch_id}
        ).mappings()
        items = [dict(r) for r in rows]
    assert items
    return items


def gold_queue(gold_source: str, sees: list[str] | None) -> QueueConfig:
    """support-quality with a fifth of each batch gold, from `gold_source`; `sees`: reviewer_sees, None the default."""
    return load_queue("support-quality", gold_source=gold_source, gold_fraction=0.2,
                      **({"reviewer_sees": sees} if sees else {}))  # fmt: skip


def values(node: object) -> Iterator[object]:
    """Every value in a JSON document, JSON text inside strings parsed too."""
    yield node
    if isinstance(node, str) and node[:1] in "{[":
        with contextlib.suppress(ValueError):
            yield from values(json.loads(node))
    elif isinstance(node, dict):
        for v in node.values():
            yield from values(v)
    elif isinstance(node, list):
        for v in node:
            yield from values(v)


def assert_no_gold_shown(items: list[dict]) -> int:
    """No payload holds its item's gold answer anywhere, as JSON or as JSON text; returns the gold items seen."""
    gold = [i for i in items if i["is_gold"]]
    for item in gold:
        answer = json.loads(item["gold_answer"]) if isinstance(item["gold_answer"], str) else item["gold_answer"]
        assert answer is not None
        leaks = [v for v in values(json.loads(item["payload"])) if v == answer]
        assert not leaks, f"gold answer {answer} shown to reviewers in item {item['item_id']}"
        for reference in [answer.get("reference")] if isinstance(answer, dict) else []:
            assert reference is None or reference not in item["payload"]
    return len(gold)


def default_queue(name: str) -> QueueConfig:
    """The example queue with no `reviewer_sees`: what reviewers see by default."""
    raw = yaml.safe_load((ROOT / "queues" / f"{name}.yaml").read_text())
    raw.pop("reviewer_sees", None)
    return QueueConfig.model_validate(raw)


@pytest.mark.parametrize("queue", ["support-quality", "support-ab"])
def test_default_payloads_hide_names_models_providers_costs(fmt_wh, store: ReviewStore, queue: str):
    """Single and pairwise queues by default: the conversation, the answer, status, error, tokens; nothing else.
    The example queues, which list their own, show no more than they list."""
    fmt, wh = fmt_wh
    hidden = hidden_strings(wh)
    for seed, q in enumerate((default_queue(queue), load_queue(queue)), start=11):
        allowed = {f.split(".")[0] for f in getattr(q, "reviewer_sees", NEUTRAL)}
        for item in published(wh, store, q, seed=seed):
            runs = json.loads(item["payload"])["runs"]
            assert len(runs) == (2 if q.kind == "pairwise" else 1)
            for run in runs.values():
                assert set(run) <= allowed, f"{fmt} {q.kind}: {sorted(set(run) - allowed)}"
                assert run["outputs"] and run["inputs"]  # the conversation and the answer are there
            shown = [s for s in hidden if s in item["payload"]]
            assert not shown, f"{fmt} {q.kind} item {item['item_id']} shows {shown}"


def test_gold_answer_in_any_metadata_key_never_reaches_a_reviewer(fmt_wh, store: ReviewStore):
    fmt, wh = fmt_wh
    listings = (None, [*NEUTRAL, "metadata"], [*NEUTRAL, f"metadata.{ANSWER_KEY[fmt]}"])
    for seed, sees in enumerate(listings, start=20):
        queue = gold_queue(GOLD_FROM_METADATA[fmt], sees)
        items = published(wh, store, queue, seed=seed)
        assert assert_no_gold_shown(items) >= 1
        for item in items:
            assert ANSWER_KEY[fmt] not in item["payload"]
            metadata = next(iter(json.loads(item["payload"])["runs"].values())).get("metadata")
            if sees and "metadata" in sees:  # every other key is still shown
                assert metadata and "prompt_version" in json.dumps(metadata)


def test_gold_answer_read_from_a_column_is_held_back_even_when_listed(fmt_wh, store: ReviewStore):
    _, wh = fmt_wh
    for seed, sees in enumerate((None, [*NEUTRAL, "tags", "model"]), start=30):
        items = published(wh, store, gold_queue(GOLD_FROM_TAGS, sees), seed=seed)
        assert sum(i["is_gold"] for i in items) >= 1
        for item in items:
            run = next(iter(json.loads(item["payload"])["runs"].values()))
            assert "tags" not in run and "escalated" not in item["payload"]
            assert ("model" in run) == ("model" in (sees or []))  # listed and not read by the gold source: shown


def test_gold_source_of_the_drawn_batch_is_held_back_after_the_queue_changes(fmt_wh, store: ReviewStore):
    """The batch's gold answers came from the gold source it was drawn with: a queue edited since cannot show them."""
    fmt, wh = fmt_wh
    sees = [*NEUTRAL, "metadata"]
    batch = draw_batch(wh, gold_queue(GOLD_FROM_METADATA[fmt], sees), size=12, seed=3)
    edited = gold_queue(GOLD_FROM_TAGS, sees)
    publish(wh, store, edited, batch.batch_id)
    rows = stored_items(store, batch.batch_id)
    assert assert_no_gold_shown(rows) >= 1
    for row in rows:
        assert ANSWER_KEY[fmt] not in row["payload"]
        assert all("tags" not in run for run in json.loads(row["payload"])["runs"].values())


def test_pairwise_reviewers_see_only_what_the_queue_lists(fmt_wh, store: ReviewStore):
    fmt, wh = fmt_wh
    sees = ["outputs", "latency_ms", "metadata.locale", "metadata.app.locale"]
    items = published(wh, store, load_queue("support-ab", reviewer_sees=sees))
    for item in items:
        for run in json.loads(item["payload"])["runs"].values():
            assert list(run) == ["latency_ms", "outputs", "metadata"]
            assert set(run["metadata"]) == {"locale", "app.locale"}
            assert isinstance(run["metadata"]["app.locale" if fmt == "otel" else "locale"], str)


@pytest.mark.parametrize(
    ("expr", "reads"),
    [
        ("json_extract(metadata, '$.demo_truth')", {"metadata": {"demo_truth"}}),
        ("metadata ->> '$.a.b'", {"metadata": {"a"}}),
        ("metadata -> 'k'", {"metadata": {"k"}}),
        ("json_extract_string(metadata, '$.\"app.demo_truth\"')", {"metadata": {"app.demo_truth"}}),
        ("metadata ->> 'app.demo_truth'", {"metadata": {"app.demo_truth"}}),
        ("json_extract(metadata, '/demo_truth/x')", {"metadata": {"demo_truth"}}),
        ("json_extract(runs.outputs, '$.expected[0]')", {"outputs": {"expected"}}),
        ("json_object('correctness', error)", {"error": None}),
        ("json_extract(METADATA, '$[0]')", {"metadata": None}),
        ("json_extract(metadata, '$.*')", {"metadata": None}),
        ("json(metadata::VARCHAR) -> 'k'", {"metadata": None}),
        ("json_extract(metadata, lower('$.K'))", {"metadata": None}),
        ("to_json(runs)", {"*": None}),  # reads every field (blinding.EVERYTHING)
        ("(SELECT any_value(metadata) FROM runs)", {"*": None}),
        ("'{\"correctness\": \"correct\"}'", {}),
    ],
)
def test_what_a_gold_source_reads(expr: str, reads: dict):
    from reviewdesk.review.blinding import gold_reads

    assert gold_reads(expr) == reads


def test_a_gold_source_that_may_read_anything_leaves_reviewers_nothing():
    from reviewdesk.review.blinding import reviewer_view
    from schemas.queue import RUN_FIELDS

    assert reviewer_view(RUN_FIELDS, ["to_json(runs) ->> 'x'"]).fields == ()
    view = reviewer_view([*NEUTRAL, "metadata.a", "metadata.k"], ["metadata ->> 'k'", None])
    assert "metadata" in view.fields and view.metadata_keys == ("a",)
    # a field that is not JSON is left out whatever part of it the gold source reads
    assert "error" not in reviewer_view(NEUTRAL, ["json_extract(error, '$.k')"]).fields
    view = reviewer_view([*NEUTRAL, "metadata"], ["coalesce(metadata ->> 'a', json_extract(outputs, '$.b.c'))"])
    assert view.held_back == {"metadata": ("a",), "outputs": ("b",)} and view.metadata_keys is None


@pytest.mark.parametrize(
    ("sees", "message"),
    [
        (["inputs", "modle"], "reviewer_sees: 'modle' is not a run field: did you mean 'model'?"),
        (["outputs", "metadata."], "reviewer_sees: 'metadata.' is not a run field"),
        (["outputs", "outputs"], "reviewer_sees: list each field once; repeated: outputs"),
        ("outputs", "reviewer_sees: Input should be a valid list"),
    ],
)
def test_a_bad_reviewer_sees_is_refused_with_its_field_and_fix(tmp_path: Path, sees, message: str):
    data = yaml.safe_load((ROOT / "queues" / "support-quality.yaml").read_text()) | {"reviewer_sees": sees}
    path = tmp_path / "support-quality.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(QueueFileError, match="reviewer_sees") as e:
        load_queue_file(path)
    assert message in str(e.value)
    from reviewdesk.cli import app

    result = CliRunner().invoke(app, ["queues", "validate", str(path)])
    assert result.exit_code == 2 and "reviewer_sees" in result.output
