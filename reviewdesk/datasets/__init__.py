"""Datasets: trusted consensus promoted into immutable, content-hashed versions, and the one-call API
ML engineers load them with.

    from reviewdesk import datasets
    train = datasets.load("support-sft", split="train")     # pandas, the latest version
    v2 = datasets.load("support-sft", version=2)             # a fixed version, for reproducible runs
    datasets.path("support-sft", 2)                          # .../data/datasets/support-sft/v2
    datasets.lineage("support-sft", 2)                       # per example: runs, item, batch, reviewers
    datasets.diff("support-sft", 1, 2)                       # examples added, removed and changed

Reading never opens the warehouse (a notebook may load a dataset while a flow holds DuckDB), and
every read checks the version's hashes. A dataset's name is a folder name (`schemas.promotion.DATASET_NAME`)
and every path stays inside `data/datasets`. Writing is `promote(wh, store, queue, ...)`, which the
`promote-datasets` flow and `reviewdesk promote` call.

Modules: read (the consumer API), exports (a version copied to a file, whole or not at all), promotion
(rules applied to a queue's consensus), examples (one item's consensus as rows of each kind), formats
(chat messages, example ids, the split), versioning (sealing and writing version folders), flagged (the
product-issue report), steps (promoting every queue, as the flow and the demo run it).
"""

from reviewdesk.lazy import front_door

__all__, __getattr__, __dir__ = front_door(
    __name__,
    {
        "read": [
            "DatasetDiff", "DatasetTampered", "dataset_folder", "datasets_dir", "diff", "lineage", "list_datasets",
            "load", "manifest", "names", "path", "read_manifest", "read_table", "summary", "verify", "versions",
        ],
        "exports": ["export"],
        "promotion": ["DatasetResult", "PromotionResult", "promote"],
        "flagged": ["FlaggedReport", "write_flagged"],
        "steps": ["promote_step"],
    },
)  # fmt: skip
