"""Which consensus becomes a verdict, and how it reads: hand-built warehouse rows, known answers."""

from __future__ import annotations

import uuid
from pathlib import Path

from promotion_support import insert_unit_runs
from unit_support import TRACE_ITEM, TRACE_QUEUE, support_trace, trace_stores

from reviewdesk.feedback.contracts import NAMESPACE, feedback_id
from reviewdesk.feedback.verdicts import item_link, queue_verdicts
from reviewdesk.labels.adjudication import decide
from reviewdesk.labels.collection import collect
from reviewdesk.labels.resolve import resolve_queue
from reviewdesk.review.drafts import Draft
from reviewdesk.review.submissions import submit

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


def test_feedback_ids_are_fixed_forever():
    # A UUID5 in reviewdesk's namespace: changing either would orphan every feedback already written.
    assert feedback_id("support-quality", "b-1-0001", "correctness", "run-1") == "97e145b1-c950-513d-8335-347964a13748"


def test_trusted_consensus_becomes_one_verdict_per_run_and_pairwise_preference_reads_per_run(warehouse):
    warehouse.execute("""INSERT INTO runs (run_id, trace_id, project, status, source_format, ingested_at) VALUES
        ('ra', 'ta', 'p', 'success', 'otel', now()), ('rb', 'tb', 'p', 'success', 'otel', now()),
        ('rs', 'ts', 'p', 'success', 'otel', now())""")
    warehouse.execute("""INSERT INTO items (item_id, batch_id, queue, position, run_id, run_a, run_b) VALUES
        ('pair', 'b', 'q', 1, NULL, 'ra', 'rb'), ('one', 'b', 'q', 2, 'rs', NULL, NULL),
        ('tie', 'b', 'q', 3, NULL, 'rb', 'ra')""")
    warehouse.execute("""INSERT INTO consensus VALUES
        ('pair', 'q', 'preference', 'ra', NULL, 'majority', 0.6, 3, 2, now(), ''),
        ('pair', 'q', 'margin', 'clear', NULL, 'unanimous', 0.8, 3, 3, now(), ''),
        ('tie', 'q', 'preference', 'tie', NULL, 'adjudicated', 1.0, 3, 1, now(), ''),
        ('one', 'q', 'safe', 'true', 1.0, 'gold', 1.0, 2, 2, now(), ''),
        ('one', 'q', 'helpfulness', '3', 3.0, 'median', 0.5, 2, 1, now(), ''),
        ('one', 'q', 'stars', '4.5', 4.5, 'single', 0.67, 1, 1, now(), '')""")
    verdicts, gone = queue_verdicts(warehouse, "q", "http://app/")
    got = {(v.item_id, v.criterion, v.run.run_id): (v.label, v.score, v.kind, v.method) for v in verdicts}
    assert got == {
        ("pair", "preference", "ra"): ("preferred", 1.0, "CATEGORICAL", "majority"),
        ("pair", "preference", "rb"): ("not_preferred", 0.0, "CATEGORICAL", "majority"),
        ("pair", "margin", "ra"): ("clear", None, "CATEGORICAL", "unanimous"),
        ("pair", "margin", "rb"): ("clear", None, "CATEGORICAL", "unanimous"),
        ("tie", "preference", "ra"): ("tie", 0.5, "CATEGORICAL", "adjudicated"),
        ("tie", "preference", "rb"): ("tie", 0.5, "CATEGORICAL", "adjudicated"),
        ("one", "safe", "rs"): ("true", 1.0, "BOOLEAN", "gold"),
        ("one", "helpfulness", "rs"): ("3", 3.0, "NUMERIC", "median"),  # within tolerance: trusted (issue 14)
    }  # a single reviewer's answer is not trusted: no verdict
    assert gone == 0
    one = next(v for v in verdicts if v.item_id == "one" and v.criterion == "safe")
    assert one.id == feedback_id("q", "one", "safe", "rs") and one.run.trace_id == "ts"
    assert one.comment.endswith("Review: http://app/?item=one") and "gold, confidence 1.00 (2 of 2" in one.comment


def test_the_link_back_escapes_the_item_id():
    assert item_link("https://review.example.com/", "b 1/&x") == "https://review.example.com/?item=b%201%2F%26x"


def test_a_per_step_verdict_goes_to_the_step_run_once_its_dispute_is_decided(tmp_path: Path):
    """support_trace's item (root, retrieval, model call, tool1, tool2, answer): the reviewers split on tool1
    and agree on tool2. Whole-item criteria go to the root; tool_call goes to tool2 (unanimous) and, only
    once a lead decided it, to tool1; no other step, and a step whose run left the warehouse is counted."""
    with trace_stores(tmp_path) as (store, wh):
        insert_unit_runs(wh, support_trace(), trace_id=TRACE_ID)
        for reviewer, tool1 in (("reviewer1", "wrong"), ("reviewer2", "right")):
            tools = {"t1-tool1": tool1, "t1-tool2": "right"}
            submit(store, TRACE_ITEM, reviewer, Draft({"correctness": "correct", "helpfulness": 4, "tool_call": tools}))
        collect(store, wh)
        resolve_queue(store, wh, TRACE_QUEUE)

        def judged() -> tuple[dict, int]:
            verdicts, gone = queue_verdicts(wh, TRACE_QUEUE, "http://app")
            return {(v.criterion, v.run.run_id): (v.label, v.method, v.run.trace_id) for v in verdicts}, gone

        before = {("correctness", "t1-root"): ("correct", "unanimous", TRACE_ID),
                  ("helpfulness", "t1-root"): ("4", "unanimous", TRACE_ID),
                  ("tool_call", "t1-tool2"): ("right", "unanimous", TRACE_ID)}  # fmt: skip
        assert judged() == (before, 0)  # tool1 is in dispute: no verdict yet

        decide(store, TRACE_ITEM, "tool_call", {"t1-tool1": "wrong"}, "the orders API timed out", "lead")
        resolve_queue(store, wh, TRACE_QUEUE)
        assert judged() == ({**before, ("tool_call", "t1-tool1"): ("wrong", "adjudicated", TRACE_ID)}, 0)
        verdicts, _ = queue_verdicts(wh, TRACE_QUEUE, "http://app")
        ids = {v.run.run_id: v.id for v in verdicts if v.criterion == "tool_call"}
        assert ids == {s: str(uuid.uuid5(NAMESPACE, f"{TRACE_QUEUE}/{TRACE_ITEM}/tool_call/{s}"))
                       for s in ("t1-tool1", "t1-tool2")}  # fmt: skip
        assert {v.link for v in verdicts} == {f"http://app/?item={TRACE_ITEM}"}

        wh.execute("DELETE FROM runs WHERE run_id = 't1-tool2'")  # retention removed the step's run
        whole = {k: v for k, v in before.items() if k[0] != "tool_call"}
        assert judged() == ({**whole, ("tool_call", "t1-tool1"): ("wrong", "adjudicated", TRACE_ID)}, 1)
