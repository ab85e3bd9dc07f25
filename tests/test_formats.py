"""Row formats and example identity: messages from any run shape, normalized inputs, stable splits, dedup."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from reviewdesk import datasets
from reviewdesk.datasets.examples import Consensus, Item, Run
from reviewdesk.datasets.formats import answer_text, example_id, input_key, input_messages, normalize, split_of
from reviewdesk.datasets.promotion import promote_rule
from reviewdesk.queues import get_queue

ROOT = Path(__file__).resolve().parents[1]
CHAT = [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Where is my order?"}]


def test_inputs_and_answers_become_chat_messages_whatever_their_shape():
    assert input_messages({"messages": CHAT}) == CHAT
    assert input_messages(json.dumps({"messages": CHAT})) == CHAT  # as the warehouse returns JSON
    assert input_messages({"prompt": "hi"}) == [{"role": "user", "content": "hi"}]
    assert input_messages({"a": 1}) == [{"role": "user", "content": '{"a": 1}'}]
    parts = {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]}
    assert input_messages(parts) == [{"role": "user", "content": "a\nb"}]
    tool_turn = {
        "messages": [
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c"}]},
            {"role": "tool", "content": "{}"},
            {"role": "assistant", "content": "Shipped."},
        ]
    }
    assert answer_text(tool_turn) == "Shipped."  # the final answer, tool turns dropped
    assert answer_text({"output": "ok"}) == "ok" and answer_text(None) == ""


def test_inputs_that_differ_only_in_case_and_spacing_are_one_example_in_one_split():
    a = [{"role": "user", "content": "Where is  my ORDER?\n"}]
    b = [{"role": "user", "content": "where is my order?"}]
    assert normalize("  \uff21  b\tC ") == "a b c"  # NFKC folds the full-width letter
    assert input_key(a) == input_key(b) and example_id(input_key(a)) == example_id(input_key(b))
    assert example_id(input_key(a), "correctness") != example_id(input_key(a), "helpfulness")
    keys = [input_key([{"role": "user", "content": f"question {i}"}]) for i in range(2000)]
    tests = [split_of(k, 0.1) for k in keys]
    assert tests == [split_of(k, 0.1) for k in keys]  # a function of the input alone
    assert 0.07 < tests.count("test") / len(keys) < 0.13
    assert {split_of(k, 0.0) for k in keys} == {"train"}


def item(item_id: str, content: str, method: str, helpfulness: int = 5) -> Item:
    queue = get_queue("support-quality", ROOT / "queues")
    run = Run(
        f"run-{item_id}",
        None,
        "m",
        "v1",
        json.dumps({"messages": [{"role": "user", "content": content}]}),
        json.dumps({"messages": [{"role": "assistant", "content": f"answer {item_id}"}]}),
        ["prod"],
    )
    consensus = {
        "correctness": Consensus("correct", "correct", method, 0.75),
        "helpfulness": Consensus(helpfulness, str(helpfulness), method, 0.75),
    }
    return Item(
        "support-quality",
        item_id,
        "b-1",
        queue.rubric_version,
        {c.key: c for c in queue.rubric.criteria},
        [run],
        consensus,
        ["ann", "bob"],
    )


def test_duplicate_inputs_keep_the_example_with_the_strongest_consensus(warehouse, tmp_path: Path):
    queue = get_queue("support-quality", ROOT / "queues")
    queue = queue.model_copy(update={"promotion": queue.promotion.model_copy(update={"agreement_gate": None})})
    sft = next(r for r in queue.promotion.datasets if r.kind == "sft")
    items = [
        item("i1", "Where is my order?", "unanimous"),
        item("i2", "where is  MY order?", "gold"),
        item("i3", "Another question", "majority"),
        item("i4", "Low helpfulness", "gold", helpfulness=3),
        item("i5", "Single reviewer", "single"),
    ]
    result = promote_rule(warehouse, tmp_path, queue, sft, items, datetime.now(UTC))
    assert (result.status, result.rows) == ("created", 2)
    assert result.skipped == {"duplicate input": 1, "single consensus (untrusted)": 1}
    lineage = datasets.lineage("support-sft", data_dir=tmp_path)
    assert sorted(lineage["item_id"]) == ["i2", "i3"]  # gold beats unanimous for the same input
    frame = datasets.load("support-sft", data_dir=tmp_path)
    key = input_key([{"role": "user", "content": "where is  MY order?"}])
    assert frame.set_index("id").loc[example_id(key), "split"] == split_of(key, sft.test_fraction)
