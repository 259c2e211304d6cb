"""The economics marts on the session warehouse: the hand-priced routing case, and invariants on the demo data."""

from decimal import Decimal

import pytest

from orchestration.demo.economics import cache_savings_findings, routing_findings
from tests.integration import hand_routing
from tests.integration.conftest import Warehouse

pytestmark = pytest.mark.integration


def test_the_tiered_review_is_recommended_over_the_top_model_as_priced_by_hand(warehouse: Warehouse) -> None:
    # given the hand-priced routes of hand_routing.py, run through the real job
    costs = dict(
        warehouse.query(
            "select run_id, cost_usd from marts.fct_workflow_runs "
            "where run_id in ('hr_top_00', 'hr_tier_00', 'hr_cheap_00')"
        )
    )
    assert costs == {"hr_top_00": Decimal("10"), "hr_tier_00": Decimal("1.2"), "hr_cheap_00": Decimal("0.1")}

    # when the routing mart compares them
    rows = warehouse.query_dicts(
        "select * from marts.mart_routing_recommendations where workflow = ?", [hand_routing.WORKFLOW]
    )

    # then the tiered route wins at $1.20 against $10.00, and the saving is the hand computation
    assert len(rows) == 1
    actual = {key: rows[0][key] for key in hand_routing.EXPECTED_RECOMMENDATION}
    assert actual == hand_routing.EXPECTED_RECOMMENDATION


def test_model_mix_prices_each_tier_of_the_hand_review(warehouse: Warehouse) -> None:
    rows = warehouse.query(
        "select model, calls, runs, successful_runs, cost_usd, share_of_spend from marts.mart_model_mix "
        "where workflow = ? order by model",
        [hand_routing.WORKFLOW],
    )
    # haiku: 10 calls × 60 runs at $0.01; sonnet: 2 × 30 at $0.30; opus: 10 × 32 at $1.00 + 30 at $0.50
    assert rows == [
        (hand_routing.HAIKU, 600, 60, 48, Decimal("6"), Decimal("0.0167130919")),
        (hand_routing.OPUS, 350, 62, 62, Decimal("335"), Decimal("0.9331476323")),
        (hand_routing.SONNET, 60, 30, 30, Decimal("18"), Decimal("0.0501392758")),
    ]


def test_coordination_is_found_from_span_structure_as_the_demo_planted_it(warehouse: Warehouse) -> None:
    # given the demo's multi-agent runs, whose generator gives every coordination call to `orchestrator`
    planted = dict(
        warehouse.query(
            "select workflow, count(*) from marts.fct_llm_calls where agent_name = 'orchestrator' group by workflow"
        )
    )
    assert planted, "the demo data has multi-agent runs"

    # when the agent overhead mart classifies calls by the agents' span tree and prompt names
    rows = warehouse.query_dicts("select * from marts.mart_agent_overhead")

    # then it finds exactly those calls, each with a kind, at the sizes practitioners report
    found = {row["workflow"]: row["coordination_calls"] for row in rows}
    assert found == planted
    for row in rows:
        assert row["unclassified_coordination_calls"] == 0, row
        assert row["coordination_calls"] == row["routing_calls"] + row["hand_off_calls"] + row["summarization_calls"]
        assert row["tokens_per_routing_decision"] is None or 200 <= row["tokens_per_routing_decision"] <= 500
        assert row["tokens_per_hand_off"] is None or 500 <= row["tokens_per_hand_off"] <= 2000
        assert row["tokens_per_summarization"] is None or 300 <= row["tokens_per_summarization"] <= 1000
        assert 0 < row["coordination_token_share"] < Decimal("0.1")


def test_cache_savings_are_the_calls_counterfactual_and_show_no_benefit_as_none(warehouse: Warehouse) -> None:
    by_calls = dict(
        warehouse.query(
            "select workflow, sum(no_cache_cost_usd) - sum(cost_usd) from marts.fct_llm_calls group by workflow"
        )
    )
    rows = {row["workflow"]: row for row in warehouse.query_dicts("select * from marts.mart_cache_savings")}

    # every workflow has its month, and savings equal the calls' no-cache minus actual cost
    assert set(rows) == set(by_calls)
    for workflow, row in rows.items():
        assert row["savings_usd"] == by_calls[workflow], workflow
    # every input unique (lead enrichment, email triage, the hand sets): no benefit, shown as such
    for workflow in ("lead_enrichment", "email_triage", "hand_routing"):
        assert rows[workflow]["savings_usd"] == 0 and rows[workflow]["cache_benefit"] == "none"
        assert rows[workflow]["cpst_reduction_pct"] in (0, None)
    # cached site context and style guide: real savings
    for workflow in ("seo_audit", "content_brief"):
        assert rows[workflow]["cache_benefit"] == "saving" and rows[workflow]["cpst_reduction_pct"] > 10


def test_effort_tiers_and_categories_account_for_every_run(warehouse: Warehouse) -> None:
    tiers = warehouse.query("select sum(runs) from marts.mart_reasoning_effort")[0][0]
    runs_with_effort = warehouse.query(
        "select count(*) from marts.fct_workflow_runs where reasoning_effort is not null"
    )[0][0]
    assert tiers == runs_with_effort > 0
    medium = warehouse.query(
        "select distinct cost_multiple_vs_medium, quality_lift_vs_medium, quality_lift_ci_low "
        "from marts.mart_reasoning_effort where reasoning_effort = 'medium' and labeled_runs > 0"
    )
    assert medium == [(Decimal("1"), Decimal("0"), None)]

    spend = warehouse.query("select sum(cost_usd), sum(runs) from marts.mart_spend_by_category")[0]
    assert spend == warehouse.query("select sum(cost_usd), count(*) from marts.fct_workflow_runs")[0]
    # the hand sets are in no catalog (hand_calc, hand_unpriced, hand_routing, hand_reconciliation)
    assert warehouse.query(
        "select workflows from marts.mart_spend_by_category where cost_category = 'uncategorized'"
    ) == [(4,)]


def test_the_demo_report_prints_the_routing_and_cache_findings(warehouse: Warehouse) -> None:
    routing = routing_findings(warehouse.db_path)
    assert f"hand_routing: {hand_routing.OPUS}  →  {hand_routing.TIERED}" in routing
    assert "CPST $10.0000 → $1.2000, success 100% → 100% (30 labeled runs), saves $3,945.00 a month" in routing

    cache = cache_savings_findings(warehouse.db_path)
    assert cache.startswith("Prompt caching: top 5 workflows by savings")
    no_benefit = cache.split("no cache benefit at all: ")[1].split(", ")
    assert {"email_triage", "lead_enrichment", "hand_routing"} <= set(no_benefit)
