"""Which consensus becomes a verdict, and how it reads: hand-built warehouse rows, known answers."""

from __future__ import annotations

from reviewdesk.feedback.contracts import feedback_id
from reviewdesk.feedback.verdicts import item_link, queue_verdicts


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
    got = {(v.item_id, v.criterion, v.run.run_id): (v.label, v.score, v.kind, v.method)
           for v in queue_verdicts(warehouse, "q", "http://app/")}  # fmt: skip
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
    one = next(v for v in queue_verdicts(warehouse, "q", "http://app/") if v.item_id == "one" and v.criterion == "safe")
    assert one.id == feedback_id("q", "one", "safe", "rs") and one.run.trace_id == "ts"
    assert one.comment.endswith("Review: http://app/?item=one") and "gold, confidence 1.00 (2 of 2" in one.comment


def test_the_link_back_escapes_the_item_id():
    assert item_link("https://review.example.com/", "b 1/&x") == "https://review.example.com/?item=b%201%2F%26x"
