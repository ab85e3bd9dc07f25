"""Rubric A/B: did a rubric edit change how far reviewers agree? Alpha per criterion before and after each
rubric version change, and the difference with a two-sample item-bootstrap CI
(`reviewdesk.agreement.comparison`), said in one sentence a rubric author can act on:

    rubric v2 raised alpha on correctness from .41 to .58 (difference +.17, 95% CI [.05, .29])

or, when the interval covers 0, that the difference is not distinguishable from zero. Each version's
labels are measured with that version's criterion. Versions without paired labels on a criterion are
passed over, so v3 is compared with v1 when v2 was never reviewed twice.
"""

from __future__ import annotations

import itertools
from typing import Any

from reviewdesk.agreement.comparison import AlphaDifference, alpha_difference
from reviewdesk.quality.rubric_labels import criterion_keys, paired_ratings, rubric_versions, versioned_labels
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse


def _short(x: float, sign: str = "") -> str:
    """.41, -.08, +.17 (as the sentence reads): two decimals, no leading zero."""
    text = format(x, f"{sign}.2f")
    return text.replace("0.", ".", 1) if text.lstrip("+-").startswith("0.") else text


def sentence(key: str, before: str, after: str, d: AlphaDifference, adjacent: bool = True) -> str:
    """The comparison in words (plain text: reports and the app escape it)."""
    if d.difference is None:
        why = d.before.note if d.before.value is None else d.after.note
        return f"rubric {after} cannot be compared with {before} on {key}: {why}"
    was = _short(d.before.value) + ("" if adjacent else f" ({before})")
    ci = f"{d.confidence:.0%} CI [{_short(d.ci[0])}, {_short(d.ci[1])}]" if d.ci else "no interval"
    figures = f"from {was} to {_short(d.after.value)} (difference {_short(d.difference, '+')}, {ci})"
    if d.distinguishable:
        return f"rubric {after} {'raised' if d.difference > 0 else 'lowered'} alpha on {key} {figures}"
    return f"rubric {after} changed alpha on {key} {figures}: the difference is not distinguishable from zero"


def rubric_comparisons(
    store: ReviewStore, wh: Warehouse, queue: str, resamples: int = 1000, seed: int = 0, confidence: float = 0.95
) -> list[dict[str, Any]]:
    """Each rubric version change with paired labels on both sides, per criterion: `before` and `after` (the
    version's name, hash and alpha), the difference with its CI, whether it is told from 0, and the sentence."""
    versions, labels = rubric_versions(store, queue), versioned_labels(wh, queue)
    out = []
    for key in criterion_keys(versions):
        mine = labels[labels["criterion"] == key]
        measured = [(n, v, r) for n, v in enumerate(versions) if key in v.criteria and (r := paired_ratings(
                    mine[mine["rubric_version"] == v.version], v.criteria[key])) is not None]  # fmt: skip
        for (n0, v0, r0), (n1, v1, r1) in itertools.pairwise(measured):
            if v0.criteria[key].type != v1.criteria[key].type:
                continue  # a criterion whose type changed measures another thing: its alphas do not compare
            d = alpha_difference(r0, r1, resamples, seed, confidence)
            both = d.as_dict()
            out.append({**both, "criterion": key,
                        "before": {"name": v0.name, "version": v0.version, **both["before"]},
                        "after": {"name": v1.name, "version": v1.version, **both["after"]},
                        "sentence": sentence(key, v0.name, v1.name, d, adjacent=n1 == n0 + 1)})  # fmt: skip
    return out


__all__ = ["rubric_comparisons", "sentence"]
