"""The `reviewdesk` command line: a thin layer that parses options, calls the library and prints.

Exit codes: 0 ok, 1 partial (some records rejected), 2 usage or configuration error.
"""

from reviewdesk.cli import datasets, demo, ingest, labels, prescore, quality, queues, review, sample, serve  # noqa: F401  (register their commands)
from reviewdesk.cli.app import app

__all__ = ["app"]
