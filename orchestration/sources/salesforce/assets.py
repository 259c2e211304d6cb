"""Dagster asset of the Salesforce source: `raw/salesforce_opportunities`.

The warehouse is opened twice, briefly: to read the high-water mark, then to write what was
fetched (and run the gate). No lock is held while waiting on Salesforce, so readers of the
warehouse are not shut out for the length of a sync's requests and retries.
"""

import os

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.checks import PanderaGate
from orchestration.http import make_session
from orchestration.loading import ensure_table, read_high_water_mark
from orchestration.sources.salesforce.client import SalesforceClient
from orchestration.sources.salesforce.load import OPPORTUNITIES, fetch_salesforce, write_salesforce
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
    """Sync opportunities changed since the stored high-water mark; skipped without credentials.

    The fetch runs with the warehouse closed; the write (upserts and the new mark, one transaction)
    runs in a second, short connection.
    """
    instance_url = os.environ.get("SALESFORCE_INSTANCE_URL", "").strip()
    token = os.environ.get("SALESFORCE_ACCESS_TOKEN", "").strip()
    if not (instance_url and token):
        with duckdb.get_connection() as conn:
            ensure_table(conn, OPPORTUNITIES)  # dbt's staging model reads it: it exists, empty
            missing = " and ".join(
                name for name, value in (("SALESFORCE_INSTANCE_URL", instance_url), ("SALESFORCE_ACCESS_TOKEN", token))
                if not value
            )
            context.log.info(f"Salesforce skipped: {missing} not set")
            gate = opportunities_gate.evaluate(conn, context.run.tags, context.log.error)
        return dg.MaterializeResult(metadata={"skipped": f"{missing} not set"}, check_results=[gate])
    client = SalesforceClient(instance_url, token, make_session())
    with duckdb.get_connection() as conn:
        stored_mark = read_high_water_mark(conn, OPPORTUNITIES)
    changes = fetch_salesforce(client, stored_mark, progress=context.log.info)  # no warehouse connection open
    with duckdb.get_connection() as conn:
        report, high_water_mark = write_salesforce(conn, changes)
        gate = opportunities_gate.evaluate(conn, context.run.tags, context.log.error)
    context.log.info(f"{OPPORTUNITIES.name}: {report.counts()}")
    metadata = report.as_metadata()
    metadata["high_water_mark"] = str(high_water_mark)
    return dg.MaterializeResult(metadata=metadata, check_results=[gate])


assets = [salesforce_opportunities]
