"""CRM revenue end to end: the demo's HubSpot and Salesforce fakes through the real job into ROI."""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.demo.apis.hubspot import demo_hubspot
from orchestration.demo.apis.salesforce import demo_salesforce
from orchestration.demo.crm import build_world
from orchestration.demo.server import FakeApiServer
from orchestration.http import make_session
from orchestration.settings import PROJECT_ROOT
from orchestration.sources.hubspot.client import HubSpotClient
from orchestration.sources.hubspot.load import sync_hubspot
from orchestration.sources.salesforce.client import SalesforceClient
from orchestration.sources.salesforce.load import sync_salesforce
from tests.integration.conftest import Warehouse

pytestmark = pytest.mark.integration


def test_every_deal_is_credited_exactly_its_amount(warehouse: Warehouse) -> None:
    rows = warehouse.query(
        """
        select deal_key, attribution_model, sum(credit_usd), any_value(deal_amount_usd)
        from intermediate.int_deals_attributed_to_runs group by all
        """
    )
    assert len(rows) > 20
    assert all(credited == amount for _, _, credited, amount in rows)
    assert {model for _, model, _, _ in rows} == {"linear", "last_touch", "first_touch", "time_decay"}


def test_removed_and_unconvertible_deals_earn_nothing_and_foreign_ones_convert(warehouse: Warehouse) -> None:
    world = build_world(warehouse.home)
    deals = {
        row["deal_key"]: row
        for row in warehouse.query_dicts("select * from intermediate.int_crm_deals")
    }
    credited = {
        row[0] for row in warehouse.query("select distinct deal_key from intermediate.int_deals_attributed_to_runs")
    }
    archived, deleted = f"hubspot:{world.archived_deal}", f"salesforce:{world.deleted_opportunity}"
    unknown = f"hubspot:{world.unknown_currency_deal}"
    assert deals[archived]["is_removed"] and not deals[archived]["is_won_revenue"] and archived not in credited
    assert deals[deleted]["is_removed"] and not deals[deleted]["is_won_revenue"] and deleted not in credited
    assert (deals[unknown]["currency"], deals[unknown]["fx_status"], deals[unknown]["amount_usd"]) == (
        "MXN", "unknown_currency", None
    )
    # and the night warns of the won deal it could not convert (the only one)
    assert "check intermediate/int_crm_deals:assert_won_deals_convert_to_usd warns: 1 row(s)" in (
        warehouse.outcome.warnings
    )
    foreign = [d for d in deals.values() if d["currency"] in ("EUR", "GBP")]
    assert {d["currency"] for d in foreign} == {"EUR", "GBP"}
    for deal in foreign:
        assert deal["fx_status"] == "converted"
        assert deal["amount_usd"] == (deal["amount"] * deal["usd_per_unit"]).quantize(Decimal("1e-10"))
    edited = next(d for d in world.deals if d.deal_id == world.late_edited_deal)
    assert deals[f"hubspot:{world.late_edited_deal}"]["amount"] == edited.amount


def test_trace_accounts_match_crm_records_by_map_and_as_is(warehouse: Warehouse) -> None:
    keys = warehouse.query_dicts("select * from intermediate.int_crm_account_keys")
    by_account = {(k["account_id"], k["matched_by"]) for k in keys}
    assert ("acct_northwind", "account_map") in by_account
    assert any(a.startswith("hs_company_") and m == "crm_id_as_is" for a, m in by_account)
    # runs tagged with the HubSpot company id itself are credited
    tagged = warehouse.query(
        "select count(*) from intermediate.int_deals_attributed_to_runs where account_id like 'hs_company_%'"
    )[0][0]
    assert tagged > 0


def test_roi_mart_agrees_with_runs_and_unit_economics(warehouse: Warehouse) -> None:
    rows = warehouse.query_dicts(
        """
        select roi.*, ue.cost_per_successful_task_usd as ue_cpst, ue.successful_runs as ue_successes
        from marts.mart_workflow_roi roi
        join marts.mart_unit_economics ue using (workflow, period, period_start)
        """
    )
    assert rows and {r["attribution_model"] for r in rows} == {"linear"}
    for row in rows:
        assert row["cost_per_successful_task_usd"] == row["ue_cpst"]
        assert row["successful_runs"] == row["ue_successes"]
        if row["lift_usd"] is not None:
            assert row["lift_usd"] == row["matched_attributed_revenue_usd"] - row["baseline_revenue_usd"]
    # the CRM counts as read on 12-20 (conftest): runs of 11-18 and 11-19 have whole windows and a
    # lift, those of 11-20 and 11-21 are counted as open and left out of it
    lifts = warehouse.query(
        "select started_at + interval 30 day <= timestamp '2026-12-20', count(*) from intermediate.int_runs_lift "
        "where attribution_model = 'linear' and has_baseline group by 1 order by 1"
    )
    (open_key, open_runs), (closed_key, closed_runs) = lifts
    assert (open_key, closed_key) == (False, True) and open_runs > 0 and closed_runs > 0
    all_rows = [r for r in rows if r["period"] == "all"]
    assert sum(r["runs_window_open"] for r in all_rows) == open_runs
    assert sum(r["median_sample_runs"] for r in all_rows) == closed_runs
    unmatched = {r["workflow"] for r in rows if r["period"] == "all" and r["successful_runs"] > 0
                 and r["runs_without_baseline"] == r["successful_runs"]}
    assert "email_triage" in unmatched and all(
        r["roi"] is None for r in rows if r["workflow"] in unmatched and r["period"] == "all"
    )


