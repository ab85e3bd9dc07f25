"""Sampling: a batch of a queue's units drawn from production runs, seeded, with each item's
inclusion probability kept, so the labels estimate production rates without bias.

    from reviewdesk.sample import draw_batch, horvitz_thompson
    batch = draw_batch(wh, queue, size=100, seed=42)     # random | stratified | weighted, plus gold items
    batch.items[0]["inclusion_probability"]
    horvitz_thompson(values, probabilities, population)  # the production rate, with a confidence interval

Modules: designs (`draw_batch`: the design applied to the population), population (the units the
queue's filter admits, and seeded hashing), evaluation (queue SQL run in the sandbox), allocation
(stratum sizes and inclusion probabilities), drawn (the drawn units, a table from the draw to
the items), gold (gold items mixed in), assembly (a batch's recorded parameters and items),
batches (the one reader and writer of batches), estimates (Horvitz-Thompson estimates of
production rates).
"""

from reviewdesk.lazy import front_door

__all__, __getattr__, __dir__ = front_door(
    __name__,
    {
        "designs": ["draw_batch"],
        "allocation": ["allocate", "inclusion_probabilities"],
        "batches": ["Batch", "list_batches", "load_batch"],
        "estimates": ["Estimate", "OutcomeEstimate", "horvitz_thompson", "outcome_estimates"],
    },
)
