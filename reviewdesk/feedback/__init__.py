"""Feedback: human verdicts written back to the tracing tool the runs came from (LangSmith, Langfuse, Phoenix).

    from reviewdesk.feedback import get_target, push_feedback
    target = get_target("phoenix", "http://127.0.0.1:6006")     # or "langsmith", "langfuse": keys from env vars
    result = push_feedback(wh, "support-quality", target, settings.app_url)
    result.created, result.updated, result.unchanged, result.failed

A verdict is one trusted consensus label (gold, adjudicated, unanimous, majority) on one run: its
criterion, value (a category and/or a score), method, confidence and a link to the item in the
review app, under an id that is a UUID5 of queue, item, criterion and run. A per-step label of a
trace or session goes to the step's own run (a child run, observation or span); one whose run left
the warehouse is skipped and counted (`runs_gone`). A push sends new and
changed verdicts only (`warehouse.feedback_pushes` holds, per verdict, the hash the tool has), so a
rerun sends nothing and a changed consensus updates the same feedback; failures are retried with
backoff and recorded per verdict.

Modules: contracts (Verdict, Run, Delivery, the Target protocol), verdicts (a queue's consensus as
verdicts), delivery (the push and its records), to_langsmith, to_langfuse, to_phoenix (one adapter per
tool, each through the vendor's SDK), factory (a target from its name and environment), steps (the
push the flow and the CLI run).
"""

from reviewdesk.lazy import front_door

__all__, __getattr__, __dir__ = front_door(
    __name__,
    {
        "contracts": ["Delivery", "PushFailed", "Run", "Target", "Verdict", "feedback_id"],
        "verdicts": ["QueueVerdicts", "item_link", "queue_verdicts"],
        "delivery": ["PushResult", "push_feedback"],
        "factory": ["TARGETS", "get_target"],
        "steps": ["push_step"],
    },
)  # fmt: skip
