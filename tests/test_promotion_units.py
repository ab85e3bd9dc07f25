"""Promotion from trace and session items: each kind from each unit, loaded with Hugging Face `datasets`
and checked row by row against hand-written examples; lineage names the unit and every run of it."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from datasets import load_dataset
from promotion_support import insert_consensus, insert_correction, insert_unit_items, insert_unit_runs, unit_stores
from pydantic import ValidationError
from typer.testing import CliRunner
from unit_support import RETRIEVAL_CRITERION, TOOL_CRITERION, step, support_session, support_trace, unit_queue

from reviewdesk import datasets
from reviewdesk.cli import app
from reviewdesk.datasets.formats import conversation
from reviewdesk.datasets.promotion import promote
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

RESOLVED = {"key": "resolved", "type": "categorical", "options": ["yes", "no"], "required": True}
CORRECT = [{"criterion": "correctness", "equals": "correct"}]


def queue_of(unit: str, extra: list[dict], labelled: list[str]) -> QueueConfig:
    """A `unit` queue feeding an sft, a regression and a classification dataset (named after the unit)."""
    rules = [
        {"name": f"{unit}-sft", "kind": "sft", "when": CORRECT},
        {"name": f"{unit}-regression", "kind": "regression", "when": CORRECT},
        {"name": f"{unit}-judge", "kind": "classification", "criteria": labelled},
    ]
    return unit_queue(f"support-{unit}s", unit, extra, gold_fraction=0, promotion={"datasets": rules})


TRACES = queue_of("trace", [TOOL_CRITERION, RETRIEVAL_CRITERION], ["correctness", "tool_call", "retrieval"])
SESSIONS = queue_of("session", [TOOL_CRITERION, RESOLVED], ["resolved", "tool_call"])
OTEL_TRACE = "0af7651916cd43dd8448eb211c80319c"  # a trace id that is not its root's run id


def second_trace() -> list[dict]:
    """support_trace's shape with another question (so it is not a duplicate input) and a working tool."""
    steps = copy.deepcopy(support_trace("t2", failing_tool=False))
    steps[0]["inputs"] = {"messages": [{"role": "user", "content": "Has order B2 shipped?"}]}
    steps[0]["outputs"] = {"output": "Yes, B2 shipped."}
    return steps


def short_session() -> list[dict]:
    """Turns that log only their new message; the third came after the item (its second turn) was reviewed."""
    said = [("Hi, my parcel is late", "Which order?"), ("Order C3", "It arrives tomorrow."), ("Thanks!", "Bye!")]
    return [
        step(f"s2-turn{t}", None, 0, "llm", turn=t, inputs={"input": q}, outputs={"output": a})
        for t, (q, a) in enumerate(said, 1)
    ]


@pytest.fixture
def stores(tmp_path: Path):
    with unit_stores(tmp_path / "data") as found:
        yield found


def traces(wh: Warehouse) -> None:
    # t1's second tool call started before the first (a child of the first model call): review order is
    # depth first, so tool1 still comes right after its parent.
    insert_unit_runs(wh, support_trace("t1"), trace_id="t1-root", starts=[0, 1, 2, 4, 3, 5])
    insert_unit_runs(wh, second_trace(), trace_id=OTEL_TRACE)
    insert_unit_items(wh, TRACES, [("i-t1", "t1-root", "t1-root"), ("i-t2", "t2-root", "t2-root")])
    insert_consensus(
        wh,
        TRACES,
        [
            ("i-t1", "correctness", "correct", "", "unanimous"),
            ("i-t1", "helpfulness", "5", "", "unanimous"),
            ("i-t1", "tool_call", "wrong", "t1-tool1", "unanimous"),
            ("i-t1", "tool_call", "right", "t1-tool2", "majority"),
            ("i-t1", "retrieval", "relevant", "t1-ret", "unanimous"),
            ("i-t2", "correctness", "correct", "", "majority"),
            ("i-t2", "helpfulness", "4", "", "majority"),
            ("i-t2", "tool_call", "right", "t2-tool1", "unanimous"),
            ("i-t2", "retrieval", "irrelevant", "t2-ret", "single"),  # one reviewer: untrusted
        ],
    )
    insert_correction(wh, TRACES, "i-t2", "bob", "Yes: B2 shipped on 3 May.")


