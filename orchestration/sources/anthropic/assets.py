"""Dagster asset of the Anthropic source: `raw/anthropic_usage` and `raw/anthropic_costs`, over a trailing window."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.checks import pandera_gate
from orchestration.http import make_session
from orchestration.loading import RawTable
from orchestration.partitions import daily_partitions, single_run
from orchestration.settings import get_settings
from orchestration.sources.anthropic.client import ANTHROPIC_API, AnthropicClient
from orchestration.sources.anthropic.schemas import COST_COLUMNS, USAGE_COLUMNS, AnthropicCostRaw, AnthropicUsageRaw
from orchestration.sources.provider_api import fetch_window, load_records, skip_unconfigured

SOURCE = "anthropic"
USAGE = RawTable(source=SOURCE, name="anthropic_usage", columns=USAGE_COLUMNS, model=AnthropicUsageRaw)
COSTS = RawTable(source=SOURCE, name="anthropic_costs", columns=COST_COLUMNS, model=AnthropicCostRaw)
USAGE_KEY = dg.AssetKey(["raw", USAGE.name])
COSTS_KEY = dg.AssetKey(["raw", COSTS.name])


@dg.multi_asset(
    specs=[
        dg.AssetSpec(USAGE_KEY, group_name="extract", kinds={"duckdb", "api"},
                     description="One row per (day, model, workspace, API key, service tier, context "
                     "window) of Anthropic messages usage."),
        dg.AssetSpec(COSTS_KEY, group_name="extract", kinds={"duckdb", "api"},
                     description="One row per (day, line item, workspace) of Anthropic's cost report, cents and USD."),
    ],
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    can_subset=False,
)
def anthropic_reports(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    """Pull the window's usage and cost reports, then replace those days; nothing is written if a pull fails."""
    first, last = fetch_window(context)
    config = ANTHROPIC_API.configured()
    if config is None:
        with duckdb.get_connection() as conn:
            skipped = skip_unconfigured(conn, ANTHROPIC_API, [USAGE, COSTS], context.log.info)
        yield dg.MaterializeResult(asset_key=USAGE_KEY, metadata=skipped)
        yield dg.MaterializeResult(asset_key=COSTS_KEY, metadata=skipped)
        return
    # Both reports are read whole before the warehouse is opened: a failed page fails the run with
    # nothing written, and no lock is held while waiting on the network.
    client = AnthropicClient(config, make_session())
    usage = list(client.iter_usage(first, last))
    costs = list(client.iter_costs(first, last))
    with duckdb.get_connection() as conn:
        usage_report = load_records(conn, USAGE, usage, first, last)
        cost_report = load_records(conn, COSTS, costs, first, last)
    yield dg.MaterializeResult(asset_key=USAGE_KEY, metadata=usage_report.as_metadata())
    yield dg.MaterializeResult(asset_key=COSTS_KEY, metadata=cost_report.as_metadata())


lookback_days = get_settings().provider_lookback_days
assets = [anthropic_reports]
asset_checks = [
    pandera_gate(asset_key=USAGE_KEY, relation=USAGE.qualified, model=AnthropicUsageRaw,
                 date_column="_partition_date", lookback_days=lookback_days, quarantine_entity=USAGE.name),
    pandera_gate(asset_key=COSTS_KEY, relation=COSTS.qualified, model=AnthropicCostRaw,
                 date_column="_partition_date", lookback_days=lookback_days, quarantine_entity=COSTS.name),
]
