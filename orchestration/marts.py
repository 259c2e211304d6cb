"""The published marts: their blocking Pandera gates (models in orchestration/schemas.py) and day windows."""

from collections.abc import Callable
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import yaml

from orchestration.checks import pandera_gate, validate_relation
from orchestration.schemas import (
    FctLlmCalls,
    FctWorkflowRuns,
    MartAgentOverhead,
    MartCacheSavings,
    MartCostAnomalies,
    MartModelMix,
    MartProviderReconciliation,
    MartReasoningEffort,
    MartRoutingRecommendations,
    MartSpendByCategory,
    MartUnitEconomics,
    MartWorkflowRoi,
)
from orchestration.settings import PROJECT_ROOT, get_settings
from orchestration.snapshot import quote_literal


def read_dbt_days_var(name: str, project_file: Path = PROJECT_ROOT / "dbt_project.yml") -> int:
    """The dbt var `name` in `project_file`: a whole number of days (0 or more).

    Raises:
        ValueError: The file cannot be read, or the var is missing or not a whole number.
    """
    try:
        project = yaml.safe_load(project_file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"cannot read dbt's `{name}` var from {project_file}: {error}") from error
    variables = project.get("vars") if isinstance(project, dict) else None
    value = variables.get(name) if isinstance(variables, dict) else None
    if value is None:
        raise ValueError(f"{project_file} sets no `{name}` under `vars:`")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{project_file}: `{name}` is {value!r}, not a whole number of days (0 or more)")
    return value


def read_dbt_lookback_days(project_file: Path = PROJECT_ROOT / "dbt_project.yml") -> int:
    """Dbt's `lookback_days` var: the days before its window every nightly run recomputes."""
    return read_dbt_days_var("lookback_days", project_file)


# Incremental models rewrite the window plus dbt's `lookback_days`: the gate checks all of it, the
# snapshot refreshes it, and alerts look back as far. Read once, from the var dbt itself uses.
DBT_LOOKBACK_DAYS = read_dbt_lookback_days()
# A lasting finding is new only after this many days without it (mart_cost_anomalies); alerts
# remember an episode for as long, so a start day that late labels move is not alerted again.
ANOMALY_COOLDOWN_DAYS = read_dbt_days_var("anomaly_cooldown_days")

# The facts whose rows belong to a day and change only when a run's window (plus a lookback) covers
# it: gated over those days, and updated in the published snapshot from the first of them on.
# A run's billed cost follows its provider-day's bill, which every night re-pulls over the provider
# lookback (7 days: providers restate, FOCUS exports are corrected), so runs look back that far.
DAY_PARTITIONED_MARTS = {
    "fct_llm_calls": ("started_date", DBT_LOOKBACK_DAYS),
    "fct_workflow_runs": ("run_date", max(DBT_LOOKBACK_DAYS, get_settings().provider_lookback_days)),
}
# The bill of a provider-day can change further back than that: a FOCUS correction restates the
# day it corrects, however old. `runs_restated_from` finds the runs such a restatement reaches.
BILLED_COST_COLUMNS = ("provider", "usage_date", "model", "rack_cost_usd", "billed_cost_usd", "untraced_spend_usd")


def runs_restated_from(conn: duckdb.DuckDBPyConnection, snapshot_path: Path) -> date | None:
    """The first run day whose billed cost differs from the published snapshot's; None when none does.

    A run's billed cost is its calls' rack cost at each provider-day's billed factor, which follows
    `mart_provider_reconciliation`. The provider-days whose bill differs between the previous
    snapshot and the warehouse are found on that small mart; the runs with calls on them
    (`int_run_provider_day_costs`, read from the earliest such day on) name the first run day to
    publish again. A previous snapshot without those columns cannot be compared: every day then.
    """
    columns = ", ".join(BILLED_COST_COLUMNS)
    try:
        conn.execute(f"attach {quote_literal(str(snapshot_path))} as previous_snapshot (read_only)")
    except duckdb.Error:
        return None  # unreadable: `write_snapshot` does not start from it, it writes every row
    try:
        return conn.execute(
            f"""
            with published as (
                select {columns} from previous_snapshot.main.mart_provider_reconciliation
            ),

            current_bills as (
                select {columns} from marts.mart_provider_reconciliation
            ),

            restated as (
                select provider, usage_date from (select * from published except all select * from current_bills)
                union all
                select provider, usage_date from (select * from current_bills except all select * from published)
            )

            select min(costs.run_date)
            from intermediate.int_run_provider_day_costs as costs
            semi join restated on costs.provider = restated.provider and costs.usage_date = restated.usage_date
            where costs.usage_date >= (select min(usage_date) from restated)
            """
        ).fetchone()[0]
    except (duckdb.BinderException, duckdb.CatalogException):
        return date.min
    finally:
        conn.execute("detach previous_snapshot")


