"""The `runs` table contract: the domain rules every ingested run obeys, whatever its source format."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas.run_rules import STATUSES


class RunSchema(pa.DataFrameModel):
    """One production run. Ingestion validates the numeric and status columns of every batch with it."""

    run_id: Series[str] = pa.Field(str_length={"min_value": 1}, unique=True)
    status: Series[str] = pa.Field(isin=STATUSES)
    start_time: Series[pd.DatetimeTZDtype("us", "UTC")] = pa.Field(nullable=True)
    end_time: Series[pd.DatetimeTZDtype("us", "UTC")] = pa.Field(nullable=True)
    latency_ms: Series[float] = pa.Field(ge=0, nullable=True)
    prompt_tokens: Series[pd.Int64Dtype] = pa.Field(ge=0, nullable=True)
    completion_tokens: Series[pd.Int64Dtype] = pa.Field(ge=0, nullable=True)
    total_tokens: Series[pd.Int64Dtype] = pa.Field(ge=0, nullable=True)
    cost_usd: Series[float] = pa.Field(ge=0, nullable=True)
    user_feedback: Series[float] = pa.Field(nullable=True)

    @pa.dataframe_check(name="end_time is not before start_time", element_wise=False)
    def ends_after_start(cls, df: pd.DataFrame) -> Series[bool]:
        return ~(df["end_time"] < df["start_time"])

    class Config:
        strict = False
        coerce = False


# Columns that ingestion checks (in SQL by `schemas.run_rules`, then with pandera for the reasons); run_id
# presence and types are checked in SQL.
DOMAIN_COLUMNS = [c for c in RunSchema.to_schema().columns if c != "run_id"]