def sessions(wh: Warehouse) -> None:
    insert_unit_runs(wh, support_session(3, "s1"), session_id="sess-1")
    insert_unit_runs(wh, short_session(), session_id="sess-2")
    insert_unit_items(wh, SESSIONS, [("i-s1", "sess-1", "s1-turn3"), ("i-s2", "sess-2", "s2-turn2")])
    insert_consensus(
        wh,
        SESSIONS,
        [
            ("i-s1", "correctness", "correct", "", "unanimous"),
            ("i-s1", "resolved", "yes", "", "unanimous"),
            ("i-s1", "tool_call", "right", "s1-turn3-tool", "unanimous"),
            ("i-s2", "correctness", "correct", "", "majority"),
            ("i-s2", "resolved", "no", "", "unanimous"),
        ],
    )
    insert_correction(wh, SESSIONS, "i-s2", "ann", "It arrives tomorrow before noon.")


def loaded(data: Path, name: str) -> list[dict]:
    """The latest version's rows as Hugging Face `datasets` reads its Parquet file, sorted by text."""
    folder = datasets.path(name, None, data)
    ds = load_dataset("parquet", data_files=str(folder / "data.parquet"), cache_dir=str(data / "hf"))["train"]
    return ds.to_list()


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict:
    return {"role": "assistant", "content": text}


Q1 = user("Where is my order A1?")
A1 = "Your order **A1** shipped on 3 May."
T1_RUNS = ["t1-root", "t1-ret", "t1-llm1", "t1-tool1", "t1-tool2", "t1-llm2"]
S1 = [user(f"Question {t}: where is order A{t}?") for t in (1, 2, 3)]
S1_ANSWERS = [assistant(f"Answer {t}: order A{t} shipped.") for t in (1, 2, 3)]
S1_CONVERSATION = [S1[0], S1_ANSWERS[0], S1[1], S1_ANSWERS[1], S1[2], S1_ANSWERS[2]]
S2_CONVERSATION = [
    user("Hi, my parcel is late"),
    assistant("Which order?"),
    user("Order C3"),
    assistant("It arrives tomorrow."),
]


def without_ids(rows: list[dict], key: str) -> list[dict]:
    """Rows without their id and split (a hash of the input, checked apart), sorted by `key`."""
    return sorted(({k: v for k, v in r.items() if k not in ("id", "split")} for r in rows), key=lambda r: str(r[key]))


def lineage(data: Path, name: str) -> dict[tuple[str, str | None], dict]:
    """The latest version's lineage by (item, step run id)."""
    return {(e["item_id"], e.get("step_run_id")): e for e in datasets.manifest(name, None, data)["lineage"]}


def one_split_per_unit(data: Path, *names: str) -> None:
    """Every example of one unit, in every dataset, is in the same split (no unit straddles train and test)."""
    splits: dict[str, set[str]] = {}
    for name in names:
        for e in datasets.manifest(name, None, data)["lineage"]:
            splits.setdefault(e["unit_id"], set()).add(e["split"])
    assert all(len(s) == 1 for s in splits.values()), splits


TOOL = 'step: tool get_order\n\ninput: {"order_id": "A1"}\n\noutput: '


