"""Pre-scoring: a model's suggestion per item and criterion (value, confidence, model version), made
before reviewers see the item, to order the queue and, if the queue says so, to show reviewers.

    from reviewdesk.prescore import get_scorer, prescore_batch, train_queue
    scorer = get_scorer(None, queue, wh, settings.models_dir)     # the queue's prescore.scorer
    report = prescore_batch(wh, queue, batch_id, scorer)          # suggestions into the warehouse
    report.scored, report.items, report.unscored
    train_queue(wh, queue, settings.models_dir)                   # a model per criterion on consensus

Scorers: `heuristic` (rules on the run: errors, refusals, thumbs down; pairs by the same rules),
`sklearn` (a trained model per criterion where it beat the majority baseline in cross-validation,
the heuristic elsewhere) and `http_judge` (an OpenAI-compatible endpoint, the heuristic as fallback).

Modules, each depending only on those before it: contracts (Suggestion and the scorer protocols),
features (what a scorer sees of a run), heuristic, trained (the model registry and its scorer),
training (fitting new versions), judge, factory (`get_scorer`), priority (review order from
suggestions), run (the prescore step over a batch), steps (retraining a queue's models, as the
nightly flow and the demo run it).
"""

from reviewdesk.lazy import front_door

__all__, __getattr__, __dir__ = front_door(
    __name__,
    {
        "contracts": ["ModelFallbackWarning", "PairScorer", "PairwiseFallbackWarning", "Scorer", "Suggestion"],
        "factory": ["get_scorer"],
        "heuristic": ["HeuristicScorer", "PairwiseHeuristic"],
        "judge": ["HttpJudge", "JudgeError"],
        "priority": ["item_priority"],
        "run": ["PrescoreReport", "prescore_batch"],
        "trained": ["SklearnScorer", "list_models", "serving"],
        "training": ["TrainResult", "train_queue"],
        "steps": ["train_step"],
    },
)
