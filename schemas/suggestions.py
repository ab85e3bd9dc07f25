"""The contract of suggestion rows on their way from a scorer to the warehouse (`warehouse.suggestions`), and
the names of what a reviewer did with a suggestion shown to them pre-selected (`OUTCOMES`).

Under a policy that shows suggestions, the review form pre-selects each suggested option. Each submission
then records, per criterion that had a suggestion pre-selected, one outcome:

- `accepted`: the reviewer confirmed it: pressed the accept key, or answered the criterion themselves (a
  click or a number key) and ended on the suggested value;
- `changed`: the submitted answer is not the suggestion (another option, or none for an optional criterion);
- `left`: the pre-selected value was submitted without the reviewer touching the criterion at all.

`left` is the rubber stamp: a suggestion that went through unexamined, as far as the form can tell.
"""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

OUTCOMES = ("accepted", "changed", "left")


class SuggestionRows(pa.DataFrameModel):
    """One scorer answer per item and criterion; `value` is JSON text, `confidence` a probability, `reason`
    the scorer's short why (None where it gives none)."""

    item_id: Series[str] = pa.Field(str_length={"min_value": 1})
    criterion: Series[str] = pa.Field(str_length={"min_value": 1})
    value: Series[str] = pa.Field(str_length={"min_value": 1})
    confidence: Series[float] = pa.Field(ge=0, le=1)
    model_version: Series[str] = pa.Field(str_length={"min_value": 1})
    reason: Series[str] = pa.Field(nullable=True, str_length={"min_value": 1})

    @pa.dataframe_check(name="one suggestion per item and criterion", element_wise=False)
    def unique_per_item(cls, df):
        return ~df.duplicated(["item_id", "criterion"])

    class Config:
        strict = True
        coerce = False


__all__ = ["OUTCOMES", "SuggestionRows"]
