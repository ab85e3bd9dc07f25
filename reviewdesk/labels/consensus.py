"""Consensus: one resolved value per item and criterion, with how it was reached and how sure it is.

Methods, strongest first: `gold` (the item's known answer), `adjudicated` (a lead decided),
`unanimous` (two or more reviewers, all the same), `majority` (a strict majority; a tie is never
broken by chance), `median` (ordinal or numeric answers spread within the tolerance without a
majority) and `single` (one reviewer). All but `single` are trusted (schemas.promotion.TRUSTED).
Confidence is the Laplace-smoothed share of reviewers who gave the consensus value,
(agreeing + 1) / (reviewers + 2), and 1 for gold and adjudicated values: two agreeing reviewers
give 0.75, three give 0.8, two of three give 0.6.

Which disagreements wait for a lead is the queue's policy (`schemas.queue.ConsensusPolicy`), and only
on required criteria. Ordinal (in option steps) and numeric answers spread within the tolerance
always resolve. Beyond it, and for any mismatch of categorical, boolean and pairwise preference
answers: under `no_majority` (the default) a strict majority stands and only an item without one
goes to a lead; under `any_disagreement` every such item does (a majority's value is kept meanwhile).
A missing answer (None: e.g. a reviewer who only flagged the item) is no answer, never a value.
Only items with all their reviews are judged.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.promotion import TRUSTED
from schemas.queue import ConsensusPolicy
from schemas.rubric import Criterion

METHODS = (*TRUSTED, "single")  # strongest first; promotion trusts all but `single` (schemas.promotion)
DEFAULT_POLICY = ConsensusPolicy()


@dataclass(frozen=True)
class Resolution:
    """The outcome for one item and criterion: a value with its method, and/or a disagreement."""

    value: Any  # None when there is no consensus (a tie, or a spread with no middle)
    method: str | None
    confidence: float | None
    reviewers: int
    agreeing: int
    disagreement: str | None = None  # why it needs adjudication, if it does


def _laplace(agreeing: int, reviewers: int) -> float:
    return (agreeing + 1) / (reviewers + 2)


def _spread(values: Sequence[Any], c: Criterion) -> float:
    if c.type == "ordinal":
        ranks = [c.options.index(v) for v in values]
        return max(ranks) - min(ranks)
    return max(values) - min(values)


def _median(values: Sequence[Any], c: Criterion) -> Any:
    """The middle answer; for an even count of ordinal answers, the lower middle option."""
    if c.type == "ordinal":
        return c.options[statistics.median_low(c.options.index(v) for v in values)]
    return statistics.median(values)


def resolve(values: Sequence[Any], c: Criterion, policy: ConsensusPolicy = DEFAULT_POLICY) -> Resolution:
    """Resolve the reviewers' answers to one criterion of one item (no gold, no adjudication) under `policy`."""
    n = len(values)
    counts = Counter(values).most_common()
    top, k = counts[0]
    if len(counts) == 1:
        return Resolution(top, "single" if n == 1 else "unanimous", _laplace(n, n), n, n)
    majority = 2 * k > n
    listed = ", ".join(f"{v} ({m})" for v, m in counts)
    graded = c.type in ("ordinal", "numeric") and (c.type == "numeric" or c.options)
    allowed = policy.spread_allowed(c)
    if graded and _spread(values, c) <= allowed:
        if majority:
            return Resolution(top, "majority", _laplace(k, n), n, k)
        middle = _median(values, c)
        return Resolution(middle, "median", _laplace(values.count(middle), n), n, values.count(middle))
    why = f"answers spread beyond {allowed:g}" if graded else "reviewers disagree"
    disagreement = f"{why}: {listed}" if c.required else None
    if majority:
        lead = disagreement if policy.adjudicate == "any_disagreement" else None
        return Resolution(top, "majority", _laplace(k, n), n, k, lead)
    return Resolution(None, None, None, n, 0, disagreement and f"no majority, {disagreement}")


def decided(value: Any, method: str, reviewers: int, agreeing: int) -> Resolution:
    """A gold or adjudicated value: it stands whatever the reviewers said."""
    return Resolution(value, method, 1.0, reviewers, agreeing)


def resolve_item(
    answers: Mapping[str, Sequence[Any]],
    criteria: Sequence[Criterion],
    gold: Mapping[str, Any] | None = None,
    adjudicated: Mapping[str, Any] | None = None,
    policy: ConsensusPolicy = DEFAULT_POLICY,
) -> dict[str, Resolution]:
    """Every criterion of one item with answers: gold first, then a lead's decision, then the reviewers
    (missing answers left out) under the queue's `policy`."""
    gold, adjudicated = gold or {}, adjudicated or {}
    out = {}
    for c in criteria:
        values = [v for v in answers.get(c.key, ()) if v is not None]
        if not values or c.type == "text":
            continue
        for source, method in ((gold, "gold"), (adjudicated, "adjudicated")):
            if c.key in source:
                out[c.key] = decided(source[c.key], method, len(values), values.count(source[c.key]))
                break
        else:
            out[c.key] = resolve(values, c, policy)
    return out


__all__ = ["DEFAULT_POLICY", "METHODS", "Resolution", "decided", "resolve", "resolve_item"]
