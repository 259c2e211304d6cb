"""Dagster asset of the Salesforce source: `raw/salesforce_opportunities`."""

import os

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.checks import PanderaGate
from orchestration.http import make_session
from orchestration.loading import ensure_table
from orchestration.sources.salesforce.client import SalesforceClient
from orchestration.sources.salesforce.load import OPPORTUNITIES, sync_salesforce
from orchestration.sources.salesforce.schemas import SalesforceOpportunityRaw

OPPORTUNITIES_KEY = dg.AssetKey(["raw", "salesforce_opportunities"])

opportunities_gate = PanderaGate(
    asset_key=OPPORTUNITIES_KEY,
    relation=OPPORTUNITIES.qualified,
    model=SalesforceOpportunityRaw,
    quarantine_entity=OPPORTUNITIES.name,
)


@dg.asset(
    key=OPPORTUNITIES_KEY,
    group_name="extract",
    kinds={"duckdb", "salesforce"},
    check_specs=[opportunities_gate.spec],
    description="One row per Salesforce opportunity (latest version; deleted ones flagged), upserted by id "
    "from the opportunities modified since the last sync.",
)
def salesforce_opportunities(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Sync opportunities changed since the stored high-water mark; skipped without credentials."""
    instance_url = os.environ.get("SALESFORCE_INSTANCE_URL", "").strip()
    token = os.environ.get("SALESFORCE_ACCESS_TOKEN", "").strip()
    with duckdb.get_connection() as conn:
        if not (instance_url and token):
            ensure_table(conn, OPPORTUNITIES)  # dbt's staging model reads it: it exists, empty
            missing = " and ".join(
                name for name, value in (("SALESFORCE_INSTANCE_URL", instance_url), ("SALESFORCE_ACCESS_TOKEN", token))
                if not value
            )
            context.log.info(f"Salesforce skipped: {missing} not set")
            gate = opportunities_gate.evaluate(conn, context.run.tags, context.log.error)
            return dg.MaterializeResult(metadata={"skipped": f"{missing} not set"}, check_results=[gate])
        client = SalesforceClient(instance_url, token, make_session())
        report, high_water_mark = sync_salesforce(conn, client, progress=context.log.info)
        gate = opportunities_gate.evaluate(conn, context.run.tags, context.log.error)
    metadata = report.as_metadata()
    metadata["high_water_mark"] = str(high_water_mark)
    return dg.MaterializeResult(metadata=metadata, check_results=[gate])


assets = [salesforce_opportunities]
