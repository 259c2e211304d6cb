"""Dagster assets of the HubSpot source: `raw/hubspot_deals` and `raw/hubspot_deal_companies`.

The warehouse is opened twice, briefly: to read the high-water mark, then to write what was
fetched (and run the gates). No lock is held while waiting on HubSpot, so readers of the warehouse
are not shut out for the length of a sync's requests and retries.
"""

import os

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.checks import PanderaGate
from orchestration.http import make_session
from orchestration.loading import ensure_table, read_high_water_mark
from orchestration.sources.hubspot.client import HubSpotClient
from orchestration.sources.hubspot.load import DEAL_COMPANIES, DEALS, fetch_hubspot, write_hubspot
from orchestration.sources.hubspot.schemas import HubSpotDealCompaniesRaw, HubSpotDealRaw

DEALS_KEY = dg.AssetKey(["raw", "hubspot_deals"])
DEAL_COMPANIES_KEY = dg.AssetKey(["raw", "hubspot_deal_companies"])
DEFAULT_BASE_URL = "https://api.hubapi.com"

deals_gate = PanderaGate(
    asset_key=DEALS_KEY, relation=DEALS.qualified, model=HubSpotDealRaw, quarantine_entity=DEALS.name
)
deal_companies_gate = PanderaGate(
    asset_key=DEAL_COMPANIES_KEY, relation=DEAL_COMPANIES.qualified, model=HubSpotDealCompaniesRaw
)
GATES = (deals_gate, deal_companies_gate)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            DEALS_KEY,
            group_name="extract",
            kinds={"duckdb", "hubspot"},
            description="One row per HubSpot deal (latest version; archived deals flagged), upserted by id "
            "from the deals modified since the last sync.",
        ),
        dg.AssetSpec(
            DEAL_COMPANIES_KEY,
            group_name="extract",
            kinds={"duckdb", "hubspot"},
            description="One row per synced deal with its associated company ids, each once.",
        ),
    ],
    can_subset=False,
    check_specs=[gate.spec for gate in GATES],
)
def hubspot_deals(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    """Sync deals changed since the stored high-water mark; skipped when HUBSPOT_ACCESS_TOKEN is unset.

    The fetch runs with the warehouse closed; the write (upserts and the new mark, one transaction
    for the deals) runs in a second, short connection.
    """
    token = os.environ.get("HUBSPOT_ACCESS_TOKEN", "").strip()
    if not token:
        with duckdb.get_connection() as conn:
            # dbt's staging models read these tables: they exist, empty, when the source is off.
            ensure_table(conn, DEALS)
            ensure_table(conn, DEAL_COMPANIES)
            context.log.info("HubSpot skipped: HUBSPOT_ACCESS_TOKEN is not set")
            skipped = {"skipped": "HUBSPOT_ACCESS_TOKEN is not set"}
            yield dg.MaterializeResult(asset_key=DEALS_KEY, metadata=skipped)
            yield dg.MaterializeResult(asset_key=DEAL_COMPANIES_KEY, metadata=skipped)
            yield from (gate.evaluate(conn, context.run.tags, context.log.error) for gate in GATES)
        return
    client = HubSpotClient(token, os.environ.get("HUBSPOT_BASE_URL") or DEFAULT_BASE_URL, make_session())
    with duckdb.get_connection() as conn:
        stored_mark = read_high_water_mark(conn, DEALS)
    changes = fetch_hubspot(client, stored_mark, progress=context.log.info)  # no warehouse connection open
    with duckdb.get_connection() as conn:
        sync = write_hubspot(conn, changes)
        gates = [gate.evaluate(conn, context.run.tags, context.log.error) for gate in GATES]
    context.log.info(f"{DEALS.name}: {sync.deals.counts()}; {DEAL_COMPANIES.name}: {sync.companies.counts()}")
    deals_metadata = sync.deals.as_metadata()
    deals_metadata["high_water_mark"] = str(sync.high_water_mark)
    yield dg.MaterializeResult(asset_key=DEALS_KEY, metadata=deals_metadata)
    yield dg.MaterializeResult(asset_key=DEAL_COMPANIES_KEY, metadata=sync.companies.as_metadata())
    yield from gates


assets = [hubspot_deals]
