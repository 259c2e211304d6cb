"""Blocking Pandera gates on the published marts (models in orchestration/schemas.py)."""

import dagster as dg

from orchestration.checks import pandera_gate
from orchestration.schemas import FctLlmCalls, FctWorkflowRuns, MartUnitEconomics, MartWorkflowRoi

# Incremental models rewrite the window plus dbt's `lookback_days` (3): the gate checks all of it.
DBT_LOOKBACK_DAYS = 3

mart_gates = [
    pandera_gate(
        asset_key=dg.AssetKey(["marts", "fct_llm_calls"]),
        relation="marts.fct_llm_calls",
        model=FctLlmCalls,
        date_column="started_date",
        lookback_days=DBT_LOOKBACK_DAYS,
    ),
    pandera_gate(
        asset_key=dg.AssetKey(["marts", "fct_workflow_runs"]),
        relation="marts.fct_workflow_runs",
        model=FctWorkflowRuns,
        date_column="run_date",
        lookback_days=DBT_LOOKBACK_DAYS,
    ),
    pandera_gate(
        asset_key=dg.AssetKey(["marts", "mart_unit_economics"]),
        relation="marts.mart_unit_economics",
        model=MartUnitEconomics,
    ),
    pandera_gate(
        asset_key=dg.AssetKey(["marts", "mart_workflow_roi"]),
        relation="marts.mart_workflow_roi",
        model=MartWorkflowRoi,
    ),
]
