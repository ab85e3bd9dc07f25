"""The embedded demo: realistic production logs of a support bot, and the whole loop run on them with
simulated reviewers, so `make demo` shows every stage working before a team brings its own runs.

    from reviewdesk.demo import generate_runs, run_demo, write_runs
    write_runs(generate_runs(10_000, seed=1), Path("logs/runs.jsonl"), fmt="langsmith")  # native | otel too
    result = run_demo(settings, runs=5000)        # ingest -> ... -> datasets, the flows' own steps

The runs carry a hidden `metadata.demo_truth` (what a careful reviewer would answer), which the
simulated reviewers read and publishing strips, so the demo's agreement figures and model accuracy
have a known answer.

Modules: script (the scripted world: models, prompts, customers, dialogue), logs (the run
generator), units (traces and sessions with known truth, for trace and session queues), exports
(writing runs as native JSONL/Parquet/CSV, LangSmith or OTel), simulate (reviewers of known
accuracy), biases (known biases they can carry, for the bias controls), run (the demo itself).
"""

from reviewdesk.lazy import front_door

__all__, __getattr__, __dir__ = front_door(
    __name__,
    {
        "logs": ["generate_runs"],
        "units": ["generate_unit_runs"],
        "exports": ["to_langsmith", "to_otel_request", "write_runs"],
        "simulate": ["SimulationResult", "simulate_reviews"],
        "biases": ["Biases"],
        "run": ["DEMO_PASSWORD", "DemoResult", "run_demo"],
    },
)
