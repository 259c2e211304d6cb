"""The marts' Pandera models reject what they promise to reject, to the last decimal place."""

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.checks import validate_relation
from orchestration.schemas import (
    FctWorkflowRuns,
    MartAgentOverhead,
    MartCacheSavings,
    MartReasoningEffort,
    MartRoutingRecommendations,
)


@pytest.fixture
def conn(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
        yield connection


def test_a_negative_cost_under_a_dollar_fails_the_runs_gate(conn: duckdb.DuckDBPyConnection) -> None:
    # given a run costing -$0.40 (a bare decimal.Decimal annotation coerced it to 0 and let it pass)
    conn.execute(
        """
        create table runs as select * from (values
            ('r1', 'seo_audit', date '2026-11-20', 'success', -0.4::decimal(38, 10), 2, 0, 0::decimal(18, 4), true)
        ) as t(run_id, workflow, run_date, outcome, cost_usd, llm_calls, unpriced_calls, rework_minutes, fully_priced)
        """
    )

    # when it is validated
    result = validate_relation(conn, "runs", FctWorkflowRuns)

    # then it fails on the cost
    assert result.failing_rows == 1
    assert "cost_usd" in result.summary()


def test_cache_savings_must_be_the_exact_difference(conn: duckdb.DuckDBPyConnection) -> None:
    # given two workflow-months, the second one's savings off by 1e-10 USD
    conn.execute(
        """
        create table savings as select * from (values
            ('seo_audit', date '2026-11-01', 3, 3.5, 6.0, 2.5, 45.4545454545, 0.5517241379, 0.2068965517, 'saving'),
            ('seo_audit', date '2026-10-01', 1, 1.2, 1.0, -0.1999999999, -20, 0, 0.9, 'net_cost')
        ) as t(workflow, month, runs, actual_cost_usd, no_cache_cost_usd, savings_usd, cpst_reduction_pct,
               cache_read_share, cache_write_share, cache_benefit)
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
        create table effort as select * from (values
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
