"""Quality: a queue's report for leads and product owners, built from the warehouse's labels and
consensus and saved where the review app can read it.

    from reviewdesk.quality import latest, refresh
    refresh(store, wh, "support-quality", reports_dir)   # agreement, calibration, bias, estimates, backlog
    latest(store, "support-quality")                     # the saved snapshot, as the Agreement page reads it

The report holds agreement per criterion (overall and per batch, with bootstrap intervals), reviewers
to calibrate, position bias, production estimates, the consensus and adjudication backlog, and
human vs model: the suggestions' accuracy, calibration and anchoring effect, and for a pairwise
queue the A/B answer: win rates per pair and a Bradley-Terry ranking, corrected for position bias.

Modules: report (building and saving it), suggestion_quality (human vs model), head_to_head (pairwise
results), markdown (the file
in data/reports), report_text (run- and reviewer-derived text escaped for Markdown and CSV reports),
snapshot (the copy in the review store: light, for the app), provisional (what arrived since a
report, and a report computed from the review store alone), calibration (who to calibrate, and the
evidence: their disagreements and gold misses), store_answers (the store's current answers), steps
(one collect cycle: collect, resolve, report, as the flow and the demo run it), rubric_labels (labels
by rubric version, versions named v1, v2, ...), clarity (confused options, per-option agreement and
comments on disagreed items, per criterion), rubric_ab (agreement before and after each rubric edit).
Bias controls: bias_report (the report's section), bias_flags (its rows and the biases flagged per reviewer and queue,
light enough for the app), bias_frame (what they read), bias_stats (intervals and flags), one module per
bias: bias_verbosity, bias_fatigue, bias_speed (rubber-stamping), bias_runs (straight-lining), bias_drift.
"""

from reviewdesk.lazy import front_door

__all__, __getattr__, __dir__ = front_door(
    __name__,
    {
        "report": ["queue_quality", "refresh", "save"],
        "suggestion_quality": ["anchoring_effect", "human_vs_model", "reliability"],
        "head_to_head": ["pairwise_results"],
        "snapshot": ["latest"],
        "provisional": ["arrived_since", "provisional_report"],
        "calibration": ["CALIBRATION", "reviewer_evidence", "to_calibrate"],
        "steps": ["collect_step"],
        "clarity": ["queue_clarity"],
        "rubric_ab": ["rubric_comparisons"],
        "bias_report": ["bias_controls"],
        "bias_flags": ["bias_table", "biases_flagged"],
    },
)
