"""Dagster asset of the FOCUS source: `raw/focus_charges`, charge days re-read over a trailing window."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.checks import PanderaGate
from orchestration.partitions import daily_partitions, single_run
from orchestration.settings import get_settings
from orchestration.sources.focus.load import FOCUS, load_focus
from orchestration.sources.focus.schemas import FocusChargeRaw
from orchestration.sources.provider_api import fetch_window

FOCUS_KEY = dg.AssetKey(["raw", FOCUS.name])

focus_gate = PanderaGate(
    asset_key=FOCUS_KEY,
    relation=FOCUS.qualified,
    model=FocusChargeRaw,
    date_column="_partition_date",
    lookback_days=get_settings().provider_lookback_days,
    quarantine_entity=FOCUS.name,
)


@dg.asset(
    key=FOCUS_KEY,
    group_name="extract",
    kinds={"duckdb", "csv", "parquet"},
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    check_specs=[focus_gate.spec],
    description="One row per FOCUS 1.2 charge row (the newest export's: a file, or a folder with "
    "AGENTLEDGER_FOCUS_EXPORT_UNIT=folder) whose charge period starts on the "
    "partition's day or the lookback days before it, from CSV/Parquet files under AGENTLEDGER_FOCUS_DIR.",
)
def focus_charges(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Read every export, keep the newest export's rows per charge day, replace the window's days."""
    settings = get_settings()
    first, last = fetch_window(context)
    with duckdb.get_connection() as conn:
        report = load_focus(
            conn, settings.focus_dir, first, last, progress=context.log.info,
            export_unit=settings.focus_export_unit, warn=context.log.warning,
        )
        gate = focus_gate.evaluate(conn, context.run.tags, context.log.error)
    if report is None:
        context.log.info(
            f"FOCUS billing exports: {settings.focus_dir} does not exist; skipped (set AGENTLEDGER_FOCUS_DIR)"
        )
        return dg.MaterializeResult(
            metadata={"skipped": f"{settings.focus_dir} does not exist"}, check_results=[gate]
        )
    return dg.MaterializeResult(metadata=report.as_metadata(), check_results=[gate])


assets = [focus_charges]