def test_a_trace_gives_its_final_exchange_its_reference_and_a_label_per_step(stores):
    wh, store, data = stores
    traces(wh)
    made = {d.dataset: d for d in promote(store, wh, TRACES, data).datasets}
    assert {n: (d.status, d.rows) for n, d in made.items()} == {
        "trace-sft": ("created", 2),
        "trace-regression": ("created", 2),
        "trace-judge": ("created", 6),
    }
    assert made["trace-judge"].skipped == {"single consensus (untrusted)": 1}  # t2's retrieval, one reviewer
    assert without_ids(loaded(data, "trace-sft"), "messages") == [
        {"messages": [user("Has order B2 shipped?"), assistant("Yes, B2 shipped.")]},
        {"messages": [Q1, assistant(A1)]},
    ]
    assert without_ids(loaded(data, "trace-regression"), "run_id") == [
        {
            "input": [Q1],
            "reference_output": A1,  # nobody corrected it: the final answer the rule's `when` approved
            "criteria": {"correctness": "correct", "helpfulness": 5},
            "run_id": "t1-root",
            "tags": [],
        },
        {
            "input": [user("Has order B2 shipped?")],
            "reference_output": "Yes: B2 shipped on 3 May.",  # bob's correction
            "criteria": {"correctness": "correct", "helpfulness": 4},
            "run_id": "t2-root",
            "tags": [],
        },
    ]
    retrieved = '{"documents": [{"metadata": {"source": "policy.md"}, "page_content": "Orders ship in 2 days."}]}'
    assert without_ids(loaded(data, "trace-judge"), "text") == without_ids([
        {"text": TOOL + '{"date": "3 May", "status": "shipped"}', "label": "right", "criterion": "tool_call"},
        {"text": TOOL + '{"status": "shipped"}', "label": "right", "criterion": "tool_call"},
        {"text": TOOL + "timeout", "label": "wrong", "criterion": "tool_call"},
        {"text": f"step: retriever policy-search\n\ninput: order status\n\noutput: {retrieved}", "label": "relevant",
         "criterion": "retrieval"},
        {"text": "user: Has order B2 shipped?\n\nassistant: Yes, B2 shipped.", "label": "correct",
         "criterion": "correctness"},
        {"text": f"user: Where is my order A1?\n\nassistant: {A1}", "label": "correct", "criterion": "correctness"},
    ], "text")  # fmt: skip


def test_trace_lineage_names_the_unit_and_every_run_in_review_order(stores):
    wh, store, data = stores
    traces(wh)
    promote(store, wh, TRACES, data)
    judge = lineage(data, "trace-judge")
    assert set(judge) == {
        ("i-t1", None), ("i-t1", "t1-tool1"), ("i-t1", "t1-tool2"), ("i-t1", "t1-ret"), ("i-t2", None),
        ("i-t2", "t2-tool1"),
    }  # fmt: skip
    step = judge["i-t1", "t1-tool1"]
    assert step["run_ids"] == T1_RUNS  # depth first: tool1 (under the first model call) before tool2
    assert (step["unit"], step["unit_id"], step["methods"]) == ("trace", "t1-root", {"tool_call": "unanimous"})
    assert step["models"] == [None, None, "gpt-test", None, None, "gpt-test"]
    # The second trace's id is not its root's run id (OpenTelemetry): its runs are found all the same.
    assert judge["i-t2", None]["run_ids"] == ["t2-root", "t2-ret", "t2-llm1", "t2-tool1", "t2-tool2", "t2-llm2"]
    regression = lineage(data, "trace-regression")
    assert regression["i-t1", None]["reference"] == "final answer"
    assert regression["i-t2", None]["correction_by"] == "bob"
    one_split_per_unit(data, "trace-sft", "trace-regression", "trace-judge")


