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


class MartWorkflowRoi(pa.DataFrameModel):
    """One workflow-period of ROI: runs add up, revenue is not negative, intervals bracket medians."""

    workflow: str = pa.Field()
    period: str = pa.Field(isin=["month", "all"])
    period_start: dt.date = pa.Field()
    attribution_model: str = pa.Field(isin=["linear", "last_touch", "first_touch", "time_decay"])
    successful_runs: int = pa.Field(ge=0)
    runs_with_baseline: int = pa.Field(ge=0)
    runs_without_baseline: int = pa.Field(ge=0)
    attributed_revenue_usd: decimal.Decimal = pa.Field(ge=0)
    baseline_revenue_usd: decimal.Decimal = pa.Field(ge=0)
    lift_usd: decimal.Decimal = pa.Field(nullable=True)
    median_lift_per_run_usd: decimal.Decimal = pa.Field(nullable=True)
    lift_ci_low_usd: decimal.Decimal = pa.Field(nullable=True)
    lift_ci_high_usd: decimal.Decimal = pa.Field(nullable=True)
    median_sample_runs: int = pa.Field(ge=0)
    cost_per_successful_task_usd: decimal.Decimal = pa.Field(nullable=True, ge=0)
    roi: decimal.Decimal = pa.Field(nullable=True)
    roi_ci_low: decimal.Decimal = pa.Field(nullable=True)
    roi_ci_high: decimal.Decimal = pa.Field(nullable=True)

    @pa.dataframe_check
    def runs_add_up(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Every successful run is either matched with a baseline or reported as unmatched."""
        return data.lazyframe.select(
            (pl.col("runs_with_baseline") + pl.col("runs_without_baseline")) == pl.col("successful_runs")
        )

    @pa.dataframe_check
    def interval_brackets_median(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """lift_ci_low ≤ median lift ≤ lift_ci_high wherever the interval exists."""
        return data.lazyframe.select(
            pl.col("lift_ci_low_usd").is_null()
            | (
                (pl.col("lift_ci_low_usd") <= pl.col("median_lift_per_run_usd"))
                & (pl.col("median_lift_per_run_usd") <= pl.col("lift_ci_high_usd"))
            )
        )

    @pa.dataframe_check
    def no_interval_under_six_runs(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """The order-statistic interval needs at least 6 runs."""
        return data.lazyframe.select((pl.col("median_sample_runs") >= 6) | pl.col("lift_ci_low_usd").is_null())

    class Config:
        coerce = True
        unique = ["workflow", "period", "period_start"]
