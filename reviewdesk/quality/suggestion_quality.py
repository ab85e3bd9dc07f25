"""Human vs model: how far the suggestions agree with the consensus, how well their confidence is
calibrated, and whether showing a suggestion pulls reviewers towards it (the anchoring effect).

- Agreement, per criterion: accuracy (the suggestion equals the consensus value) and Cohen's kappa
  between the two, with a bootstrap CI over items (the agreement library's; linear weights on
  ordinal scales), over every item with both a suggestion and a consensus value. A pairwise
  `preference` (a run id or "tie") is coded by the item's runs as run_a / run_b / tie first, so
  kappa compares which side of the pair each chose, not run ids that differ on every item.
- Calibration: a reliability table (10 bins of confidence: the mean confidence and the share right
  in each), its expected calibration error (ECE), and the Brier score of the suggested value.
- Anchoring, under the `randomized` suggestion policy (a fixed half of the items shows suggestions,
  by a hash of the item id, so the two halves differ only in that): the share of labels equal to
  the item's suggestion when it was shown, minus that share when it was hidden, with a percentile
  bootstrap CI over items. If a reviewer copies a shown suggestion with probability b and otherwise
  answers as they would have, the shown share is b + (1 - b) x hidden share, so the effect divided
  by (1 - hidden share) estimates b: reported as `copy_rate`.
- Outcomes, under any policy: a shown suggestion pre-selects its option, and each label records what the
  reviewer did with it (`schemas.suggestions.OUTCOMES`): accepted, changed or left. Reported per criterion:
  the counts, the acceptance rate ((accepted + left) / labels with an outcome: the share kept), the
  rubber-stamp share (left / labels with an outcome: kept without the reviewer touching the criterion) and
  the change rate; beside them the agreement with the suggestion of labels made without seeing it (hide,
  after_answer, the hidden half of randomized), and `excess_acceptance`, the acceptance rate minus that
  agreement. Only under `randomized` do the two groups differ by the showing alone (that is `anchoring`);
  across policies or periods they may also differ in items and reviewers, so the excess is a flag, not an
  estimate. Labels shown a suggestion before outcomes were recorded are counted in `unrecorded`.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from reviewdesk.agreement import summarize
from reviewdesk.errors import ReviewdeskError
from reviewdesk.stores.values import as_text, typed
from reviewdesk.stores.warehouse import Warehouse
from schemas.rubric import PREFERENCE, Criterion
from schemas.suggestions import OUTCOMES

BINS = 10
MIN_ANCHORING_LABELS = 10  # per group (shown, hidden) before an anchoring effect is reported
LEVELS = {"categorical": "nominal", "boolean": "nominal", "ordinal": "ordinal"}


def _pairs(wh: Warehouse, queue: str) -> pd.DataFrame:
    """Each item x criterion with both a suggestion and a consensus value (and the item's two runs, if pairwise)."""
    return wh.con.execute(
        """SELECT s.item_id, s.criterion, s.value::VARCHAR AS suggested, s.confidence, s.model_version,
                  c.value AS consensus, i.run_a, i.run_b
           FROM suggestions s JOIN consensus c ON c.item_id = s.item_id AND c.criterion = s.criterion
           LEFT JOIN items i ON i.item_id = s.item_id
           WHERE s.queue = ? AND c.value IS NOT NULL AND c.step_run_id = '' ORDER BY s.item_id""",
        [queue],
    ).df()


def _labels(wh: Warehouse, queue: str) -> pd.DataFrame:
    """Each label on an item x criterion that has a suggestion, with whether it was shown."""
    return wh.con.execute(
        """SELECT l.item_id, l.reviewer, l.criterion, l.value, l.suggestion_shown, l.suggestion_outcome,
                  s.value::VARCHAR AS suggested
           FROM labels l JOIN suggestions s ON s.item_id = l.item_id AND s.criterion = l.criterion
           WHERE l.queue = ? AND l.value IS NOT NULL AND l.step_run_id = '' ORDER BY l.item_id, l.reviewer""",
        [queue],
    ).df()


def reliability(confidence: np.ndarray, right: np.ndarray, bins: int = BINS) -> tuple[list[dict], float | None]:
    """The reliability table (non-empty bins of confidence) and the expected calibration error."""
    if len(confidence) == 0:
        return [], None
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        mask = which == b
        if not mask.any():
            continue
        conf, acc = float(confidence[mask].mean()), float(right[mask].mean())
        rows.append({"bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}", "mean_confidence": conf, "accuracy": acc,
                     "n": int(mask.sum())})  # fmt: skip
        ece += mask.sum() / len(confidence) * abs(acc - conf)
    return rows, float(ece)


def _sides(values: list[Any], rows: pd.DataFrame) -> list[str]:
    """Pairwise preferences (run ids or "tie") as run_a / run_b / tie of their items."""
    return [
        "run_a" if v == a else "run_b" if v == b else "tie"
        for v, a, b in zip(values, rows["run_a"], rows["run_b"], strict=True)
    ]


def _agreement(rows: pd.DataFrame, c: Criterion, resamples: int, seed: int) -> dict[str, Any]:
    suggested = [typed(as_text(json.loads(v)), c) for v in rows["suggested"]]
    consensus = [typed(v, c) for v in rows["consensus"]]
    if c.key == PREFERENCE:
        suggested, consensus = _sides(suggested, rows), _sides(consensus, rows)
    right = np.array([as_text(a) == as_text(b) for a, b in zip(suggested, consensus, strict=True)])
    confidence = rows["confidence"].to_numpy(float)
    table, ece = reliability(confidence, right)
    out: dict[str, Any] = {
        "n_items": len(rows),
        "accuracy": float(right.mean()),
        "brier": float(np.mean((confidence - right) ** 2)),
        "ece": ece,
        "reliability": table,
        "model_versions": {str(k): int(n) for k, n in rows["model_version"].value_counts().sort_index().items()},
    }
    frame = pd.DataFrame({
        "item": np.concatenate([rows["item_id"], rows["item_id"]]),
        "rater": ["model"] * len(rows) + ["consensus"] * len(rows),
        "value": suggested + consensus,
    })  # fmt: skip
    try:
        s = summarize(frame, LEVELS[c.type], c.options if c.type == "ordinal" else None, None, resamples, seed)
    except ReviewdeskError as e:
        return out | {"kappa": None, "kappa_ci": None, "kappa_weights": None, "note": str(e)}
    return out | {"kappa": s.kappa.value, "kappa_ci": list(s.kappa.ci) if s.kappa.ci else None,
                  "kappa_weights": s.kappa_weights, "note": s.kappa.note}  # fmt: skip


def anchoring_effect(labels: pd.DataFrame, resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """The anchoring effect over `labels` (columns item_id, agree, suggestion_shown), with CIs over items."""
    shown_mask = labels["suggestion_shown"].to_numpy(bool)
    agree = labels["agree"].to_numpy(float)
    codes, items = pd.factorize(labels["item_id"])
    out: dict[str, Any] = {"shown_labels": int(shown_mask.sum()), "hidden_labels": int((~shown_mask).sum()),
                           "shown_agree": None, "hidden_agree": None, "effect": None, "effect_ci": None,
                           "copy_rate": None, "copy_rate_ci": None, "items": len(items)}  # fmt: skip
    if min(out["shown_labels"], out["hidden_labels"]) < MIN_ANCHORING_LABELS:
        out["note"] = f"needs {MIN_ANCHORING_LABELS}+ labels with the suggestion shown and as many with it hidden"
        return out
    # Per item: labels (n) and labels equal to the suggestion (k), shown (row 0) and hidden (row 1).
    n = np.stack([np.bincount(codes[m], minlength=len(items)) for m in (shown_mask, ~shown_mask)]).astype(float)
    k = np.stack([np.bincount(codes[m], weights=agree[m], minlength=len(items)) for m in (shown_mask, ~shown_mask)])

    def figures(n_: np.ndarray, k_: np.ndarray) -> tuple[np.ndarray, ...]:
        with np.errstate(divide="ignore", invalid="ignore"):  # a resample may miss a group: NaN, dropped below
            shown = k_[..., 0, :].sum(-1) / n_[..., 0, :].sum(-1)
            hidden = k_[..., 1, :].sum(-1) / n_[..., 1, :].sum(-1)
            return shown, hidden, shown - hidden, (shown - hidden) / (1 - hidden)

    shown, hidden, effect, copy = figures(n, k)
    out |= {"shown_agree": float(shown), "hidden_agree": float(hidden), "effect": float(effect),
            "copy_rate": float(copy) if np.isfinite(copy) else None}  # fmt: skip
    if resamples:
        draws = np.random.default_rng(seed).integers(0, n.shape[1], size=(resamples, n.shape[1]))
        _, _, effects, copies = figures(n[:, draws].transpose(1, 0, 2), k[:, draws].transpose(1, 0, 2))
        effects, copies = effects[np.isfinite(effects)], copies[np.isfinite(copies)]
        if len(effects):
            out["effect_ci"] = [float(x) for x in np.percentile(effects, [2.5, 97.5])]
        if len(copies):
            out["copy_rate_ci"] = [float(x) for x in np.percentile(copies, [2.5, 97.5])]
    return out


def outcome_shares(labels: pd.DataFrame) -> dict[str, Any]:
    """What reviewers did with pre-selected suggestions (`labels`: suggestion_shown, suggestion_outcome, agree),
    beside the agreement of labels made without seeing the suggestion (see the module docstring)."""
    shown = labels[labels["suggestion_shown"].astype(bool)]
    recorded = shown["suggestion_outcome"][shown["suggestion_outcome"].isin(OUTCOMES)]
    counts = {o: int((recorded == o).sum()) for o in OUTCOMES}
    n, hidden = len(recorded), labels[~labels["suggestion_shown"].astype(bool)]
    out: dict[str, Any] = {"shown_labels": len(shown), "recorded": n, "unrecorded": len(shown) - n, **counts,
                           "acceptance_rate": None, "rubber_stamp_share": None, "change_rate": None,
                           "hidden_labels": len(hidden), "hidden_agree": None, "excess_acceptance": None}  # fmt: skip
    if n:
        out |= {"acceptance_rate": (counts["accepted"] + counts["left"]) / n, "rubber_stamp_share": counts["left"] / n,
                "change_rate": counts["changed"] / n}  # fmt: skip
    if len(hidden):
        out["hidden_agree"] = float(hidden["agree"].mean())
    if n and len(hidden):
        out["excess_acceptance"] = out["acceptance_rate"] - out["hidden_agree"]
    return out


def suggestion_labels(wh: Warehouse, queue: str, criteria: list[Criterion]) -> pd.DataFrame:
    """Each label on a scored criterion with a suggestion: whether it was shown, and `agree` (equal to it)."""
    labels = _labels(wh, queue)
    by_key = {c.key: c for c in criteria if c.type in LEVELS}
    labels = labels[labels["criterion"].isin(list(by_key))]
    return labels.assign(agree=[
        as_text(typed(v, by_key[key])) == as_text(json.loads(s))
        for key, v, s in zip(labels["criterion"], labels["value"], labels["suggested"], strict=True)
    ])  # fmt: skip


def human_vs_model(
    wh: Warehouse, queue: str, criteria: list[Criterion], policy: str, resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """The queue's human-vs-model section (see the module docstring) as a JSON-ready dict."""
    scored = [c for c in criteria if c.type in LEVELS]
    pairs = _pairs(wh, queue)
    out: dict[str, Any] = {"policy": policy, "criteria": {}, "anchoring": None}
    for c in scored:
        rows = pairs[pairs["criterion"] == c.key]
        if not rows.empty:
            out["criteria"][c.key] = _agreement(rows, c, resamples, seed)
    if not out["criteria"]:
        out["note"] = "No item has both a suggestion and a consensus value yet: pre-score batches before publishing."
    labels = suggestion_labels(wh, queue, scored)
    if not labels.empty:
        out["outcomes"] = {"criteria": {key: outcome_shares(part) for key, part in labels.groupby("criterion")},
                           "all": outcome_shares(labels)}  # fmt: skip
    if policy != "randomized":
        return out
    effects = {key: anchoring_effect(part, resamples, seed) for key, part in labels.groupby("criterion", sort=True)}
    out["anchoring"] = {"criteria": effects, "all": anchoring_effect(labels, resamples, seed)}
    return out


__all__ = ["anchoring_effect", "human_vs_model", "outcome_shares", "reliability", "suggestion_labels"]
