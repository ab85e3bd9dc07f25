"""Ratings: long-format labels (item, rater, value) as one value code per label, in scale order.

Why one entry per label and never an items x raters matrix: crowd labelling has thousands of raters
who each rate a few items, and a dense matrix grows with items x raters (17,000 raters on 20,000
items is 1.4 GB of int32) where the labels are 40,000. Everything downstream needs only the labels
and the items x values count matrix (sparse), whose size follows the labels.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import sparse

from reviewdesk.errors import ConfigError, InputFileError, ReviewdeskError

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[str, ...] = ("nominal", "ordinal", "interval", "ratio")
COLUMNS = ("item", "rater", "value")
MISSING = -1


class LabelsError(ReviewdeskError):
    """The labels cannot be measured as given: missing columns, one rater, duplicate or out-of-scale ratings."""


def check_level(level: str) -> Level:
    """Refuse an unknown level of measurement with the four that exist."""
    if level not in LEVELS:
        raise ConfigError(f"Unknown level {level!r}: use nominal, ordinal, interval or ratio.")
    return level  # type: ignore[return-value]


def value_key(value: Any) -> str:
    """The identity of a rating value: 1, 1.0 and the option "1" are one value; text is compared as written."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, numbers.Real):
        f = float(value)
        return str(int(f)) if f.is_integer() else repr(f)
    return str(value).strip()


def _number(value: Any) -> float | None:
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    try:
        f = float(str(value))
    except ValueError:
        return None
    return f if math.isfinite(f) else None


def plain(value: Any) -> Any:
    """A JSON-ready scalar: numpy numbers become Python ones, whole floats become ints."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass(frozen=True, eq=False)
class Ratings:
    """Who gave which value to which item, ready for every coefficient.

    One entry per label: rater `raters[rater_idx[k]]` gave item `items[item_idx[k]]` the value
    `values[code[k]]`. `values` is the scale in order: the options as given, else the values seen,
    sorted. `points` are the numbers interval and ratio distances use (the positions for nominal
    and ordinal). `counts` is the items x values matrix of how many raters gave each value.
    """

    items: np.ndarray
    raters: np.ndarray
    values: tuple[Any, ...]
    points: np.ndarray
    level: Level
    item_idx: np.ndarray
    rater_idx: np.ndarray
    code: np.ndarray

    @property
    def n_labels(self) -> int:
        """Ratings given (missing ones dropped)."""
        return int(self.code.size)

    @cached_property
    def per_item(self) -> np.ndarray:
        """Ratings per item (m_i)."""
        return np.bincount(self.item_idx, minlength=len(self.items))

    @cached_property
    def counts(self) -> sparse.csr_matrix:
        """Items x values (sparse, sorted indices): how many raters gave each value to each item."""
        ones = np.ones(self.n_labels, dtype=np.float64)
        shape = (len(self.items), len(self.values))
        counts = sparse.csr_matrix((ones, (self.item_idx, self.code)), shape=shape)
        counts.sum_duplicates()
        return counts

    def rows(self, items: np.ndarray) -> np.ndarray:
        """The given items' ratings as a dense items x raters matrix of codes (MISSING: not rated): small data only."""
        position = np.full(len(self.items), -1, dtype=np.int64)
        position[items] = np.arange(len(items))
        mine = position[self.item_idx] >= 0
        rows = np.full((len(items), len(self.raters)), MISSING, dtype=np.int32)
        rows[position[self.item_idx[mine]], self.rater_idx[mine]] = self.code[mine]
        return rows

    @property
    def codes(self) -> np.ndarray:
        """Every item's ratings as a dense items x raters matrix (see `rows`): for inspection of small data."""
        return self.rows(np.arange(len(self.items)))

    @classmethod
    def from_labels(cls, labels: pd.DataFrame, level: str = "nominal", options: Sequence[Any] | None = None) -> Ratings:
        """Check and encode long-format labels; NaN or blank values are missing ratings and are dropped."""
        level = check_level(level)
        missing = [c for c in COLUMNS if c not in labels.columns]
        if missing:
            raise LabelsError(
                f"The labels lack the column(s) {', '.join(missing)}: give one row per rating with columns "
                "item, rater, value."
            )
        value_codes, uniques = pd.factorize(labels["value"], use_na_sentinel=True)
        blank = np.array([isinstance(u, str) and not u.strip() for u in uniques], dtype=bool)
        keep = value_codes >= 0
        if blank.any():
            keep &= ~blank[np.where(keep, value_codes, 0)]
        ids = labels.loc[keep, ["item", "rater"]]
        if ids.isna().any().any():
            raise LabelsError("Some ratings have no item or no rater: fill in both columns on every row.")
        item_idx, items = pd.factorize(ids["item"], sort=False)
        rater_idx, raters = _factorize_sorted(ids["rater"])
        values, points, position = _scale(uniques, blank, level, options)
        code = position[value_codes[keep]].astype(np.int32)
        _refuse_duplicates(item_idx, rater_idx, len(raters), np.asarray(items), np.asarray(raters))
        return cls(
            items=np.asarray(items, dtype=object),
            raters=np.asarray(raters, dtype=object),
            values=values,
            points=points,
            level=level,
            item_idx=item_idx.astype(np.int64),
            rater_idx=rater_idx.astype(np.int64),
            code=code,
        )