# The gates' models of the day-partitioned facts, for the rows a publish takes that their gates did not check.
DAY_PARTITIONED_MODELS = {"fct_llm_calls": FctLlmCalls, "fct_workflow_runs": FctWorkflowRuns}


class UngatedRowsFailed(ValueError):
    """Rows a publish would take from before the days its gate checked fail that gate's model."""


def ungated_rows_check(conn: duckdb.DuckDBPyConnection) -> Callable[[str, str], None]:
    """`write_snapshot`'s `check_ungated`: validate those rows with the fact's gate model, every row.

    A fact copied whole (its history changed: a full refresh, a repricing) or refreshed from a
    restated bill's day takes rows from before the window its gate checked; never published
    unchecked, they stop the publish instead, which leaves the previous snapshot as it was.
    """

    def check(table: str, predicate: str) -> None:
        model = DAY_PARTITIONED_MODELS.get(table)
        if model is None:
            return
        result = validate_relation(conn, f"marts.{table}", model, predicate)
        if result.failing_rows:
            reasons = "; ".join(f"{reason} ({count})" for reason, count in result.reasons.most_common(5))
            raise UngatedRowsFailed(
                f"marts.{table}: {result.failing_rows:,} of the {result.rows_checked:,} rows the publish would take "
                f"from before the days its gate checked ({predicate}) fail its checks: {reasons}; nothing was "
                "published (the previous snapshot stays): repair the history (e.g. fix the price override and "
                "rebuild) and run again"
            )

    return check


def snapshot_restatements(conn: duckdb.DuckDBPyConnection, snapshot_path: Path, tables: list[str]) -> dict[str, date]:
    """`write_snapshot`'s `restated_from`: the runs a restated bill reached, when both marts are published."""
    if not snapshot_path.exists() or not {"fct_workflow_runs", "mart_provider_reconciliation"} <= set(tables):
        return {}
    restated = runs_restated_from(conn, snapshot_path)
    return {} if restated is None else {"fct_workflow_runs": restated}

mart_gates = [
    pandera_gate(
        asset_key=dg.AssetKey(["marts", "fct_llm_calls"]),
        relation="marts.fct_llm_calls",
        model=FctLlmCalls,
        date_column=DAY_PARTITIONED_MARTS["fct_llm_calls"][0],
        lookback_days=DAY_PARTITIONED_MARTS["fct_llm_calls"][1],
        covers_unpublished=True,
    ),
    pandera_gate(
        asset_key=dg.AssetKey(["marts", "fct_workflow_runs"]),
        relation="marts.fct_workflow_runs",
        model=FctWorkflowRuns,
        date_column=DAY_PARTITIONED_MARTS["fct_workflow_runs"][0],
        lookback_days=DAY_PARTITIONED_MARTS["fct_workflow_runs"][1],
        covers_unpublished=True,
    ),
    pandera_gate(
        asset_key=dg.AssetKey(["marts", "mart_unit_economics"]),
        relation="marts.mart_unit_economics",
        model=MartUnitEconomics,
    ),
    pandera_gate(
        asset_key=dg.AssetKey(["marts", "mart_provider_reconciliation"]),
        relation="marts.mart_provider_reconciliation",
        model=MartProviderReconciliation,
    ),
    pandera_gate(
        asset_key=dg.AssetKey(["marts", "mart_workflow_roi"]),
        relation="marts.mart_workflow_roi",
        model=MartWorkflowRoi,
    ),
    # The economics marts are small (a row per workflow, month, model or tier): checked whole.
    *(
        pandera_gate(asset_key=dg.AssetKey(["marts", name]), relation=f"marts.{name}", model=model)
        for name, model in (
            ("mart_cache_savings", MartCacheSavings),
            ("mart_model_mix", MartModelMix),
            ("mart_routing_recommendations", MartRoutingRecommendations),
            ("mart_reasoning_effort", MartReasoningEffort),
            ("mart_agent_overhead", MartAgentOverhead),
            ("mart_spend_by_category", MartSpendByCategory),
        )
    ),
    # every finding, not the window's: the mart rewrites every day from the window's first less the
    # lookback on, later days included (a re-run of old days), and it holds a few rows a day
    pandera_gate(
        asset_key=dg.AssetKey(["marts", "mart_cost_anomalies"]),
        relation="marts.mart_cost_anomalies",
        model=MartCostAnomalies,
    ),
]
