"""TEMPLATE raw tables: their columns (the source's field names) and Pandera models (what a row must be)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import pandera.polars as pa
import polars as pl

USAGE_COLUMNS: dict[str, str] = {
    "bucket_starting_at": "timestamp not null",
    "bucket_ending_at": "timestamp not null",
    "model": "varchar",
    "input_tokens": "bigint",
    "cache_read_tokens": "bigint",
    "output_tokens": "bigint",
    "requests": "bigint",
    "_partition_date": "date not null",
    "_extracted_at": "timestamp not null",
}

COST_COLUMNS: dict[str, str] = {
    "bucket_starting_at": "timestamp not null",
    "bucket_ending_at": "timestamp not null",
    "model": "varchar",
    "token_type": "varchar",
    "amount_usd": "decimal(38, 10)",
    "_partition_date": "date not null",
    "_extracted_at": "timestamp not null",
}


class TemplateUsageRaw(pa.DataFrameModel):
    """One day bucket of one model's usage: token counts are never negative."""

    bucket_starting_at: dt.datetime = pa.Field()
    bucket_ending_at: dt.datetime = pa.Field()
    input_tokens: int = pa.Field(ge=0)
    cache_read_tokens: int = pa.Field(nullable=True, ge=0)
    output_tokens: int = pa.Field(ge=0)
    requests: int = pa.Field(nullable=True, ge=0)

    @pa.dataframe_check
    def bucket_is_one_day(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Rows are daily buckets: anything else would be summed into the wrong day."""
        return data.lazyframe.select(
            (pl.col("bucket_ending_at") - pl.col("bucket_starting_at")) == pl.duration(days=1)
        )

    class Config:
        coerce = True


class TemplateCostRaw(pa.DataFrameModel):
    """One day bucket of one cost line: an amount in USD."""

    bucket_starting_at: dt.datetime = pa.Field()
    bucket_ending_at: dt.datetime = pa.Field()
    amount_usd: Annotated[pl.Decimal, 38, 10] = pa.Field()  # a bare Decimal coerces to scale 0

    class Config:
        coerce = True
