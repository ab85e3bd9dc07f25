"""Review order: the `priority` a queue's items are published with (higher first; `reviews.next_item`).

A queue's `priority` setting picks it:

- `uncertainty`: 1 - the lowest confidence among the item's suggestions, so the items the model is
  least sure of come first (an item without suggestions counts as the most uncertain, 1.0);
- `random`: a uniform number fixed per item (a hash of its id), so batches interleave at random;
- `oldest`: minus the batch's publication time, so the first published batch is reviewed first
  (items published before priorities existed have none, which counts as 0: first of all).

Priority orders the review only. Which runs are sampled, and their inclusion probabilities, are
fixed when the batch is drawn, before anything is scored, so production estimates stay unbiased
once a batch is fully reviewed. Before then, uncertainty-first review leaves the easy items for
last, and an estimate over the items reviewed so far leans towards the hard ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

POLICIES = ("uncertainty", "random", "oldest")


def least_confidence(suggestions: Mapping[str, Any] | None) -> float | None:
    """The lowest confidence among an item's suggestions ({criterion: {confidence, ...}}), None without any."""
    if not suggestions:
        return None
    return min(float(s["confidence"]) for s in suggestions.values())


def item_priority(policy: str, item_id: str, published_at: datetime, confidence: float | None) -> float:
    """The priority of one item under `policy`; `confidence` is its least confident suggestion's (or None)."""
    if policy == "uncertainty":
        return 1.0 if confidence is None else round(1.0 - confidence, 6)
    if policy == "random":
        return int.from_bytes(hashlib.sha256(f"priority\x1f{item_id}".encode()).digest()[:6]) / 2.0**48
    if policy == "oldest":
        return -published_at.timestamp()
    raise ValueError(f"unknown priority {policy!r}: use one of {', '.join(POLICIES)}")


def priority_sql(policy: str, item_id: str, confidence: str, published_at: datetime) -> str:
    """DuckDB SQL giving `item_priority` of every row at once, from SQL expressions for the item's id and its
    least confident suggestion's confidence (NULL without any); equal to it value for value (tests check)."""
    if policy == "uncertainty":  # round_even, as Python's round, also on exact binary ties (0.7578125)
        return f"CASE WHEN ({confidence}) IS NULL THEN 1.0 ELSE round_even(1.0 - ({confidence}), 6) END"
    if policy == "random":
        return f"CAST(('0x' || substr(sha256('priority' || chr(31) || ({item_id})), 1, 12)) AS BIGINT) / 2.0^48"
    # oldest: one value for the batch, as a DOUBLE literal (17 digits and an exponent: exact, never a DECIMAL)
    return f"{item_priority(policy, '', published_at, None):.17e}"


__all__ = ["POLICIES", "item_priority", "least_confidence", "priority_sql"]
