"""The OpenAI raw models reject buckets that are not one UTC day, without the fake API or Dagster."""

from collections.abc import Callable

import pandera.polars as pa
import polars as pl
import pytest

from orchestration.sources.openai.schemas import SECONDS_PER_DAY, OpenAICostRaw, OpenAIUsageRaw

MIDNIGHT = 1_795_478_400  # 2026-11-24T00:00:00Z


def _usage(start_time: int, end_time: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "start_time": [start_time],
            "end_time": [end_time],
            "input_tokens": [1200],
            "output_tokens": [90],
            "num_model_requests": [4],
            "input_cached_tokens": [200],
            "input_cache_write_tokens": [None],
            "input_uncached_tokens": [None],
        }
    )


def _cost(start_time: int, end_time: int) -> pl.DataFrame:
    return pl.DataFrame(
        {"start_time": [start_time], "end_time": [end_time], "amount_value": ["0.0019"], "amount_currency": ["usd"]}
    )


MODELS = pytest.mark.parametrize(("model", "frame"), [(OpenAIUsageRaw, _usage), (OpenAICostRaw, _cost)])


@MODELS
def test_a_midnight_to_midnight_bucket_passes(
    model: type[pa.DataFrameModel], frame: Callable[[int, int], pl.DataFrame]
) -> None:
    model.validate(frame(MIDNIGHT, MIDNIGHT + SECONDS_PER_DAY), lazy=True)


@MODELS
@pytest.mark.parametrize(
    ("start_time", "end_time"),
    [
        (MIDNIGHT + 3600, MIDNIGHT + 3600 + SECONDS_PER_DAY),  # a full day's width, an hour late
        (MIDNIGHT, MIDNIGHT + 3600),  # midnight, an hour wide
    ],
    ids=["shifted", "partial"],
)
def test_a_bucket_that_is_not_one_utc_day_fails(
    model: type[pa.DataFrameModel], frame: Callable[[int, int], pl.DataFrame], start_time: int, end_time: int
) -> None:
    with pytest.raises(pa.errors.SchemaErrors, match="bucket_is_one_day"):
        model.validate(frame(start_time, end_time), lazy=True)