def test_a_session_gives_the_whole_conversation_its_input_up_to_the_last_user_turn_and_its_labels(stores):
    wh, store, data = stores
    sessions(wh)
    made = {d.dataset: (d.status, d.rows) for d in promote(store, wh, SESSIONS, data).datasets}
    assert made == {
        "session-sft": ("created", 2),
        "session-regression": ("created", 2),
        "session-judge": ("created", 3),
    }
    assert without_ids(loaded(data, "session-sft"), "messages") == [
        {"messages": S2_CONVERSATION},  # its third turn came after the review: not part of the item
        {"messages": S1_CONVERSATION},
    ]
    assert without_ids(loaded(data, "session-regression"), "run_id") == [
        {
            "input": S1_CONVERSATION[:-1],
            "reference_output": S1_ANSWERS[2]["content"],
            "criteria": {"correctness": "correct", "resolved": "yes"},
            "run_id": "s1-turn3",
            "tags": [],
        },
        {
            "input": S2_CONVERSATION[:-1],
            "reference_output": "It arrives tomorrow before noon.",  # ann's correction
            "criteria": {"correctness": "correct", "resolved": "no"},
            "run_id": "s2-turn2",
            "tags": [],
        },
    ]
    transcript = "\n\n".join(f"{m['role']}: {m['content']}" for m in S1_CONVERSATION)
    assert without_ids(loaded(data, "session-judge"), "text") == without_ids([
        {"text": 'step: tool get_order\n\ninput: {"order_id": "A3"}\n\noutput: {"status": "shipped"}',
         "label": "right", "criterion": "tool_call"},
        {"text": "user: Hi, my parcel is late\n\nassistant: Which order?\n\nuser: Order C3\n\nassistant: It arrives "
         "tomorrow.", "label": "no", "criterion": "resolved"},
        {"text": transcript, "label": "yes", "criterion": "resolved"},
    ], "text")  # fmt: skip
    judge = lineage(data, "session-judge")
    assert judge["i-s1", "s1-turn3-tool"]["run_ids"] == ["s1-turn1", "s1-turn2", "s1-turn3", "s1-turn3-tool"]
    assert (judge["i-s2", None]["unit"], judge["i-s2", None]["unit_id"]) == ("session", "sess-2")
    assert judge["i-s2", None]["run_ids"] == ["s2-turn1", "s2-turn2"]
    one_split_per_unit(data, "session-sft", "session-regression", "session-judge")


def test_promoting_units_again_changes_nothing(stores):
    wh, store, data = stores
    traces(wh)
    first = [d.version for d in promote(store, wh, TRACES, data).datasets]
    again = promote(store, wh, TRACES, data).datasets
    assert [(d.status, d.version) for d in again] == [("unchanged", v) for v in first]


def test_a_conversation_reads_the_same_whether_turns_log_the_whole_history_or_only_their_new_message():
    history = [(t["inputs"], t["outputs"]) for t in support_session(3, "s") if t["depth"] == 0]
    new_only = [({"input": m["content"]}, {"output": a["content"]}) for m, a in zip(S1, S1_ANSWERS, strict=True)]
    expected = (S1_CONVERSATION[:-1], S1_ANSWERS[2]["content"])
    assert conversation(history) == conversation(new_only) == expected
    trimmed = [history[0], history[1], ({"messages": [S1_ANSWERS[1], S1[2]]}, history[2][1])]  # a window of history
    assert conversation(trimmed) == expected
    unanswered = [({"input": "Hello?"}, {"output": ""}), ({"input": "Anyone?"}, {"output": "Yes, hi."})]
    assert conversation(unanswered) == ([user("Hello?"), user("Anyone?")], "Yes, hi.")


def test_a_rule_cannot_select_items_on_a_per_step_criterion():
    rule = {"name": "x", "kind": "sft", "when": [{"criterion": "tool_call", "equals": "right"}]}
    with pytest.raises(ValidationError, match="'tool_call' is answered per step"):
        unit_queue("support-traces", "trace", promotion={"datasets": [rule]})


def test_the_lineage_table_names_a_unit_by_its_id_and_run_count(stores, monkeypatch):
    from reviewdesk.cli import main

    monkeypatch.setattr(main.out, "width", 400)  # the console may have sized itself before (another test, a worker)
    wh, store, data = stores
    sessions(wh)
    promote(store, wh, SESSIONS, data)
    wh.close()  # the CLI opens the warehouse itself
    shown = CliRunner().invoke(
        app, ["--data-dir", str(data), "datasets", "show", "session-judge", "--lineage"], env={"COLUMNS": "400"}
    )
    assert shown.exit_code == 0, shown.output
    assert "session sess-1 (4 runs, step s1-turn3-tool)" in shown.output
    assert "session sess-2 (2 runs)" in shown.output