@contextmanager
def serving(fakes) -> Iterator[str]:
    with FakeApiServer() as server:
        for fake in fakes:
            fake.register(server)
        yield server.base_url


def _sync(db_path: Path, hubspot, salesforce) -> tuple:
    with serving([hubspot, salesforce]) as url, duckdb.connect(str(db_path)) as conn:
        session = make_session(backoff_factor=0.01)
        deals = sync_hubspot(conn, HubSpotClient(hubspot.token, url, session))
        opportunities, _ = sync_salesforce(conn, SalesforceClient(url, salesforce.token, session))
    return deals, opportunities


def test_a_second_sync_with_no_changes_adds_nothing(warehouse: Warehouse, tmp_path: Path) -> None:
    # given a copy of the session warehouse, synced once by the nightly job
    db_path = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse.db_path, db_path)
    tables = ("raw.hubspot_deals", "raw.hubspot_deal_companies", "raw.salesforce_opportunities", "raw._sync_state")
    with duckdb.connect(str(db_path), read_only=True) as conn:
        before = {t: sorted(conn.execute(f"select * from {t}").fetchall()) for t in tables}
    # when the same CRM is synced again
    deals, opportunities = _sync(db_path, demo_hubspot(warehouse.home), demo_salesforce(warehouse.home))
    # then nothing was inserted or changed, not even a load timestamp
    assert (deals.deals.loaded, deals.companies.loaded, opportunities.loaded) == (0, 0, 0)
    assert deals.deals.received > 0 and opportunities.received > 0
    with duckdb.connect(str(db_path), read_only=True) as conn:
        assert {t: sorted(conn.execute(f"select * from {t}").fetchall()) for t in tables} == before


def test_a_late_edit_and_a_deletion_reattribute_in_the_next_nightly_run(warehouse: Warehouse, tmp_path: Path) -> None:
    # given a copy of the session warehouse, and in the CRM: a credited HubSpot deal whose amount is
    # doubled days after it closed, a credited Salesforce opportunity deleted
    db_path = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse.db_path, db_path)
    credited = warehouse.query(
        """
        select credits.deal_key, count(*)
        from intermediate.int_deals_attributed_to_runs as credits
        join intermediate.int_crm_deals as deals using (deal_key)
        where credits.attribution_model = 'linear' and deals.currency = 'USD'
        group by credits.deal_key order by credits.deal_key
        """
    )
    edited_key = next(k for k, n in credited if k.startswith("hubspot:") and n > 1)
    deleted_key = next(k for k, _ in credited if k.startswith("salesforce:"))
    untouched = warehouse.query(
        "select * from intermediate.int_deals_attributed_to_runs where deal_key not in (?, ?) order by all",
        [edited_key, deleted_key],
    )
    hubspot, salesforce = demo_hubspot(warehouse.home), demo_salesforce(warehouse.home)
    edited_id, deleted_id = edited_key.split(":")[1], deleted_key.split(":")[1]
    old_amount = Decimal(hubspot.deals[edited_id].properties["amount"])
    later = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    hubspot.edit(edited_id, later, amount=str(old_amount * 2))
    salesforce.delete(deleted_id, at=later)
    _sync(db_path, hubspot, salesforce)

    # when the next nightly run's dbt builds the attribution for its window (2026-11-25)
    dbt = Path(sys.executable).with_name("dbt")
    subprocess.run(
        [str(dbt), "build", "--select", "int_crm_deals", "int_crm_account_keys", "int_deals_attributed_to_runs",
         "--event-time-start", "2026-11-25T00:00:00", "--event-time-end", "2026-11-26T00:00:00",
         "--target-path", str(tmp_path / "target"), "--project-dir", str(PROJECT_ROOT),
         "--profiles-dir", str(PROJECT_ROOT), "--quiet"],
        cwd=PROJECT_ROOT, env={**os.environ, "AGENTLEDGER_DB": str(db_path)}, check=True, capture_output=True,
    )

    # then the edited deal is split again at its new amount, the deleted one has no credit left,
    # and no other deal's rows moved
    with duckdb.connect(str(db_path), read_only=True) as conn:
        sums = dict(conn.execute(
            "select deal_key, sum(credit_usd) from intermediate.int_deals_attributed_to_runs "
            "where attribution_model = 'linear' and deal_key in (?, ?) group by deal_key",
            [edited_key, deleted_key],
        ).fetchall())
        others = conn.execute(
            "select * from intermediate.int_deals_attributed_to_runs where deal_key not in (?, ?) order by all",
            [edited_key, deleted_key],
        ).fetchall()
    assert sums == {edited_key: old_amount * 2}
    assert others == untouched
