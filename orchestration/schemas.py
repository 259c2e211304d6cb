"""Pandera models of the published marts: what a row must be before BI may see it.

Raw-table models live beside their source (`sources/<name>/schemas.py`); these gate the marts,
run as blocking asset checks (a failure stops the publish and fails `agentledger run`).
"""

import datetime as dt
import decimal
from typing import Annotated

import pandera.polars as pa
import polars as pl

# Money and rates are DECIMAL(38,10) in the marts. A bare `decimal.Decimal` annotation makes Pandera
# coerce to Decimal(28, 0), rounding every value to an integer before the checks run (a cost of
# -$0.40 became 0 and passed `ge=0`); the precision and scale must be spelled out.
Exact = Annotated[pl.Decimal, 38, 10]
# What rounding each of a sum's shares to 10 places can add to it.
SHARE_MARGIN = decimal.Decimal("0.00000001")


def _interval_brackets(data: pa.PolarsData, low: str, estimate: str, high: str) -> pl.LazyFrame:
    """A row check: the interval's bounds are both NULL or both set, and a set interval brackets a set estimate.

    Pandera passes a row whose check is NULL, so a bare `low <= estimate` let a row with one bound,
    or with an interval but no estimate, through. Every interval in the marts is computed from the
    same sample as its estimate: where the interval exists the estimate does too.
    """
    lo, mid, hi = pl.col(low), pl.col(estimate), pl.col(high)
    return data.lazyframe.select(
        (lo.is_null() & hi.is_null())
        | (lo.is_not_null() & hi.is_not_null() & mid.is_not_null() & (lo <= mid) & (mid <= hi))
    )


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
    cost_usd: Exact = pa.Field(nullable=True, ge=0)
    no_cache_cost_usd: Exact = pa.Field(nullable=True, ge=0)
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
    cost_usd: Exact = pa.Field(ge=0)
    llm_calls: int = pa.Field(ge=0)
    unpriced_calls: int = pa.Field(ge=0)
    quarantined_spans: int = pa.Field(nullable=True, ge=0)
    rework_minutes: Exact = pa.Field(ge=0)
    fully_priced: bool = pa.Field()

    @pa.dataframe_check
    def fully_priced_means_no_unpriced_calls(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """`fully_priced` agrees with `unpriced_calls` and `quarantined_spans` (NULL: built before it was counted)."""
        return data.lazyframe.select(
            pl.col("fully_priced")
            == ((pl.col("unpriced_calls") == 0) & (pl.col("quarantined_spans").fill_null(0) == 0))
        )

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
    success_rate: Exact = pa.Field(nullable=True, ge=0, le=1)
    total_cost_usd: Exact = pa.Field(ge=0)
    cost_per_successful_task_usd: Exact = pa.Field(nullable=True, ge=0)
    true_cost_per_successful_task_usd: Exact = pa.Field(nullable=True, ge=0)
    median_run_cost_usd: Exact = pa.Field(nullable=True, ge=0)
    median_run_cost_ci_low_usd: Exact = pa.Field(nullable=True, ge=0)
    median_run_cost_ci_high_usd: Exact = pa.Field(nullable=True, ge=0)
    median_sample_runs: int = pa.Field(ge=0)
    retry_rate: Exact = pa.Field(nullable=True, ge=0, le=1)
    escalation_rate: Exact = pa.Field(nullable=True, ge=0, le=1)

    @pa.dataframe_check
    def counts_nest(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Successful ≤ labeled ≤ runs."""
        return data.lazyframe.select(
            (pl.col("successful_runs") <= pl.col("labeled_runs")) & (pl.col("labeled_runs") <= pl.col("runs"))
        )

    @pa.dataframe_check
    def interval_brackets_median(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Both bounds or neither (NULL under 6 runs); an interval has a median and brackets it."""
        return _interval_brackets(
            data, "median_run_cost_ci_low_usd", "median_run_cost_usd", "median_run_cost_ci_high_usd"
        )

    @pa.dataframe_check
    def interval_exactly_from_six_runs(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """The order-statistic interval exists exactly from 6 runs up (macros/order_statistics.sql)."""
        return data.lazyframe.select(
            (pl.col("median_sample_runs") >= 6) == pl.col("median_run_cost_ci_low_usd").is_not_null()
        )

    @pa.dataframe_check
    def true_cost_includes_cost(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Both CPSTs are NULL exactly without successes; adding rework can only raise the cost per success.

        Rework is coalesced to 0 in the mart, so a NULL true CPST beside a set CPST is a lost value.
        """
        cpst = pl.col("cost_per_successful_task_usd")
        true_cpst = pl.col("true_cost_per_successful_task_usd")
        return data.lazyframe.select((cpst.is_null() == true_cpst.is_null()) & (cpst.is_null() | (true_cpst >= cpst)))

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
    traced_calls: int = pa.Field(ge=0)
    unpriced_calls: int = pa.Field(ge=0)
    rack_cost_usd: Exact = pa.Field(nullable=True, ge=0)
    billed_cost_usd: Exact = pa.Field(nullable=True)
    billed_factor: Exact = pa.Field(nullable=True)
    untraced_spend_usd: Exact = pa.Field(nullable=True)
    status: str = pa.Field(isin=["ok", "provider_higher", "traced_higher", "priority_tier", "no_provider_data"])

    @pa.dataframe_check
    def untraced_spend_is_part_of_the_bill(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """No trace can leave more unexplained than the provider billed (its positive part)."""
        return data.lazyframe.select(
            pl.col("untraced_spend_usd").is_null()
            | (pl.col("untraced_spend_usd") <= pl.max_horizontal(pl.col("billed_cost_usd"), pl.lit(0)))
        )

    @pa.dataframe_check
    def rack_cost_is_missing_only_where_no_call_is_priced(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A model whose traced calls all lack a price has no rack cost (never $0); any other row has one."""
        none_priced = (pl.col("traced_calls") > 0) & (pl.col("unpriced_calls") == pl.col("traced_calls"))
        return data.lazyframe.select(pl.col("rack_cost_usd").is_null() == none_priced)

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


class MartWorkflowRoi(pa.DataFrameModel):
    """One workflow-period of ROI: runs add up, revenue is not negative, intervals bracket medians."""

    workflow: str = pa.Field()
    period: str = pa.Field(isin=["month", "all"])
    period_start: dt.date = pa.Field()
    attribution_model: str = pa.Field(isin=["linear", "last_touch", "first_touch", "time_decay"])
    successful_runs: int = pa.Field(ge=0)
    runs_with_baseline: int = pa.Field(ge=0)
    runs_without_baseline: int = pa.Field(ge=0)
    attributed_revenue_usd: Exact = pa.Field(ge=0)
    baseline_revenue_usd: Exact = pa.Field(ge=0)
    lift_usd: Exact = pa.Field(nullable=True)
    median_lift_per_run_usd: Exact = pa.Field(nullable=True)
    lift_ci_low_usd: Exact = pa.Field(nullable=True)
    lift_ci_high_usd: Exact = pa.Field(nullable=True)
    median_sample_runs: int = pa.Field(ge=0)
    cost_per_successful_task_usd: Exact = pa.Field(nullable=True, ge=0)
    unpriced_runs: int = pa.Field(ge=0)
    roi: Exact = pa.Field(nullable=True)
    roi_ci_low: Exact = pa.Field(nullable=True)
    roi_ci_high: Exact = pa.Field(nullable=True)

    @pa.dataframe_check
    def runs_add_up(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Every successful run is either matched with a baseline or reported as unmatched."""
        return data.lazyframe.select(
            (pl.col("runs_with_baseline") + pl.col("runs_without_baseline")) == pl.col("successful_runs")
        )

    @pa.dataframe_check
    def interval_brackets_median(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Both lift bounds or neither; an interval has a median lift and brackets it."""
        return _interval_brackets(data, "lift_ci_low_usd", "median_lift_per_run_usd", "lift_ci_high_usd")

    @pa.dataframe_check
    def interval_exactly_from_six_runs(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """The order-statistic interval exists exactly from 6 runs up (macros/order_statistics.sql)."""
        return data.lazyframe.select((pl.col("median_sample_runs") >= 6) == pl.col("lift_ci_low_usd").is_not_null())

    class Config:
        coerce = True
        unique = ["workflow", "period", "period_start"]


class MartCacheSavings(pa.DataFrameModel):
    """One workflow-month of cache savings: costs never negative, savings add up, shares are shares."""

    workflow: str = pa.Field()
    month: dt.date = pa.Field()
    runs: int = pa.Field(ge=1)
    unpriced_runs: int = pa.Field(nullable=True, ge=0)  # NULL in months built before the column
    actual_cost_usd: Exact = pa.Field(ge=0)
    no_cache_cost_usd: Exact = pa.Field(ge=0)
    savings_usd: Exact = pa.Field()
    cpst_reduction_pct: Exact = pa.Field(nullable=True, le=100)
    cache_read_share: Exact = pa.Field(nullable=True, ge=0, le=1)
    cache_write_share: Exact = pa.Field(nullable=True, ge=0, le=1)
    cache_benefit: str = pa.Field(isin=["saving", "none", "net_cost"])

    @pa.dataframe_check
    def savings_are_the_difference(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Savings = no-cache cost − actual cost, exactly."""
        return data.lazyframe.select(
            pl.col("savings_usd") == pl.col("no_cache_cost_usd") - pl.col("actual_cost_usd")
        )

    @pa.dataframe_check
    def cache_shares_fit_in_the_input(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Cache reads and writes are parts of the same input: their shares cannot exceed 1."""
        read, write = pl.col("cache_read_share"), pl.col("cache_write_share")
        # both shares divide by the same input tokens: NULL together or set together
        return data.lazyframe.select(
            (read.is_null() & write.is_null())
            | (read.is_not_null() & write.is_not_null() & (read + write <= decimal.Decimal(1)))
        )

    class Config:
        coerce = True
        unique = ["workflow", "month"]


class MartModelMix(pa.DataFrameModel):
    """One workflow × provider × model × month: counts nest, an unpriced model has no cost, shares are shares."""

    workflow: str = pa.Field()
    month: dt.date = pa.Field()
    provider: str = pa.Field(nullable=True)
    model: str = pa.Field()
    calls: int = pa.Field(ge=1)
    unpriced_calls: int = pa.Field(ge=0)
    runs: int = pa.Field(ge=1)
    labeled_runs: int = pa.Field(ge=0)
    successful_runs: int = pa.Field(ge=0)
    success_rate: Exact = pa.Field(nullable=True, ge=0, le=1)
    cost_usd: Exact = pa.Field(nullable=True, ge=0)
    share_of_spend: Exact = pa.Field(nullable=True, ge=0, le=1)

    @pa.dataframe_check
    def counts_nest(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Successful ≤ labeled ≤ runs ≤ calls."""
        return data.lazyframe.select(
            (pl.col("successful_runs") <= pl.col("labeled_runs"))
            & (pl.col("labeled_runs") <= pl.col("runs"))
            & (pl.col("runs") <= pl.col("calls"))
        )

    @pa.dataframe_check
    def unpriced_models_have_no_cost(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A model with an unpriced call has an unknown (NULL) cost, never a partial one."""
        return data.lazyframe.select(pl.col("cost_usd").is_null() == (pl.col("unpriced_calls") > 0))

    @pa.dataframe_check
    def shares_add_up_to_at_most_one(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A workflow-month's models spend no more than its runs cost.

        More means calls outside their run's cost: a run resumed later than dbt's lookback_days,
        whose later calls are under its id but not in its row. One model's share above 1 shows it
        only when one model made every call; the sum shows it whatever the mix. Each share is
        rounded to 10 places, hence the margin. The mart is checked whole, in one piece below
        VALIDATION_CHUNK_ROWS (1M) rows: far more than workflows × models × months.
        """
        total = pl.col("share_of_spend").sum().over(["workflow", "month"])
        return data.lazyframe.select(total <= pl.lit(SHARE_MARGIN, dtype=pl.Decimal(38, 10)) + 1)

    class Config:
        coerce = True
        unique = ["workflow", "month", "provider", "model"]


class MartRoutingRecommendations(pa.DataFrameModel):
    """One workflow: a recommendation exists exactly when it says so, backed by labeled runs."""

    workflow: str = pa.Field(unique=True)
    recommendation: str = pa.Field(isin=["switch", "keep_current", "insufficient_sample", "no_priced_route"])
    recommended_route: str = pa.Field(nullable=True)
    recommended_labeled_runs: int = pa.Field(nullable=True, ge=1)
    recommended_success_rate: Exact = pa.Field(nullable=True, ge=0, le=1)
    best_success_rate: Exact = pa.Field(nullable=True, ge=0, le=1)
    recommended_cost_per_successful_task_usd: Exact = pa.Field(nullable=True, ge=0)
    observed_days: int = pa.Field(ge=1)

    @pa.dataframe_check
    def route_present_when_recommended(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A `switch` or `keep_current` names a route; the other outcomes name none."""
        return data.lazyframe.select(
            pl.col("recommendation").is_in(["switch", "keep_current"]) == pl.col("recommended_route").is_not_null()
        )

    @pa.dataframe_check
    def recommended_rate_at_most_best(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """The best success rate bounds every sampled route's, the recommended one's included.

        A recommended route is one of the priced routes the best rate is taken over, so a
        recommended rate without a best rate is a broken join, not an unknown.
        """
        recommended, best = pl.col("recommended_success_rate"), pl.col("best_success_rate")
        return data.lazyframe.select(recommended.is_null() | (best.is_not_null() & (recommended <= best)))

    class Config:
        coerce = True


class MartReasoningEffort(pa.DataFrameModel):
    """One workflow × effort tier: rates are rates, the interval brackets the lift."""

    workflow: str = pa.Field()
    reasoning_effort: str = pa.Field()
    runs: int = pa.Field(ge=1)
    unpriced_runs: int = pa.Field(ge=0)
    success_rate: Exact = pa.Field(nullable=True, ge=0, le=1)
    cost_multiple_vs_medium: Exact = pa.Field(nullable=True, ge=0)
    cpst_multiple_vs_medium: Exact = pa.Field(nullable=True, ge=0)
    quality_lift_vs_medium: Exact = pa.Field(nullable=True, ge=-1, le=1)
    quality_lift_ci_low: Exact = pa.Field(nullable=True, ge=-1, le=1)
    quality_lift_ci_high: Exact = pa.Field(nullable=True, ge=-1, le=1)

    @pa.dataframe_check
    def interval_brackets_lift(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Both bounds or neither (none for `medium` itself); an interval has a lift and brackets it."""
        return _interval_brackets(data, "quality_lift_ci_low", "quality_lift_vs_medium", "quality_lift_ci_high")

    @pa.dataframe_check
    def unpriced_tier_has_no_multiple(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """No multiple when this tier's or medium's costs are lower bounds: a ratio of them bounds nothing.

        Medium's row is found within the workflow: the mart is checked whole, in one piece below
        VALIDATION_CHUNK_ROWS (1M) rows, far more than workflows × effort tiers.
        """
        is_medium = pl.col("reasoning_effort") == "medium"
        medium_unpriced = pl.when(is_medium).then(pl.col("unpriced_runs")).otherwise(0).sum().over("workflow")
        return data.lazyframe.select(
            ((pl.col("unpriced_runs") == 0) & (medium_unpriced == 0))
            | (pl.col("cost_multiple_vs_medium").is_null() & pl.col("cpst_multiple_vs_medium").is_null())
        )

    class Config:
        coerce = True
        unique = ["workflow", "reasoning_effort"]


class MartAgentOverhead(pa.DataFrameModel):
    """One workflow-month of multi-agent runs: coordination kinds add up, shares are shares."""

    workflow: str = pa.Field()
    month: dt.date = pa.Field()
    multi_agent_runs: int = pa.Field(ge=1)
    coordination_calls: int = pa.Field(ge=0)
    routing_calls: int = pa.Field(ge=0)
    hand_off_calls: int = pa.Field(ge=0)
    summarization_calls: int = pa.Field(ge=0)
    unclassified_coordination_calls: int = pa.Field(ge=0)
    work_calls: int = pa.Field(ge=0)
    coordination_token_share: Exact = pa.Field(nullable=True, ge=0, le=1)
    coordination_cost_usd: Exact = pa.Field(ge=0)
    work_cost_usd: Exact = pa.Field(ge=0)
    coordination_cost_share: Exact = pa.Field(nullable=True, ge=0, le=1)

    @pa.dataframe_check
    def kinds_add_up(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Every coordination call has exactly one kind."""
        return data.lazyframe.select(
            pl.col("coordination_calls")
            == pl.col("routing_calls")
            + pl.col("hand_off_calls")
            + pl.col("summarization_calls")
            + pl.col("unclassified_coordination_calls")
        )

    class Config:
        coerce = True
        unique = ["workflow", "month"]


class MartSpendByCategory(pa.DataFrameModel):
    """One month × cost category: a known category, spend never negative, value only from valued workflows."""

    month: dt.date = pa.Field()
    cost_category: str = pa.Field(isin=["fixed", "variable", "investment", "uncategorized"])
    runs: int = pa.Field(ge=1)
    cost_usd: Exact = pa.Field(ge=0)
    share_of_spend: Exact = pa.Field(nullable=True, ge=0, le=1)
    total_tokens: int = pa.Field(ge=0)
    valued_tokens: int = pa.Field(ge=0)
    value_usd: Exact = pa.Field(ge=0)
    value_per_token_usd: Exact = pa.Field(nullable=True, ge=0)

    @pa.dataframe_check
    def valued_tokens_within_tokens(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Tokens of valued workflows are part of all tokens."""
        return data.lazyframe.select(pl.col("valued_tokens") <= pl.col("total_tokens"))

    class Config:
        coerce = True
        unique = ["month", "cost_category"]


ANOMALY_TYPES = [
    "loop_spike",
    "context_bloat",
    "inconsistent_inputs",
    "cost_up_outcomes_flat",
    "high_effort_low_value",
    "cache_unused_on_repeated_context",
    "oversized_context",
    "untraced_spend",
    "cpst_rising",
    "retry_rate_high",
    "escalation_rate_high",
    "human_intervention_high",
]


class MartCostAnomalies(pa.DataFrameModel):
    """One finding: a known type, a stable unique id, a severity and an explanation to act on."""

    finding_id: str = pa.Field(unique=True, str_startswith="f_")
    detected_on: dt.date = pa.Field()
    anomaly_type: str = pa.Field(isin=ANOMALY_TYPES)
    category: str = pa.Field(isin=["anomaly", "cost_bloat", "optimization_trigger"])
    workflow: str = pa.Field(nullable=True)
    run_id: str = pa.Field(nullable=True)
    subject: str = pa.Field(nullable=True)
    # NULL only in rows written before the column existed (a warehouse built by an older version)
    is_episode: bool = pa.Field(nullable=True)
    severity: str = pa.Field(isin=["high", "medium", "low"])
    measure: str = pa.Field()
    observed: Exact = pa.Field(nullable=True)
    expected: Exact = pa.Field(nullable=True)
    explanation: str = pa.Field(str_length={"min_value": 20})

    @pa.dataframe_check
    def a_loop_names_its_run(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A loop_spike is about one run: its run_id is set."""
        return data.lazyframe.select((pl.col("anomaly_type") != "loop_spike") | pl.col("run_id").is_not_null())

    class Config:
        coerce = True
