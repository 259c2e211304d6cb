"""Pandera models of the published marts: what a row must be before BI may see it.

Raw-table models live beside their source (`sources/<name>/schemas.py`); these gate the marts,
run as blocking asset checks (a failure stops the publish and fails `agentledger run`).
"""

import datetime as dt
import decimal

import pandera.polars as pa
import polars as pl


class FctLlmCalls(pa.DataFrameModel):
    """One priced LLM call: tokens never negative, a priced call has a cost, an unpriced one has none."""

    call_id: str = pa.Field(unique=True)
    run_id: str = pa.Field()
    workflow: str = pa.Field()
    started_at: dt.datetime = pa.Field()
    uncached_input_tokens: int = pa.Field(nullable=True, ge=0)
    cache_read_tokens: int = pa.Field(nullable=True, ge=0)
    cache_write_tokens: int = pa.Field(nullable=True, ge=0)
    output_tokens: int = pa.Field(nullable=True, ge=0)
    reasoning_tokens: int = pa.Field(nullable=True, ge=0)
    cost_usd: decimal.Decimal = pa.Field(nullable=True, ge=0)
    no_cache_cost_usd: decimal.Decimal = pa.Field(nullable=True, ge=0)
    needs_price: bool = pa.Field()

    @pa.dataframe_check
    def unpriced_calls_have_no_cost(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A call that needs a price must carry NULL cost, never a silent 0."""
        return data.lazyframe.select(pl.col("needs_price").not_() | pl.col("cost_usd").is_null())

    @pa.dataframe_check
    def reasoning_is_part_of_output(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Reasoning tokens are a subset of output tokens."""
        return data.lazyframe.select(
            pl.col("reasoning_tokens").is_null() | (pl.col("reasoning_tokens") <= pl.col("output_tokens"))
        )

    class Config:
        coerce = True


class FctWorkflowRuns(pa.DataFrameModel):
    """One run: a known outcome, non-negative cost, and a flag when some calls had no price."""

    run_id: str = pa.Field(unique=True)
    workflow: str = pa.Field()
    run_date: dt.date = pa.Field()
    outcome: str = pa.Field(isin=["success", "failure", "unlabeled"])
    cost_usd: decimal.Decimal = pa.Field(ge=0)
    llm_calls: int = pa.Field(ge=0)
    unpriced_calls: int = pa.Field(ge=0)
    rework_minutes: decimal.Decimal = pa.Field(ge=0)
    fully_priced: bool = pa.Field()

    @pa.dataframe_check
    def fully_priced_means_no_unpriced_calls(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """`fully_priced` and `unpriced_calls` must agree."""
        return data.lazyframe.select(pl.col("fully_priced") == (pl.col("unpriced_calls") == 0))

    class Config:
        coerce = True


class MartUnitEconomics(pa.DataFrameModel):
    """One workflow-period: counts add up, rates are rates, the interval brackets the median."""

    workflow: str = pa.Field()
    period: str = pa.Field(isin=["day", "week", "month", "all"])
    period_start: dt.date = pa.Field()
    runs: int = pa.Field(ge=1)
    labeled_runs: int = pa.Field(ge=0)
    successful_runs: int = pa.Field(ge=0)
    success_rate: decimal.Decimal = pa.Field(nullable=True, ge=0, le=1)
    total_cost_usd: decimal.Decimal = pa.Field(ge=0)
    cost_per_successful_task_usd: decimal.Decimal = pa.Field(nullable=True, ge=0)
    true_cost_per_successful_task_usd: decimal.Decimal = pa.Field(nullable=True, ge=0)
    median_run_cost_usd: decimal.Decimal = pa.Field(nullable=True, ge=0)
    median_run_cost_ci_low_usd: decimal.Decimal = pa.Field(nullable=True, ge=0)
    median_run_cost_ci_high_usd: decimal.Decimal = pa.Field(nullable=True, ge=0)
    retry_rate: decimal.Decimal = pa.Field(nullable=True, ge=0, le=1)
    escalation_rate: decimal.Decimal = pa.Field(nullable=True, ge=0, le=1)

    @pa.dataframe_check
    def counts_nest(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Successful ≤ labeled ≤ runs."""
        return data.lazyframe.select(
            (pl.col("successful_runs") <= pl.col("labeled_runs")) & (pl.col("labeled_runs") <= pl.col("runs"))
        )

    @pa.dataframe_check
    def interval_brackets_median(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """ci_low ≤ median ≤ ci_high wherever the interval exists."""
        return data.lazyframe.select(
            pl.col("median_run_cost_ci_low_usd").is_null()
            | (
                (pl.col("median_run_cost_ci_low_usd") <= pl.col("median_run_cost_usd"))
                & (pl.col("median_run_cost_usd") <= pl.col("median_run_cost_ci_high_usd"))
            )
        )

    @pa.dataframe_check
    def true_cost_includes_cost(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Adding rework can only raise the cost per successful task."""
        return data.lazyframe.select(
            pl.col("cost_per_successful_task_usd").is_null()
            | (pl.col("true_cost_per_successful_task_usd") >= pl.col("cost_per_successful_task_usd"))
        )

    class Config:
        coerce = True
        unique = ["workflow", "period", "period_start"]


class MartProviderReconciliation(pa.DataFrameModel):
    """One provider-day-model: token counts and rack cost present, a known status, untraced spend within the bill."""

    provider: str = pa.Field()
    usage_date: dt.date = pa.Field()
    model: str = pa.Field()
    traced_tokens: int = pa.Field(ge=0)
    reported_tokens: int = pa.Field(nullable=True, ge=0)
    priority_tier_tokens: int = pa.Field(ge=0)
    rack_cost_usd: decimal.Decimal = pa.Field(ge=0)
    billed_cost_usd: decimal.Decimal = pa.Field(nullable=True)
    billed_factor: decimal.Decimal = pa.Field(nullable=True)
    untraced_spend_usd: decimal.Decimal = pa.Field(nullable=True)
    status: str = pa.Field(isin=["ok", "provider_higher", "traced_higher", "priority_tier", "no_provider_data"])

    @pa.dataframe_check
    def untraced_spend_is_part_of_the_bill(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """No trace can leave more unexplained than the provider billed (its positive part)."""
        return data.lazyframe.select(
            pl.col("untraced_spend_usd").is_null()
            | (pl.col("untraced_spend_usd") <= pl.max_horizontal(pl.col("billed_cost_usd"), pl.lit(0)))
        )

    @pa.dataframe_check
    def no_provider_data_means_no_provider_figures(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A row marked `no_provider_data` carries neither reported tokens nor a bill."""
        return data.lazyframe.select(
            (pl.col("status") != "no_provider_data")
            | (pl.col("reported_tokens").is_null() & pl.col("billed_cost_usd").is_null())
        )

    class Config:
        coerce = True
        unique = ["provider", "usage_date", "model"]
