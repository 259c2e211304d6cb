"""The asset every provider usage/cost API source has, built by one factory: sources differ in their client.

An API source's `assets.py` names its raw tables and descriptions and calls `report_assets`; the
pull-then-write logic lives here once. (No `from __future__ import annotations` in this module:
Dagster reads the asset function's `context` annotation.)
"""

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any, Protocol

import dagster as dg
import requests
from dagster_duckdb import DuckDBResource

from orchestration.checks import PanderaGate
from orchestration.http import ApiConfig, ApiSource, make_session
from orchestration.loading import RawTable
from orchestration.partitions import daily_partitions, single_run
from orchestration.settings import get_settings
from orchestration.sources.provider_api import fetch_window, load_records, skip_unconfigured


class ReportClient(Protocol):
    """What a provider client offers the asset: flat usage and cost records over a window of days."""

    def iter_usage(self, first: date, last: date) -> Iterator[dict[str, Any]]: ...  # noqa: D102

    def iter_costs(self, first: date, last: date) -> Iterator[dict[str, Any]]: ...  # noqa: D102


def report_assets(
    *,
    name: str,
    api: ApiSource,
    client: Callable[[ApiConfig, requests.Session], ReportClient],
    usage: RawTable,
    costs: RawTable,
    usage_description: str,
    cost_description: str,
) -> list[dg.AssetsDefinition]:
    """The partitioned asset writing `raw/<usage>` and `raw/<costs>`, with the two tables' blocking gates.

    Each run pulls the partition window plus the provider lookback, reading both reports whole
    before the warehouse is opened: a failed page fails the run with nothing written, and no lock is
    held while waiting on the network. An unset key skips the source with one log line.
    """
    usage_key = dg.AssetKey(["raw", usage.name])
    costs_key = dg.AssetKey(["raw", costs.name])
    lookback_days = get_settings().provider_lookback_days
    gates = [
        PanderaGate(asset_key=key, relation=table.qualified, model=table.model, date_column="_partition_date",
                    lookback_days=lookback_days, quarantine_entity=table.name)
        for key, table in ((usage_key, usage), (costs_key, costs))
    ]

    @dg.multi_asset(
        name=name,
        specs=[
            dg.AssetSpec(usage_key, group_name="extract", kinds={"duckdb", "api"}, description=usage_description),
            dg.AssetSpec(costs_key, group_name="extract", kinds={"duckdb", "api"}, description=cost_description),
        ],
        partitions_def=daily_partitions,
        backfill_policy=single_run,
        can_subset=False,
        check_specs=[gate.spec for gate in gates],
    )
    def _reports(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
        """Pull the window's usage and cost reports, then replace those days; nothing is written if a pull fails."""
        first, last = fetch_window(context)
        config = api.configured()
        if config is None:
            with duckdb.get_connection() as conn:
                skipped = skip_unconfigured(conn, api, [usage, costs], context.log.info)
                results = [gate.evaluate(conn, context.run.tags, context.log.error) for gate in gates]
            yield dg.MaterializeResult(asset_key=usage_key, metadata=skipped)
            yield dg.MaterializeResult(asset_key=costs_key, metadata=skipped)
            yield from results
            return
        reports = client(config, make_session())
        usage_records = list(reports.iter_usage(first, last))
        cost_records = list(reports.iter_costs(first, last))
        with duckdb.get_connection() as conn:
            usage_report = load_records(conn, usage, usage_records, first, last)
            cost_report = load_records(conn, costs, cost_records, first, last)
            results = [gate.evaluate(conn, context.run.tags, context.log.error) for gate in gates]
        context.log.info(
            f"{usage.name} {first}..{last}: {usage_report.counts()}; {costs.name}: {cost_report.counts()}"
        )
        yield dg.MaterializeResult(asset_key=usage_key, metadata=usage_report.as_metadata())
        yield dg.MaterializeResult(asset_key=costs_key, metadata=cost_report.as_metadata())
        yield from results

    return [_reports]
