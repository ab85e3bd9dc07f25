"""Labels: what reviewers sent, validated into the warehouse, then resolved into one consensus value
per item and criterion (and step, for a per-step criterion of a trace or session: `step_run_id`, '' for
the whole item); disagreements go to a lead, who decides a per-step case as {step run id: value}.

    from reviewdesk.labels import collect, decide, resolve_queue
    collect(store, wh)                             # new submissions -> labels (invalid ones kept, rejected)
    resolve_queue(store, wh, "support-quality")    # labels -> consensus; disputes -> adjudication cases
    decide(store, item_id, "correctness", "incorrect", "the refund rule", "lead")   # a lead's final answer

Consensus methods, strongest first: gold, adjudicated, unanimous, majority, median (trusted, promoted
into datasets), then single. A queue's `consensus:` policy says which disagreements wait for a lead.

Modules: collection (submissions after a watermark, validated with pandera), consensus (the
methods, per item and criterion), resolve (a whole queue, and its disputes), adjudication (cases
and leads' decisions in the review store).
"""

from reviewdesk.lazy import front_door

__all__, __getattr__, __dir__ = front_door(
    __name__,
    {
        "collection": ["CollectResult", "collect"],
        "consensus": ["METHODS", "Resolution", "resolve_item"],
        "resolve": ["ResolveResult", "policy", "resolve_queue"],
        "adjudication": ["backlog", "case", "decide", "decide_item", "decisions", "disputed_steps", "open_cases"],
    },
)
