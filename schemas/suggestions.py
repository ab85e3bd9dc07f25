"""The contract of suggestion rows on their way from a scorer to the warehouse (`warehouse.suggestions`)."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series


class SuggestionRows(pa.DataFrameModel):
    """One scorer answer per item and criterion; `value` is JSON text, `confidence` a probability."""

    item_id: Series[str] = pa.Field(str_length={"min_value": 1})
    criterion: Series[str] = pa.Field(str_length={"min_value": 1})
    value: Series[str] = pa.Field(str_length={"min_value": 1})
    confidence: Series[float] = pa.Field(ge=0, le=1)
    model_version: Series[str] = pa.Field(str_length={"min_value": 1})

    @pa.dataframe_check(name="one suggestion per item and criterion", element_wise=False)
    def unique_per_item(cls, df):
        return ~df.duplicated(["item_id", "criterion"])

    class Config:
        strict = True
        coerce = False


__all__ = ["SuggestionRows"]
