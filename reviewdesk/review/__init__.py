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
accounts (users, passwords, sessions), access (who may review which queue), reservations
(`next_item`, `release`), drafts (what a reviewer sends, and its form checks), submissions (submit,
revise, history), suggestions (whether a reviewer sees a model's suggestion), oversight (progress and
flagged items for leads), item_links (what opening an item by its id shows to whom), lookups
(shared statements), steps (one review cycle, sample -> pre-score -> publish, as the flow and the
demo run it).
"""

from reviewdesk.lazy import front_door

__all__, __getattr__, __dir__ = front_door(
    __name__,
    {
        "publication": ["PublishReport", "publish"],
        "roles": ["PRIVILEGED", "ROLES"],
        "accounts": ["add_user", "authenticate", "disable_user", "get_user", "list_users", "set_password"],
        "access": ["allowed_queues", "my_queues"],
        "reservations": ["next_item", "release"],
        "drafts": ["Draft", "missing_answers"],
        "submissions": ["SubmitResult", "item_submissions", "my_submissions", "revise", "submit", "submit_and_next"],
        "oversight": ["Progress", "Tally", "flagged_items", "progress", "reviewed_since", "set_aside_items", "tally"],
        "item_links": ["ItemLink", "open_item"],
        "steps": ["prescore_step", "publish_step", "sample_step"],
    },
)
