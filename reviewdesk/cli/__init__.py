"""The `reviewdesk` command line: a thin layer that parses options, calls the library and prints.

    reviewdesk --help                     # every command; each takes --help, those that report --json
    reviewdesk demo --runs 5000           # the whole loop on the embedded demo, then the review app

Exit codes: 0 ok, 1 partial (some records rejected), 2 usage or configuration error. One module per
stage (ingest, sample, prescore, review, labels, quality, datasets, feedback, demo) plus queues, reviewers, serve and
deployments;
`main` holds the root command and what they share. Commands import the library when they run, so
the CLI starts without pandas, DuckDB or scikit-learn (tests/test_layering.py checks it).
"""

# Each module registers its commands on import.
from reviewdesk.cli import (  # noqa: F401
    datasets,
    demo,
    deployments,
    feedback,
    ingest,
    labels,
    prescore,
    quality,
    queues,
    receive,
    review,
    reviewers,
    sample,
    serve,
)
from reviewdesk.cli.main import app

__all__ = ["app"]
