"""Without credentials the CRM sources skip with one log line and leave empty tables for dbt."""

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from orchestration.sources.hubspot.assets import hubspot_deals
from orchestration.sources.salesforce.assets import salesforce_opportunities

CREDENTIALS = ("HUBSPOT_ACCESS_TOKEN", "HUBSPOT_BASE_URL", "SALESFORCE_INSTANCE_URL", "SALESFORCE_ACCESS_TOKEN")


def test_unset_credentials_skip_the_crm_sources(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given no CRM credentials
    for name in CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    db_path = tmp_path / "warehouse.duckdb"
    # when
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [hubspot_deals, salesforce_opportunities],
        resources={"duckdb": DuckDBResource(database=str(db_path))},
        instance=instance,
    )
    # then the run succeeds, says why each source did nothing, and the raw tables exist, empty
    assert result.success
    metadata = {
        event.asset_key.path[-1]: event.step_materialization_data.materialization.metadata["skipped"].value
        for event in result.get_asset_materialization_events()
    }
    assert metadata == {
        "hubspot_deals": "HUBSPOT_ACCESS_TOKEN is not set",
        "hubspot_deal_companies": "HUBSPOT_ACCESS_TOKEN is not set",
        "salesforce_opportunities": "SALESFORCE_INSTANCE_URL and SALESFORCE_ACCESS_TOKEN not set",
    }
    skipped = [entry.user_message for entry in instance.all_logs(result.run_id) if "skipped" in entry.user_message]
    assert len([m for m in skipped if "HubSpot skipped: HUBSPOT_ACCESS_TOKEN is not set" in m]) == 1
    assert len([m for m in skipped if "Salesforce skipped: SALESFORCE_INSTANCE_URL and" in m]) == 1
    with duckdb.connect(str(db_path), read_only=True) as conn:
        counts = conn.execute(
            "select (select count(*) from raw.hubspot_deals), (select count(*) from raw.hubspot_deal_companies), "
            "(select count(*) from raw.salesforce_opportunities)"
        ).fetchone()
    assert counts == (0, 0, 0)
