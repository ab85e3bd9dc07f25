"""Review: publishing batches to the review store, and everything a reviewer or a lead does there.

    from reviewdesk.review import Draft, next_item, publish, submit_and_next
    publish(wh, store, queue, batch_id)                       # items into the store; idempotent
    shown = next_item(store, "support-quality", "alice")      # reserves the next item for alice
    result, following = submit_and_next(store, shown["item_id"], "alice", Draft({"correctness": "correct"}))
    following                                                 # the next item, reserved in the same transaction

The reviewer's hot path (access, reservations, submissions) never imports DuckDB: the review app
reads and writes only the review store. Publishing reads the warehouse, so it is imported only by
the flows and the CLI.

Modules: publication (batches into the store), blinding (what reviewers see of a run), roles,
accounts (users, passwords, sessions), access (grants: who may review which queue; pauses), reservations
(`next_item`, `release`), drafts (what a reviewer sends, and its form checks), corrections (an answer
edited as text, stored in the run's output shape), submissions (submit,
revise, history), suggestions (whether a reviewer sees a model's suggestion), oversight (progress, open
work and flagged items for leads), item_links (what opening an item by its id shows to whom), triage
(resolving flags), qualification (where a reviewer stands in a queue with training: states, a lead's
qualify/pause/send back, the event log and lead notices), training (training items on gold items, graded
answers kept apart from submissions), monitoring (live gold accuracy; the pause back to training),
backlog (how large the next batch may be), lookups (shared statements), steps (one review cycle, sample
within the backlog limits -> pre-score -> publish, as the flow and the demo run it), units (a trace's or a
session's steps as a tree, and what a per-step criterion asks of them and checks in its answer).
"""

from reviewdesk.lazy import front_door

__all__, __getattr__, __dir__ = front_door(
    __name__,
    {
        "publication": ["PublishReport", "publish"],
        "roles": ["PRIVILEGED", "ROLES"],
        "accounts": ["add_user", "authenticate", "disable_user", "get_user", "list_users", "set_password"],
        "access": ["allowed_queues", "grant", "grants", "my_queues", "revoke", "set_paused", "view_item"],
        "reservations": ["next_item", "release"],
        "drafts": ["Draft", "flag_only", "missing_answers"],
        "corrections": ["CorrectionError", "Editable", "correction", "corrected", "editable"],
        "submissions": ["SubmitResult", "item_submissions", "my_submissions", "revise", "submit", "submit_and_next"],
        "oversight": [
            "Progress", "Tally", "flagged_items", "open_work", "progress", "reviewed_since", "set_aside_items", "tally"
        ],
        "item_links": ["ItemLink", "open_item"],
        "triage": ["resolve_flag"],
        "qualification": [
            "NotQualified", "ReviewerEvent", "Standing", "lead_notices", "mark_seen", "pause", "qualify",
            "reviewer_history", "send_back", "standing", "standings",
        ],
        "training": ["TrainingFeedback", "answer_training", "training_attempts"],
        "monitoring": ["live_gold_accuracy"],
        "backlog": ["BatchRoom", "batch_room"],
        "steps": ["cycle_sample_step", "prescore_step", "publish_step", "sample_step"],
        "units": ["Step", "StepNode", "asked_steps", "step_answer_problems", "step_tree", "steps_of", "unit_of"],
    },
)
