"""Cost per successful task, end to end through the real job, against figures computed by hand."""

from decimal import Decimal

import pytest

from tests.integration import hand_calc
from tests.integration.conftest import Warehouse

pytestmark = pytest.mark.integration


def test_cost_per_successful_task_matches_the_hand_computation(warehouse: Warehouse) -> None:
    # given the hand-computed trace set (see hand_calc.py for every figure)
    # when the nightly job has run over it
    rows = warehouse.query_dicts(
        "select * from marts.mart_unit_economics where workflow = 'hand_calc' and period = 'day' "
        "and period_start = date '2026-11-20'"
    )

    # then every figure equals the hand computation exactly, as DECIMAL
    assert len(rows) == 1
    actual = {key: rows[0][key] for key in hand_calc.EXPECTED_DAY}
    assert actual == hand_calc.EXPECTED_DAY
    assert all(isinstance(actual[key], Decimal) for key in actual if key.endswith(("_usd", "_rate")))


def test_one_call_exported_twice_is_counted_once(warehouse: Warehouse) -> None:
    calls = warehouse.query("select count(*), sum(cost_usd) from marts.fct_llm_calls where run_id = 'hc_4'")
    assert calls == [(1, Decimal("0.0150000000"))]


def test_the_evaluation_decides_an_unlabeled_run(warehouse: Warehouse) -> None:
    assert warehouse.query("select outcome, outcome_source from marts.fct_workflow_runs where run_id = 'hc_6'") == [
        ("success", "evaluation")
    ]


def test_a_call_without_a_price_is_null_and_its_run_is_flagged(warehouse: Warehouse) -> None:
    calls = warehouse.query(
        "select model, cost_usd, needs_price from marts.fct_llm_calls where run_id = 'hc_8' order by model"
    )
    assert calls == [("acme-unknown-1", None, True), (hand_calc.SONNET, Decimal("0.0030000000"), False)]
    run = warehouse.query(
        "select cost_usd, fully_priced, unpriced_calls from marts.fct_workflow_runs where run_id = 'hc_8'"
    )
    assert run == [(Decimal("0.0030000000"), False, 1)]
    # and its $0.003 (a lower bound) is counted in the CPST but not ranked: no median without a fully priced run
    economics = warehouse.query(
        "select unpriced_runs, total_cost_usd, median_run_cost_usd, median_sample_runs from marts.mart_unit_economics "
        "where workflow = 'hand_unpriced' and period = 'day'"
    )
    assert economics == [(1, Decimal("0.0030000000"), None, 0)]


def test_the_truncated_line_is_quarantined_and_the_rest_loaded(warehouse: Warehouse) -> None:
    quarantined = warehouse.query(
        "select reason from raw.quarantine where entity = 'otel_spans' and _source_file like '%hand.jsonl'"
    )
    assert quarantined == [("line is not valid JSON (truncated or corrupt)",)]
    spans = warehouse.query("select count(*) from raw.otel_spans where _source_file like '%hand.jsonl'")
    # 8 runs × (root + agent) + 9 call spans + 1 duplicate SDK span
    assert spans == [(8 * 2 + 9 + 1,)]