def _factorize_sorted(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    try:
        codes, uniques = pd.factorize(column, sort=True)
    except TypeError:  # ids of mixed types do not sort; keep them in first-seen order
        codes, uniques = pd.factorize(column, sort=False)
    return codes, np.asarray(uniques, dtype=object)


def _scale(
    uniques: Any, blank: np.ndarray, level: Level, options: Sequence[Any] | None
) -> tuple[tuple[Any, ...], np.ndarray, np.ndarray]:
    """The ordered scale (values, points) and, for each distinct raw value, its position on it."""
    seen = [u for u, b in zip(uniques, blank, strict=True) if not b]
    seen_keys = [value_key(u) for u in seen]
    if options is not None:
        keys = [value_key(o) for o in options]
        if len(set(keys)) != len(keys):
            raise ConfigError(f"The options {list(options)} repeat a value: list each option once.")
        unknown = sorted(set(seen_keys) - set(keys))
        if unknown:
            raise LabelsError(
                f"{len(unknown)} value(s) are not among the options {list(options)}: {unknown[:10]}. "
                "Add them to the options or correct the labels."
            )
        values = tuple(plain(o) for o in options)
    else:
        first: dict[str, Any] = {}
        for u, k in zip(seen, seen_keys, strict=True):
            first.setdefault(k, plain(u))
        numbers_ = {k: _number(v) for k, v in first.items()}
        if all(n is not None for n in numbers_.values()):
            keys = sorted(first, key=lambda k: numbers_[k])  # type: ignore[arg-type,return-value]
        elif level == "nominal":
            keys = sorted(first)
        elif level == "ordinal":
            raise LabelsError(
                f"The {level} level needs the scale's order for text values: pass the options in order "
                "(CLI: --options low,mid,high)."
            )
        else:
            keys = list(first)  # refused just below: interval and ratio need numbers
        values = tuple(first[k] for k in keys)
    if level in ("interval", "ratio"):
        nums = [_number(v) for v in values]
        bad = [v for v, n in zip(values, nums, strict=True) if n is None]
        if bad:
            raise LabelsError(
                f"The {level} level needs numbers, and {bad[:5]} are not: use --level ordinal for ordered text options."
            )
        points = np.array(nums, dtype=np.float64)
    else:
        points = np.arange(len(values), dtype=np.float64)
    where = {k: i for i, k in enumerate(keys)}
    position = np.full(len(uniques), MISSING, dtype=np.int64)
    j = 0
    for i, b in enumerate(blank):
        if not b:
            position[i] = where[seen_keys[j]]
            j += 1
    return values, points, position


def _refuse_duplicates(
    item_idx: np.ndarray, rater_idx: np.ndarray, n_raters: int, items: np.ndarray, raters: np.ndarray
) -> None:
    cell = item_idx.astype(np.int64) * max(n_raters, 1) + rater_idx
    cell.sort()
    dup = cell[1:][cell[1:] == cell[:-1]]
    if dup.size:
        first = int(dup[0])
        raise LabelsError(
            f"{dup.size} rating(s) repeat an item and rater, e.g. rater {raters[first % n_raters]!r} on item "
            f"{items[first // n_raters]!r}: keep one rating per item and rater (the latest one)."
        )


def read_labels(path: Path) -> pd.DataFrame:
    """Read a long-format CSV (item,rater,value); empty values are missing; a numeric value column becomes numbers."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"No such file: {path}. Give a CSV with columns item,rater,value.")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise InputFileError(f"{path} is not a readable CSV ({e}): give columns item,rater,value.") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise LabelsError(
            f"{path} lacks the column(s) {', '.join(missing)} (it has {', '.join(frame.columns)}): "
            "give one row per rating with columns item,rater,value."
        )
    given = frame["value"].dropna()
    numeric = pd.to_numeric(given, errors="coerce")
    if len(given) and numeric.notna().all():
        frame["value"] = pd.to_numeric(frame["value"])
    return frame
