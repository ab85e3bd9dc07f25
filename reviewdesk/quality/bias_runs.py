"""Straight-lining: giving the same answer item after item, more often than the reviewer's own mix of
answers would by chance.

Each answer is compared with the reviewer's previous answer to the same criterion (in submission order;
a pairwise preference as the side shown, so "always left" counts). Answering independently with their
own shares `p`, a reviewer repeats the previous answer `x` with chance `p(x)`. One who, with chance `r`,
repeats their previous answer instead of answering (and otherwise answers as before) repeats with chance
`r + (1 - r) p(x)`; so, over their answers,

    r = sum(repeated - p(previous)) / sum(1 - p(previous)),

with `p` their own shares of each answer. That excess repeat rate is the figure: 0 is no straight-lining.
Its interval is normal-theory, from the sum of the terms per submission (given the past, each term has
mean 0, so they are uncorrelated). `longest_run` is the longest run of one answer to one criterion.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from reviewdesk.quality.bias_stats import MIN_ROWS, figure, normal_ci, per_reviewer, too_few


def transitions(rows: pd.DataFrame) -> pd.DataFrame:
    """Each answer after the reviewer's first to its criterion: `repeated` (1.0 / 0.0), `chance` (their share
    of the previous answer), the submission, and the length of the run it belongs to so far (`run`)."""
    rows = rows[rows["answer"].notna()]
    if rows.empty:
        return pd.DataFrame(columns=["reviewer", "submission_id", "repeated", "chance", "run"])
    key = pd.factorize(pd.MultiIndex.from_arrays([rows["reviewer"], rows["criterion"]]))[0]
    order = np.lexsort((rows["submission_id"].to_numpy(), rows["submitted_at"].to_numpy(), key))
    key, answer = key[order], pd.factorize(rows["answer"])[0][order]
    cell = pd.factorize(pd.MultiIndex.from_arrays([key, answer]))[0]
    share = np.bincount(cell)[cell] / np.bincount(key)[key]
    same_key = np.r_[False, key[1:] == key[:-1]]
    repeated = same_key & np.r_[False, answer[1:] == answer[:-1]]
    starts = np.flatnonzero(~repeated)  # each run's first answer
    run = np.arange(len(key)) - starts[np.searchsorted(starts, np.arange(len(key)), side="right") - 1] + 1
    out = pd.DataFrame({"reviewer": rows["reviewer"].to_numpy()[order],
                        "submission_id": rows["submission_id"].to_numpy()[order],
                        "repeated": repeated.astype(float), "chance": np.r_[np.nan, share][:-1],
                        "run": run})  # fmt: skip
    return out[same_key]


def excess_repeats(moves: pd.DataFrame) -> dict[str, Any]:
    """The straight-lining figure from `transitions` rows (see the module docstring)."""
    if len(moves) < MIN_ROWS:
        return too_few(len(moves), "answers after a first one")
    repeated, chance = moves["repeated"].to_numpy(float), moves["chance"].to_numpy(float)
    room = float((1 - chance).sum())
    if room <= 0:
        return figure(None, None, len(moves), note="every answer is the same: nothing to compare with chance")
    rate = float((repeated - chance).sum()) / room
    terms = repeated - chance - rate * (1 - chance)
    codes = pd.factorize(moves["submission_id"])[0]
    per_submission = np.bincount(codes, weights=terms)
    ci = normal_ci(rate, float(np.sqrt(per_submission @ per_submission)) / room)
    return figure(rate, ci, len(moves), repeat_share=float(repeated.mean()), chance=float(chance.mean()),
                  longest_run=int(moves["run"].max()))  # fmt: skip


def straight_lining(rows: pd.DataFrame) -> dict[str, Any]:
    """The queue's and each reviewer's straight-lining figure from `bias_rows`."""
    return per_reviewer(transitions(rows), excess_repeats)


__all__ = ["excess_repeats", "straight_lining", "transitions"]
