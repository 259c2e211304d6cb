"""The marts' Pandera models reject what they promise to reject, to the last decimal place."""

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.checks import validate_relation
from orchestration.schemas import (
    FctLlmCalls,
    FctWorkflowRuns,
    MartAgentOverhead,
    MartCacheSavings,
    MartModelMix,
    MartProviderReconciliation,
    MartReasoningEffort,
    MartRoutingRecommendations,
    MartUnitEconomics,
    MartWorkflowRoi,
)

MONEY = "decimal(38, 10)"

ROI_COLUMNS = f"""
    workflow varchar, period varchar, period_start date, attribution_model varchar, successful_runs integer,
    runs_with_baseline integer, runs_without_baseline integer, attributed_revenue_usd {MONEY},
    baseline_revenue_usd {MONEY}, lift_usd {MONEY}, median_lift_per_run_usd {MONEY}, lift_ci_low_usd {MONEY},
    lift_ci_high_usd {MONEY}, median_sample_runs integer, cost_per_successful_task_usd {MONEY},
    unpriced_runs integer, roi {MONEY}, roi_ci_low {MONEY}, roi_ci_high {MONEY}
"""

# a month of 8 matched runs whose lift interval brackets its median: every ROI row below varies it
ROI_ROW = {
    "workflow": "seo_audit", "period": "month", "period_start": "2026-11-01", "attribution_model": "linear",
    "successful_runs": 8, "runs_with_baseline": 8, "runs_without_baseline": 0,
    "attributed_revenue_usd": "12.4", "baseline_revenue_usd": "7.6", "lift_usd": "4.8",
    "median_lift_per_run_usd": "0.6", "lift_ci_low_usd": "0.2", "lift_ci_high_usd": "0.9",
    "median_sample_runs": 8, "cost_per_successful_task_usd": "0.5", "unpriced_runs": 0, "roi": "1.2",
    "roi_ci_low": "0.4", "roi_ci_high": "1.8",
}  # fmt: skip

UNIT_ECONOMICS_COLUMNS = f"""
    workflow varchar, period varchar, period_start date, runs integer, labeled_runs integer,
    successful_runs integer, success_rate {MONEY}, total_cost_usd {MONEY}, cost_per_successful_task_usd {MONEY},
    true_cost_per_successful_task_usd {MONEY}, median_run_cost_usd {MONEY}, median_run_cost_ci_low_usd {MONEY},
    median_run_cost_ci_high_usd {MONEY}, median_sample_runs integer, retry_rate {MONEY}, escalation_rate {MONEY}
"""

# a week of 8 runs, 4 successes, with an interval: every unit-economics row below varies it
UNIT_ECONOMICS_ROW = {
    "workflow": "seo_audit", "period": "week", "period_start": "2026-11-16", "runs": 8, "labeled_runs": 8,
    "successful_runs": 4, "success_rate": "0.5", "total_cost_usd": "3.2", "cost_per_successful_task_usd": "0.8",
    "true_cost_per_successful_task_usd": "1.1", "median_run_cost_usd": "0.4", "median_run_cost_ci_low_usd": "0.3",
    "median_run_cost_ci_high_usd": "0.5", "median_sample_runs": 8, "retry_rate": "0", "escalation_rate": "0",
}  # fmt: skip


def _table(conn: duckdb.DuckDBPyConnection, name: str, columns: str, rows: list[dict[str, object]]) -> None:
    """Create `name` with typed columns and insert `rows` (dicts in column order)."""
    conn.execute(f"create table {name} ({columns})")
    placeholders = ", ".join("?" * len(rows[0]))
    conn.executemany(f"insert into {name} values ({placeholders})", [list(row.values()) for row in rows])


