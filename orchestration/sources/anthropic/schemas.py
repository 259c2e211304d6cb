"""Raw tables of the Anthropic source: columns (the API's field names) and Pandera models."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import pandera.polars as pa
import polars as pl

USAGE_COLUMNS: dict[str, str] = {
    "bucket_starting_at": "timestamp not null",
    "bucket_ending_at": "timestamp not null",
    "model": "varchar",
    "workspace_id": "varchar",
    "api_key_id": "varchar",
    "service_tier": "varchar",
    "context_window": "varchar",
    "inference_geo": "varchar",
    "account_id": "varchar",
    "service_account_id": "varchar",
    "uncached_input_tokens": "bigint",
    "cache_read_input_tokens": "bigint",
    "cache_creation_ephemeral_5m_input_tokens": "bigint",
    "cache_creation_ephemeral_1h_input_tokens": "bigint",
    "output_tokens": "bigint",
    "server_tool_use_web_search_requests": "bigint",
    "_partition_date": "date not null",
    "_extracted_at": "timestamp not null",
}

COST_COLUMNS: dict[str, str] = {
    "bucket_starting_at": "timestamp not null",
    "bucket_ending_at": "timestamp not null",
    "workspace_id": "varchar",
    "description": "varchar",
    "cost_type": "varchar",
    "token_type": "varchar",
    "model": "varchar",
    "service_tier": "varchar",
    "context_window": "varchar",
    "inference_geo": "varchar",
    "amount": "varchar",
    "currency": "varchar",
    "amount_usd": "decimal(38, 10)",
    "_partition_date": "date not null",
    "_extracted_at": "timestamp not null",
}


def _one_day(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select((pl.col("bucket_ending_at") - pl.col("bucket_starting_at")) == pl.duration(days=1))


class AnthropicUsageRaw(pa.DataFrameModel):
    """One day bucket of messages usage: token counts never negative, each kind disjoint from the others."""

    bucket_starting_at: dt.datetime = pa.Field()
    bucket_ending_at: dt.datetime = pa.Field()
    uncached_input_tokens: int = pa.Field(ge=0)
    cache_read_input_tokens: int = pa.Field(ge=0)
    cache_creation_ephemeral_5m_input_tokens: int = pa.Field(nullable=True, ge=0)
    cache_creation_ephemeral_1h_input_tokens: int = pa.Field(nullable=True, ge=0)
    output_tokens: int = pa.Field(ge=0)

    @pa.dataframe_check
    def bucket_is_one_day(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Daily buckets: anything else would be summed into the wrong day."""
        return _one_day(data)

    class Config:
        coerce = True


class AnthropicCostRaw(pa.DataFrameModel):
    """One day bucket of one cost line: an amount in cents as received, and its exact USD value."""

    bucket_starting_at: dt.datetime = pa.Field()
    bucket_ending_at: dt.datetime = pa.Field()
    amount: str = pa.Field()
    currency: str = pa.Field(isin=["USD"])
    amount_usd: Annotated[pl.Decimal, 38, 10] = pa.Field()  # a bare Decimal coerces to scale 0

    @pa.dataframe_check
    def bucket_is_one_day(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Daily buckets only (the cost report has no other width)."""
        return _one_day(data)

    class Config:
        coerce = True
