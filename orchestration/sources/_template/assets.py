"""TEMPLATE Dagster asset: `raw/template_usage` and `raw/template_costs`, re-pulled over a trailing window."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.checks import pandera_gate
from orchestration.http import make_session
from orchestration.loading import RawTable
from orchestration.partitions import daily_partitions, single_run
from orchestration.settings import get_settings
from orchestration.sources._template.client import TEMPLATE_API, TemplateClient
from orchestration.sources._template.schemas import COST_COLUMNS, USAGE_COLUMNS, TemplateCostRaw, TemplateUsageRaw
from orchestration.sources.provider_api import fetch_window, load_records, skip_unconfigured

SOURCE = "template"
USAGE = RawTable(source=SOURCE, name="template_usage", columns=USAGE_COLUMNS, model=TemplateUsageRaw)
COSTS = RawTable(source=SOURCE, name="template_costs", columns=COST_COLUMNS, model=TemplateCostRaw)
USAGE_KEY = dg.AssetKey(["raw", USAGE.name])
COSTS_KEY = dg.AssetKey(["raw", COSTS.name])


@dg.multi_asset(
    specs=[
        dg.AssetSpec(USAGE_KEY, group_name="extract", kinds={"duckdb", "api"},
                     description="One row per (day, model) of the provider's reported usage."),
        dg.AssetSpec(COSTS_KEY, group_name="extract", kinds={"duckdb", "api"},
                     description="One row per (day, model, token type) of the provider's billed cost, USD."),
    ],
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    can_subset=False,
)
def template_reports(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    """Pull the window's usage and cost reports, then replace those days; nothing is written if a pull fails."""
    first, last = fetch_window(context)
    config = TEMPLATE_API.configured()
    if config is None:
        with duckdb.get_connection() as conn:
            skipped = skip_unconfigured(conn, TEMPLATE_API, [USAGE, COSTS], context.log.info)
        yield dg.MaterializeResult(asset_key=USAGE_KEY, metadata=skipped)
        yield dg.MaterializeResult(asset_key=COSTS_KEY, metadata=skipped)
        return
    # Both reports are read whole before the warehouse is opened: a failed page fails the run with
    # nothing written, and no lock is held while waiting on the network.
    client = TemplateClient(config, make_session())
    usage = list(client.iter_usage(first, last))
    costs = list(client.iter_costs(first, last))
    with duckdb.get_connection() as conn:
        usage_report = load_records(conn, USAGE, usage, first, last)
        cost_report = load_records(conn, COSTS, costs, first, last)
    yield dg.MaterializeResult(asset_key=USAGE_KEY, metadata=usage_report.as_metadata())
    yield dg.MaterializeResult(asset_key=COSTS_KEY, metadata=cost_report.as_metadata())


lookback_days = get_settings().provider_lookback_days
assets = [template_reports]
asset_checks = [
    pandera_gate(asset_key=USAGE_KEY, relation=USAGE.qualified, model=TemplateUsageRaw,
                 date_column="_partition_date", lookback_days=lookback_days, quarantine_entity=USAGE.name),
    pandera_gate(asset_key=COSTS_KEY, relation=COSTS.qualified, model=TemplateCostRaw,
                 date_column="_partition_date", lookback_days=lookback_days, quarantine_entity=COSTS.name),
]