@pytest.fixture
def conn(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
        yield connection


def test_a_negative_cost_under_a_dollar_fails_the_runs_gate(conn: duckdb.DuckDBPyConnection) -> None:
    # given a run costing -$0.40 (a bare decimal.Decimal annotation coerced it to 0 and let it pass)
    conn.execute(
        """
        create table runs as select * from (values
            ('r1', 'seo_audit', date '2026-11-20', 'success', -0.4::decimal(38, 10), 2, 0, 0, 0::decimal(18, 4), true)
        ) as t(run_id, workflow, run_date, outcome, cost_usd, llm_calls, unpriced_calls, quarantined_spans,
               rework_minutes, fully_priced)
        """
    )

    # when it is validated
    result = validate_relation(conn, "runs", FctWorkflowRuns)

    # then it fails on the cost
    assert result.failing_rows == 1
    assert "cost_usd" in result.summary()


def test_a_run_that_lost_a_span_to_quarantine_is_not_fully_priced(conn: duckdb.DuckDBPyConnection) -> None:
    # given a run short of a quarantined span but marked fully priced, the same run marked right, and
    # a run built before spans were counted (NULL)
    conn.execute(
        """
        create table runs as select * from (values
            ('r1', 'seo_audit', date '2026-11-20', 'success', 0.4::decimal(38, 10), 2, 0, 1, 0::decimal(18, 4), true),
            ('r2', 'seo_audit', date '2026-11-20', 'success', 0.4::decimal(38, 10), 2, 0, 1, 0::decimal(18, 4), false),
            ('r3', 'seo_audit', date '2026-11-20', 'success', 0.4::decimal(38, 10), 2, 0, null, 0::decimal(18, 4), true)
        ) as t(run_id, workflow, run_date, outcome, cost_usd, llm_calls, unpriced_calls, quarantined_spans,
               rework_minutes, fully_priced)
        """
    )

    # when they are validated
    result = validate_relation(conn, "runs", FctWorkflowRuns)

    # then only the first fails, on the flag
    assert result.failing_rows == 1
    assert result.sample[0]["run_id"] == "r1"
    assert "fully_priced_means_no_unpriced_calls" in result.summary()


def test_cache_savings_must_be_the_exact_difference(conn: duckdb.DuckDBPyConnection) -> None:
    # given two workflow-months, the second one's savings off by 1e-10 USD
    conn.execute(
        """
        create table savings as select * from (values
            ('seo_audit', date '2026-11-01', 3, 0, 3.5, 6.0, 2.5, 45.4545454545, 0.5517241379, 0.2068965517, 'saving'),
            ('seo_audit', date '2026-10-01', 1, 0, 1.2, 1.0, -0.1999999999, -20, 0, 0.9, 'net_cost')
        ) as t(workflow, month, runs, unpriced_runs, actual_cost_usd, no_cache_cost_usd, savings_usd,
               cpst_reduction_pct, cache_read_share, cache_write_share, cache_benefit)
        """
    )
    conn.execute(
        "create table typed as select * replace (actual_cost_usd::decimal(38, 10) as actual_cost_usd, "
        "no_cache_cost_usd::decimal(38, 10) as no_cache_cost_usd, savings_usd::decimal(38, 10) as savings_usd) "
        "from savings"
    )

    # when they are validated
    result = validate_relation(conn, "typed", MartCacheSavings)

    # then only the second fails
    assert result.failing_rows == 1
    assert result.sample[0]["savings_usd"] == Decimal("-0.1999999999")


def test_a_recommendation_names_a_route_exactly_when_it_recommends(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(
        """
        create table routing as select * from (values
            ('code_review', 'switch', 'claude-haiku-4-5 + claude-sonnet-4-5', 40, 0.9, 1.0, 1.25, 30),
            ('seo_audit', 'insufficient_sample', 'claude-sonnet-4-5', 40, 0.9, 1.0, 1.25, 30),
            ('email_triage', 'keep_current', 'gpt-4.1', 40, 1.0, 0.9, 0.07, 30)
        ) as t(workflow, recommendation, recommended_route, recommended_labeled_runs, recommended_success_rate,
               best_success_rate, recommended_cost_per_successful_task_usd, observed_days)
        """
    )

    result = validate_relation(conn, "routing", MartRoutingRecommendations)

    # seo_audit names a route without recommending; email_triage's route beats the best rate
    assert result.failing_rows == 2
    assert {row["workflow"] for row in result.sample} == {"seo_audit", "email_triage"}


def test_the_lift_interval_must_bracket_the_lift(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(
        """
        create table effort as select *, 0 as unpriced_runs, null::double as cpst_multiple_vs_medium from (values
            ('seo_audit', 'high', 70, 0.8, 7.0, 0.2, 0.0524314724, 0.3338726540),
            ('seo_audit', 'low', 5, 0.5, 0.4, -0.1, 0.0524314724, 0.2667054578)
        ) as t(workflow, reasoning_effort, runs, success_rate, cost_multiple_vs_medium, quality_lift_vs_medium,
               quality_lift_ci_low, quality_lift_ci_high)
        """
    )

    result = validate_relation(conn, "effort", MartReasoningEffort)

    assert result.failing_rows == 1
    assert result.sample[0]["reasoning_effort"] == "low"


def test_every_coordination_call_has_one_kind(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(
        """
        create table overhead as select * from (values
            ('seo_audit', date '2026-11-01', 2, 6, 1, 2, 1, 2, 4, 0.1037735849, 0.0074, 0.104, 0.0664272890),
            ('code_review', date '2026-11-01', 1, 3, 1, 1, 0, 0, 2, 0.1, 0.0004, 0.001, 0.2857142857)
        ) as t(workflow, month, multi_agent_runs, coordination_calls, routing_calls, hand_off_calls,
               summarization_calls, unclassified_coordination_calls, work_calls, coordination_token_share,
               coordination_cost_usd, work_cost_usd, coordination_cost_share)
        """
    )

    result = validate_relation(conn, "overhead", MartAgentOverhead)

    assert result.failing_rows == 1
    assert result.sample[0]["workflow"] == "code_review"


def test_a_negative_revenue_under_a_dollar_fails_the_roi_gate(conn: duckdb.DuckDBPyConnection) -> None:
    # given a month whose attributed revenue is -$0.40 (a bare decimal.Decimal rounded it to 0 and passed ge=0)
    _table(conn, "roi", ROI_COLUMNS, [{**ROI_ROW, "attributed_revenue_usd": "-0.4"}])

    result = validate_relation(conn, "roi", MartWorkflowRoi)

    assert result.failing_rows == 1
    assert "attributed_revenue_usd" in result.summary()


def test_a_lift_interval_inverted_by_ten_cents_fails_the_roi_gate(conn: duckdb.DuckDBPyConnection) -> None:
    # given a ci_low of 0.7 above a median of 0.6 (both rounded to 1 under a bare decimal.Decimal)
    _table(conn, "roi", ROI_COLUMNS, [ROI_ROW, {**ROI_ROW, "workflow": "code_review", "lift_ci_low_usd": "0.7"}])

    result = validate_relation(conn, "roi", MartWorkflowRoi)

    assert result.failing_rows == 1
    assert result.sample[0]["workflow"] == "code_review"


def test_a_lift_interval_is_whole_and_exactly_from_six_runs(conn: duckdb.DuckDBPyConnection) -> None:
    no_interval = {"lift_ci_low_usd": None, "lift_ci_high_usd": None, "roi_ci_low": None, "roi_ci_high": None}
    _table(
        conn,
        "roi",
        ROI_COLUMNS,
        [
            # legitimate: under 6 runs the median stands without an interval
            {**ROI_ROW, "workflow": "few_runs", "median_sample_runs": 5, **no_interval},
            # legitimate: no matched run, no lift at all
            {
                **ROI_ROW, "workflow": "no_lift", "successful_runs": 0, "runs_with_baseline": 0,
                "attributed_revenue_usd": "0", "baseline_revenue_usd": "0", "lift_usd": None,
                "median_lift_per_run_usd": None, "median_sample_runs": 0, "cost_per_successful_task_usd": None,
                "roi": None, **no_interval,
            },  # fmt: skip
            {**ROI_ROW, "workflow": "no_high", "lift_ci_high_usd": None},
            {**ROI_ROW, "workflow": "no_low", "lift_ci_low_usd": None},
            {**ROI_ROW, "workflow": "no_median", "median_lift_per_run_usd": None},
            {**ROI_ROW, "workflow": "lost_interval", **no_interval},
            # the upper bound below the median of 0.6
            {**ROI_ROW, "workflow": "high_below", "lift_ci_high_usd": "0.5"},
        ],
    )

    result = validate_relation(conn, "roi", MartWorkflowRoi)

    failing = {row["workflow"] for row in result.sample}
    assert failing == {"no_high", "no_low", "no_median", "lost_interval", "high_below"}


def test_a_median_run_cost_interval_is_whole_and_brackets_the_median(conn: duckdb.DuckDBPyConnection) -> None:
    _table(
        conn,
        "unit_economics",
        UNIT_ECONOMICS_COLUMNS,
        [
            UNIT_ECONOMICS_ROW,
            # legitimate: under 6 runs there is no interval
            {
                **UNIT_ECONOMICS_ROW, "workflow": "few_runs", "runs": 5, "labeled_runs": 5,
                "median_run_cost_ci_low_usd": None, "median_run_cost_ci_high_usd": None, "median_sample_runs": 5,
            },  # fmt: skip
            {**UNIT_ECONOMICS_ROW, "workflow": "no_high", "median_run_cost_ci_high_usd": None},
            {**UNIT_ECONOMICS_ROW, "workflow": "no_median", "median_run_cost_usd": None},
            {**UNIT_ECONOMICS_ROW, "workflow": "inverted", "median_run_cost_ci_low_usd": "0.45"},
            # the upper bound below the median of 0.4
            {**UNIT_ECONOMICS_ROW, "workflow": "high_below", "median_run_cost_ci_high_usd": "0.35"},
        ],
    )

    result = validate_relation(conn, "unit_economics", MartUnitEconomics)

    assert {row["workflow"] for row in result.sample} == {"no_high", "no_median", "inverted", "high_below"}


def test_a_median_run_cost_interval_exists_exactly_from_six_runs(conn: duckdb.DuckDBPyConnection) -> None:
    # given weeks of 5 and 6 runs, with and without an interval (macros/order_statistics.sql: none under 6)
    five_runs = {"runs": 5, "labeled_runs": 5, "successful_runs": 3, "median_sample_runs": 5}
    six_runs = {"runs": 6, "labeled_runs": 6, "successful_runs": 3, "median_sample_runs": 6}
    no_interval = {"median_run_cost_ci_low_usd": None, "median_run_cost_ci_high_usd": None}
    _table(
        conn,
        "unit_economics",
        UNIT_ECONOMICS_COLUMNS,
        [
            # legitimate: 6 runs are the fewest with an interval, 5 the most without
            {**UNIT_ECONOMICS_ROW, "workflow": "six_runs", **six_runs},
            {**UNIT_ECONOMICS_ROW, "workflow": "five_runs", **five_runs, **no_interval},
            {**UNIT_ECONOMICS_ROW, "workflow": "interval_from_five", **five_runs},
            {**UNIT_ECONOMICS_ROW, "workflow": "lost_interval", **six_runs, **no_interval},
        ],
    )

    # when they are validated
    result = validate_relation(conn, "unit_economics", MartUnitEconomics)

    # then an interval under 6 runs fails, and so does a missing one from 6 up
    assert {row["workflow"] for row in result.sample} == {"interval_from_five", "lost_interval"}


def test_true_cost_per_success_is_set_exactly_when_cost_per_success_is(conn: duckdb.DuckDBPyConnection) -> None:
    _table(
        conn,
        "unit_economics",
        UNIT_ECONOMICS_COLUMNS,
        [
            UNIT_ECONOMICS_ROW,
            # legitimate: without a success neither CPST exists
            {
                **UNIT_ECONOMICS_ROW, "workflow": "no_success", "successful_runs": 0, "success_rate": "0",
                "cost_per_successful_task_usd": None, "true_cost_per_successful_task_usd": None,
            },  # fmt: skip
            {**UNIT_ECONOMICS_ROW, "workflow": "lost_true_cost", "true_cost_per_successful_task_usd": None},
            {**UNIT_ECONOMICS_ROW, "workflow": "lost_cost", "cost_per_successful_task_usd": None},
            {**UNIT_ECONOMICS_ROW, "workflow": "rework_lowers", "true_cost_per_successful_task_usd": "0.79"},
        ],
    )

    result = validate_relation(conn, "unit_economics", MartUnitEconomics)

    assert {row["workflow"] for row in result.sample} == {"lost_true_cost", "lost_cost", "rework_lowers"}


def test_a_quality_lift_interval_is_whole_and_has_a_lift(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(
        f"""
        create table effort as select
            workflow, reasoning_effort, runs, 0 as unpriced_runs, success_rate::{MONEY} as success_rate,
            cost_multiple_vs_medium::{MONEY} as cost_multiple_vs_medium,
            null::{MONEY} as cpst_multiple_vs_medium,
            quality_lift_vs_medium::{MONEY} as quality_lift_vs_medium,
            quality_lift_ci_low::{MONEY} as quality_lift_ci_low, quality_lift_ci_high::{MONEY} as quality_lift_ci_high
        from (values
            ('seo_audit', 'medium', 40, 0.6, 1.0, 0.0, null, null),
            ('seo_audit', 'high', 70, 0.8, 7.0, 0.2, 0.0524314724, 0.3338726540),
            ('code_review', 'high', 30, 0.8, null, null, null, null),
            ('email_triage', 'high', 30, 0.8, 2.0, 0.1, 0.02, null),
            ('support_reply', 'high', 30, 0.8, 2.0, null, 0.02, 0.3)
        ) as t(workflow, reasoning_effort, runs, success_rate, cost_multiple_vs_medium, quality_lift_vs_medium,
               quality_lift_ci_low, quality_lift_ci_high)
        """
    )

    result = validate_relation(conn, "effort", MartReasoningEffort)

    # medium has a lift of 0 and no interval, code_review no medium to compare with: both legitimate
    assert {row["workflow"] for row in result.sample} == {"email_triage", "support_reply"}


def test_a_tier_with_unpriced_runs_has_no_multiple(conn: duckdb.DuckDBPyConnection) -> None:
    # its costs are lower bounds: a multiple of them would make a model missing from the price book look cheap
    conn.execute(
        f"""
        create table effort as select
            workflow, reasoning_effort, runs, unpriced_runs, null::{MONEY} as success_rate,
            cost::{MONEY} as cost_multiple_vs_medium, cpst::{MONEY} as cpst_multiple_vs_medium,
            null::{MONEY} as quality_lift_vs_medium, null::{MONEY} as quality_lift_ci_low,
            null::{MONEY} as quality_lift_ci_high
        from (values
            ('priced', 'high', 10, 0, 3.0, 2.0),
            ('unpriced', 'high', 10, 2, null, null),
            ('cost_multiple', 'high', 10, 2, 0.0, null),
            ('cpst_multiple', 'high', 10, 1, null, 0.0),
            ('medium_unpriced', 'medium', 10, 5, null, null),
            ('medium_unpriced', 'high', 10, 0, 0.2, 0.1)
        ) as t(workflow, reasoning_effort, runs, unpriced_runs, cost, cpst)
        """
    )

    result = validate_relation(conn, "effort", MartReasoningEffort)

    # medium's lower-bound costs make the high tier's multiples meaningless too
    assert {(row["workflow"], row["reasoning_effort"]) for row in result.sample} == {
        ("cost_multiple", "high"), ("cpst_multiple", "high"), ("medium_unpriced", "high")
    }


def test_a_workflow_months_models_spend_no_more_than_its_runs_cost(conn: duckdb.DuckDBPyConnection) -> None:
    # resumed: a run resumed after lookback_days, its later Haiku call under its id but not in its
    # cost; no model's share is above 1, their sum is. thirds: rounding to 10 places, within the margin
    conn.execute(
        f"""
        create table mix as select
            workflow, month::date as month, 'anthropic' as provider, model, 2 as calls, 0 as unpriced_calls,
            1 as runs, 1 as labeled_runs, 1 as successful_runs, 1::{MONEY} as success_rate,
            cost::{MONEY} as cost_usd, share::{MONEY} as share_of_spend
        from (values
            ('resumed', '2026-11-01', 'claude-sonnet-4-5', 10.0, 0.9900990099),
            ('resumed', '2026-11-01', 'claude-haiku-4-5', 0.2, 0.0198019802),
            ('resumed', '2026-10-01', 'claude-haiku-4-5', 0.1, 1.0),
            ('thirds', '2026-11-01', 'a', 0.1, 0.3333333333),
            ('thirds', '2026-11-01', 'b', 0.1, 0.3333333334),
            ('thirds', '2026-11-01', 'c', 0.1, 0.3333333334)
        ) as t(workflow, month, model, cost, share)
        """
    )

    result = validate_relation(conn, "mix", MartModelMix)

    assert sorted((row["workflow"], str(row["month"])) for row in result.sample) == [
        ("resumed", "2026-11-01"), ("resumed", "2026-11-01")
    ]


def test_a_recommended_rate_needs_a_best_rate(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(
        """
        create table routing as select * from (values
            ('code_review', 'switch', 'claude-haiku-4-5', 40, 0.9, null, 1.25, 30),
            ('seo_audit', 'insufficient_sample', null, null, null, null, null, 30),
            ('email_triage', 'no_priced_route', null, null, null, null, null, 30)
        ) as t(workflow, recommendation, recommended_route, recommended_labeled_runs, recommended_success_rate,
               best_success_rate, recommended_cost_per_successful_task_usd, observed_days)
        """
    )

    result = validate_relation(conn, "routing", MartRoutingRecommendations)

    assert result.failing_rows == 1
    assert result.sample[0]["workflow"] == "code_review"


def test_cache_shares_are_both_known_or_both_unknown(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(
        f"""
        create table savings as select * replace (
            cache_read_share::{MONEY} as cache_read_share, cache_write_share::{MONEY} as cache_write_share
        ) from (values
            ('seo_audit', date '2026-11-01', 1, 0, 1.0, 1.0, 0.0, 0, null, null, 'none'),
            ('code_review', date '2026-11-01', 1, 0, 1.0, 1.0, 0.0, 0, 0.5, null, 'none')
        ) as t(workflow, month, runs, unpriced_runs, actual_cost_usd, no_cache_cost_usd, savings_usd,
               cpst_reduction_pct, cache_read_share, cache_write_share, cache_benefit)
        """
    )

    result = validate_relation(conn, "savings", MartCacheSavings)

    assert result.failing_rows == 1
    assert result.sample[0]["workflow"] == "code_review"


def test_only_a_model_none_of_whose_calls_is_priced_lacks_a_rack_cost(conn: duckdb.DuckDBPyConnection) -> None:
    # given a self-hosted model with no price: $0 of rack cost (as published before), then unknown;
    # a model with one of two calls priced and no rack cost; and a priced model at $1.2
    conn.execute(
        f"""
        create table reconciliation as select * from (values
            ('vllm', date '2026-11-20', 'acme-coder', 20, null, 0, 2, 2, 0::{MONEY}, null::{MONEY}, null::{MONEY},
             null::{MONEY}, 'no_provider_data'),
            ('vllm', date '2026-11-21', 'acme-coder', 20, null, 0, 2, 2, null::{MONEY}, null::{MONEY}, null::{MONEY},
             null::{MONEY}, 'no_provider_data'),
            ('cohere', date '2026-11-20', 'command-ft', 40, 40, 0, 2, 1, null::{MONEY}, 0.2::{MONEY}, null::{MONEY},
             0::{MONEY}, 'ok'),
            ('cohere', date '2026-11-20', 'command-r-plus', 420, 420, 0, 1, 0, 1.2::{MONEY}, 1.2::{MONEY}, 1::{MONEY},
             0::{MONEY}, 'ok')
        ) as t(provider, usage_date, model, traced_tokens, reported_tokens, priority_tier_tokens, traced_calls,
               unpriced_calls, rack_cost_usd, billed_cost_usd, billed_factor, untraced_spend_usd, status)
        """
    )

    # when they are validated
    result = validate_relation(conn, "reconciliation", MartProviderReconciliation)

    # then the $0 row and the partly priced row without a cost fail
    assert result.failing_rows == 2
    assert {(row["usage_date"].day, row["model"]) for row in result.sample} == {(20, "acme-coder"), (20, "command-ft")}


def test_a_reconciliation_row_beyond_its_bill_or_marked_without_provider_data_fails(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    # given a priced row whose untraced spend ($2) is more than its bill ($1.5), a row marked
    # `no_provider_data` that carries a bill, one that carries reported tokens, and two right rows
    conn.execute(
        f"""
        create table reconciliation as select * from (values
            ('p', date '2026-11-20', 'over', 10, 10, 0, 1, 0, 1::{MONEY}, 1.5::{MONEY}, null::{MONEY},
             2::{MONEY}, 'provider_higher'),
            ('p', date '2026-11-20', 'billed', 10, null, 0, 1, 0, 1::{MONEY}, 1::{MONEY}, null::{MONEY},
             null::{MONEY}, 'no_provider_data'),
            ('p', date '2026-11-20', 'reported', 10, 10, 0, 1, 0, 1::{MONEY}, null::{MONEY}, null::{MONEY},
             null::{MONEY}, 'no_provider_data'),
            ('p', date '2026-11-20', 'untraced', 10, 10, 0, 1, 0, 1::{MONEY}, 1.5::{MONEY}, null::{MONEY},
             1.5::{MONEY}, 'provider_higher'),
            ('p', date '2026-11-20', 'silent', 10, null, 0, 1, 0, 1::{MONEY}, null::{MONEY}, null::{MONEY},
             null::{MONEY}, 'no_provider_data')
        ) as t(provider, usage_date, model, traced_tokens, reported_tokens, priority_tier_tokens, traced_calls,
               unpriced_calls, rack_cost_usd, billed_cost_usd, billed_factor, untraced_spend_usd, status)
        """
    )

    # when they are validated
    result = validate_relation(conn, "reconciliation", MartProviderReconciliation)

    # then the first three fail, each on its own check
    assert result.reasons == {
        "row check untraced_spend_is_part_of_the_bill failed": 1,
        "row check no_provider_data_means_no_provider_figures failed": 2,
    }
    assert {row["model"] for row in result.sample} == {"over", "billed", "reported"}


def test_a_call_that_needs_a_price_has_no_cost_and_reasons_within_its_output(conn: duckdb.DuckDBPyConnection) -> None:
    # given a call with no price but a $0 cost, one reasoning over more tokens than it output, and a right one
    conn.execute(
        f"""
        create table calls as select * from (values
            ('c1', 'r', 'w', timestamp '2026-11-20 10:00:00', 100, 0, 0, 10, 0, 0::{MONEY}, 0::{MONEY}, true),
            ('c2', 'r', 'w', timestamp '2026-11-20 10:00:00', 100, 0, 0, 10, 11, 1::{MONEY}, 1::{MONEY}, false),
            ('c3', 'r', 'w', timestamp '2026-11-20 10:00:00', 100, 0, 0, 10, 10, null::{MONEY}, null::{MONEY}, true)
        ) as t(call_id, run_id, workflow, started_at, uncached_input_tokens, cache_read_tokens, cache_write_tokens,
               output_tokens, reasoning_tokens, cost_usd, no_cache_cost_usd, needs_price)
        """
    )

    # when they are validated
    result = validate_relation(conn, "calls", FctLlmCalls)

    # then the first two fail, each on its own check
    assert result.reasons == {
        "row check unpriced_calls_have_no_cost failed": 1,
        "row check reasoning_is_part_of_output failed": 1,
    }


RUNS_VIEW = """
    create view runs as
    select
        'r' || i as run_id, 'seo_audit' as workflow, date '2026-11-20' as run_date, 'success' as outcome,
        any_value(cost)::decimal(38, 10) as cost_usd, count(*) as llm_calls, 0 as unpriced_calls,
        0 as quarantined_spans, 0::decimal(18, 4) as rework_minutes, true as fully_priced
    from calls
    group by i
"""


def test_a_gate_checks_every_row_of_a_view_once_whatever_its_order(conn: duckdb.DuckDBPyConnection) -> None:
    # given 200k runs rolled up by a view, whose row order changes from query to query, one in 10
    # costing -$1 (paged with limit/offset, some rows were read twice and others never)
    conn.execute("create table calls as select i, if(i % 10 = 0, -1, 1) as cost from range(200000) r(i)")
    conn.execute(RUNS_VIEW)

    # when they are validated in chunks of 5,000
    result = validate_relation(conn, "runs", FctWorkflowRuns, chunk_rows=5000)

    # then every row was checked once: exactly the 20,000 negative runs fail
    assert result.rows_checked == 200_000
    assert result.failing_rows == 20_000
    assert result.reasons == {"cost_usd: greater_than_or_equal_to(0)": 20_000}


def test_a_gate_finds_a_duplicate_key_in_different_chunks(conn: duckdb.DuckDBPyConnection) -> None:
    # given 10 runs, the first and the last with the same id, validated in chunks of 4
    conn.execute("create table calls as select case when i = 9 then 0 else i end as i, 1 as cost from range(10) r(i)")
    conn.execute(RUNS_VIEW.replace("group by i", "group by i, rowid"))

    # when they are validated
    result = validate_relation(conn, "runs", FctWorkflowRuns, chunk_rows=4)

    # then both copies fail, named by their key
    assert result.rows_checked == 10
    assert result.failing_rows == 2
    assert result.reasons == {"run_id: not unique": 2}
    assert result.sample == [{"run_id": "r0", "_failure": "run_id: not unique (2 rows)"}]


def test_a_mart_key_must_be_unique_in_one_chunk_too(conn: duckdb.DuckDBPyConnection) -> None:
    # given a workflow-month of cache savings listed twice
    row = "('seo_audit', date '2026-11-01', 3, 0, 3.5, 6.0, 2.5, 41.6666666667, 0.5517241379, 0.2068965517, 'saving')"
    conn.execute(
        f"""
        create table typed as select * replace (actual_cost_usd::decimal(38, 10) as actual_cost_usd,
            no_cache_cost_usd::decimal(38, 10) as no_cache_cost_usd, savings_usd::decimal(38, 10) as savings_usd)
        from (values {row}, {row}) as t(workflow, month, runs, unpriced_runs, actual_cost_usd, no_cache_cost_usd,
            savings_usd, cpst_reduction_pct, cache_read_share, cache_write_share, cache_benefit)
        """
    )

    # when it is validated
    result = validate_relation(conn, "typed", MartCacheSavings)

    # then both rows fail on the mart's key
    assert result.reasons == {"workflow, month: not unique": 2}
