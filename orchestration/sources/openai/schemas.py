"""Raw tables of the OpenAI source: columns (the API's field names) and Pandera models."""

from __future__ import annotations

from typing import Annotated

import pandera.polars as pa
import polars as pl

SECONDS_PER_DAY = 86_400

USAGE_COLUMNS: dict[str, str] = {
    "start_time": "bigint not null",
    "end_time": "bigint not null",
    "endpoint": "varchar",  # the usage report: completions or embeddings (NULL in rows loaded before: completions)
    "model": "varchar",
    "project_id": "varchar",
    "user_id": "varchar",
    "api_key_id": "varchar",
    "batch": "boolean",
    "service_tier": "varchar",
    "api_source": "varchar",
    "input_tokens": "bigint",
    "output_tokens": "bigint",
    "num_model_requests": "bigint",
    # newer fields, NULL in older responses (reference §B.1)
    "input_cached_tokens": "bigint",
    "input_cache_write_tokens": "bigint",
    "input_uncached_tokens": "bigint",
    "input_text_tokens": "bigint",
    "input_audio_tokens": "bigint",
    "input_image_tokens": "bigint",
    "input_cached_text_tokens": "bigint",
    "input_cached_audio_tokens": "bigint",
    "input_cached_image_tokens": "bigint",
    "output_text_tokens": "bigint",
    "output_audio_tokens": "bigint",
    "output_image_tokens": "bigint",
    "_partition_date": "date not null",
    "_extracted_at": "timestamp not null",
}

COST_COLUMNS: dict[str, str] = {
    "start_time": "bigint not null",
    "end_time": "bigint not null",
    "amount_value": "decimal(38, 10)",
    "amount_currency": "varchar",
    "line_item": "varchar",
    "project_id": "varchar",
    "api_key_id": "varchar",
    "organization_id": "varchar",
    "quantity": "decimal(38, 10)",
    "quantity_unit": "varchar",
    "_partition_date": "date not null",
    "_extracted_at": "timestamp not null",
}


def _one_utc_day(data: pa.PolarsData) -> pl.LazyFrame:
    """The bucket starts at midnight UTC and lasts 24 h: a shifted full-width bucket straddles two partitions."""
    start = pl.col("start_time")
    return data.lazyframe.select(((start % SECONDS_PER_DAY) == 0) & ((pl.col("end_time") - start) == SECONDS_PER_DAY))


class OpenAIUsageRaw(pa.DataFrameModel):
    """One day bucket of completions usage: counts never negative, cached input part of all input."""

    start_time: int = pa.Field(gt=0)
    end_time: int = pa.Field(gt=0)
    input_tokens: int = pa.Field(ge=0)
    output_tokens: int = pa.Field(ge=0)
    num_model_requests: int = pa.Field(ge=0)
    input_cached_tokens: int = pa.Field(nullable=True, ge=0)
    input_cache_write_tokens: int = pa.Field(nullable=True, ge=0)
    input_uncached_tokens: int = pa.Field(nullable=True, ge=0)

    @pa.dataframe_check
    def bucket_is_one_day(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Daily buckets: a partial bucket (start_time not at midnight) would be summed as a whole day."""
        return _one_utc_day(data)

    @pa.dataframe_check
    def cached_input_is_part_of_input(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """`input_tokens` includes cached and cache-write tokens (reference §B.1)."""
        return data.lazyframe.select(
            pl.col("input_tokens")
            >= pl.col("input_cached_tokens").fill_null(0) + pl.col("input_cache_write_tokens").fill_null(0)
        )

    class Config:
        coerce = True


class OpenAICostRaw(pa.DataFrameModel):
    """One day bucket of one cost line: an amount in US dollars."""

    start_time: int = pa.Field(gt=0)
    end_time: int = pa.Field(gt=0)
    amount_value: Annotated[pl.Decimal, 38, 10] = pa.Field()  # a bare Decimal coerces to scale 0
    amount_currency: str = pa.Field(isin=["usd"])

    @pa.dataframe_check
    def bucket_is_one_day(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Daily buckets only, midnight to midnight UTC, as the usage buckets."""
        return _one_utc_day(data)

    class Config:
        coerce = True
