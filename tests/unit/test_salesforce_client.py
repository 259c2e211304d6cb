"""Salesforce source against the fake Salesforce API on a local server: batches, +0000 times, deletions."""

import time
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from orchestration.demo.apis.salesforce import FakeOpportunity, FakeSalesforce
from orchestration.demo.server import FakeApiServer, FakeResponse
from orchestration.http import make_session
from orchestration.sources.salesforce.assets import salesforce_opportunities
from orchestration.sources.salesforce.client import SalesforceClient, SalesforceError, parse_timestamp, soql_datetime
from orchestration.sources.salesforce.load import sync_salesforce
from tests.unit.run_logs import materialize_logged
from tests.unit.warehouse_lock import open_read_write_elsewhere

T0 = datetime(2026, 5, 15, 8, 30, tzinfo=UTC)
API = "/services/data/v62.0"


def _org(n: int, **kwargs) -> FakeSalesforce:
    fake = FakeSalesforce(token="sf-t0k", **kwargs)
    for i in range(n):
        fake.add(FakeOpportunity(
            id=f"006Dm{i:010d}AAA", account_id="001Dm0000000001AAA", name=f"Opp {i}", amount=Decimal("1000.50"),
            close_date=date(2026, 5, 14), stage="Closed Won", modstamp=T0 + timedelta(minutes=i),
            currency="GBP" if i == 0 else "USD",
        ))
    return fake


def _client(server: FakeApiServer) -> SalesforceClient:
    return SalesforceClient(server.base_url, "sf-t0k", make_session(backoff_factor=0.01))


def test_query_follows_next_records_url_until_done() -> None:
    # given 5 opportunities served in batches of 2
    with FakeApiServer() as server:
        _org(5, batch_size=2).register(server)
        # when
        records = list(_client(server).iter_opportunities_modified_since(None, with_currency=True))
    # then one queryAll and two nextRecordsUrl requests read every record, without `attributes`
    paths = [r.path for r in server.requests if r.path.startswith(f"{API}/query")]
    assert paths[0] == f"{API}/queryAll" and len(paths) == 3 and paths[1].startswith(f"{API}/query/01g")
    assert [r["Id"] for r in records] == [f"006Dm{i:010d}AAA" for i in range(5)]
    assert "attributes" not in records[0] and records[0]["SystemModstamp"].endswith("+0000")


def test_sync_reads_plus_0000_timestamps_as_utc_and_stores_currencies() -> None:
    # given an org with multiple currencies
    conn = duckdb.connect()
    with FakeApiServer() as server:
        _org(3, batch_size=2).register(server)
        # when
        report, high_water_mark = sync_salesforce(conn, _client(server))
    # then `2026-05-15T08:30:00.000+0000` is 08:30 UTC, the mark is the latest stamp read
    rows = conn.execute(
        "select id, system_modstamp, close_date, amount, currency_iso_code, org_currency_iso_code, is_won "
        "from raw.salesforce_opportunities order by id"
    ).fetchall()
    assert rows[0] == ("006Dm0000000000AAA", datetime(2026, 5, 15, 8, 30), date(2026, 5, 14), Decimal("1000.5"),
                       "GBP", "USD", True)
    assert high_water_mark == datetime(2026, 5, 15, 8, 32)
    assert (report.received, report.loaded, report.quarantined) == (3, 3, 0)


def test_a_deleted_opportunity_arrives_through_query_all_and_is_flagged() -> None:
    # given a synced org in which an opportunity is then deleted (recycle bin: only queryAll sees it)
    fake = _org(3)
    conn = duckdb.connect()
    with FakeApiServer() as server:
        fake.register(server)
        client = _client(server)
        sync_salesforce(conn, client)
        unchanged, _ = sync_salesforce(conn, client)
        fake.delete("006Dm0000000001AAA", at=T0 + timedelta(days=2))
        # when
        report, _ = sync_salesforce(conn, client)
        soql = server.requests_to(f"{API}/queryAll")[-1].param("q")
    # then the second sync changed nothing and the deletion became an update of that one row
    assert unchanged.loaded == 0
    assert (report.extra["updated"], report.extra["inserted"]) == (1, 0)
    deleted = conn.execute(
        "select id from raw.salesforce_opportunities where is_deleted"
    ).fetchall()
    assert deleted == [("006Dm0000000001AAA",)]
    assert "WHERE SystemModstamp >= 2026-05-15T08:27:00Z" in soql  # the stored mark less five minutes


def test_a_quarantined_edit_marks_the_stored_version_superseded_until_a_valid_one_arrives() -> None:
    # given a synced opportunity won at 1,000.50, then restated to an amount the gate refuses
    fake = _org(2)
    conn = duckdb.connect()
    stored = "select amount, _superseded_at is not null from raw.salesforce_opportunities order by id"
    with FakeApiServer() as server:
        fake.register(server)
        client = _client(server)
        sync_salesforce(conn, client)
        restated = fake.opportunities["006Dm0000000000AAA"]
        restated.amount, restated.modstamp = Decimal("-2000"), T0 + timedelta(days=5)
        # when
        refused, _ = sync_salesforce(conn, client)
        after_refused = conn.execute(stored).fetchall()
        again, _ = sync_salesforce(conn, client)  # the overlap reads the refused version again
        restated.amount, restated.modstamp = Decimal("1800"), T0 + timedelta(days=6)
        fixed, _ = sync_salesforce(conn, client)
    # then the refused version is quarantined, the stored one kept but marked superseded (once) while
    # the mark moves on, and the valid version replaces it and clears the mark
    assert (refused.quarantined, refused.extra["superseded"]) == (1, 1)
    assert refused.counts().endswith("(1 stored record(s) superseded by a quarantined version)")
    assert after_refused == [(Decimal("1000.5"), True), (Decimal("1000.5"), False)]
    assert (again.quarantined, again.extra["superseded"], again.loaded) == (1, 0, 0)
    assert (fixed.loaded, fixed.quarantined, fixed.extra["updated"]) == (1, 0, 1)
    assert conn.execute(stored).fetchall() == [(Decimal("1800"), False), (Decimal("1000.5"), False)]
    assert conn.execute("select count(*) from raw.quarantine").fetchone()[0] == 0


def test_a_single_currency_org_is_not_asked_for_currency_iso_code() -> None:
    # given an org without multi-currency, where querying CurrencyIsoCode is an error
    conn = duckdb.connect()
    with FakeApiServer() as server:
        _org(2, multi_currency=False, default_currency="EUR").register(server)
        # when
        report, _ = sync_salesforce(conn, _client(server))
    # then amounts are stored with the org's currency beside them
    assert report.loaded == 2
    assert conn.execute(
        "select distinct currency_iso_code, org_currency_iso_code from raw.salesforce_opportunities"
    ).fetchall() == [(None, "EUR")]


@pytest.mark.usefixtures("new_york_host")
def test_a_datetime_without_an_offset_is_utc_whatever_the_host_zone() -> None:
    assert time.timezone != 0  # the host is not on UTC
    assert parse_timestamp("2026-05-15T12:00:00.000") == datetime(2026, 5, 15, 12, 0, tzinfo=UTC)
    assert parse_timestamp("2026-05-15T08:00:00.000-0400") == datetime(2026, 5, 15, 12, 0, tzinfo=UTC)
    assert parse_timestamp("2026-05-15T12:00:00.000+0000") == datetime(2026, 5, 15, 12, 0, tzinfo=UTC)


@pytest.mark.usefixtures("new_york_host")
def test_soql_datetime_reads_a_naive_mark_as_utc_whatever_the_host_zone() -> None:
    assert time.timezone != 0  # the host is not on UTC
    assert soql_datetime(datetime(2026, 5, 15, 12, 0)) == "2026-05-15T12:00:00Z"
    assert soql_datetime(datetime(2026, 5, 15, 8, 0, tzinfo=timezone(timedelta(hours=-4)))) == "2026-05-15T12:00:00Z"


@pytest.mark.usefixtures("new_york_host")
def test_an_incremental_sync_on_a_non_utc_host_asks_from_the_stored_mark_in_utc() -> None:
    # given a warehouse synced once (mark 08:32 UTC, stored naive)
    conn = duckdb.connect()
    with FakeApiServer() as server:
        _org(3).register(server)
        client = _client(server)
        sync_salesforce(conn, client)
        # when
        sync_salesforce(conn, client)
        soql = server.requests_to(f"{API}/queryAll")[-1].param("q")
    # then the query starts five minutes before the mark, in UTC (not 12:27Z, as New York time read as UTC)
    assert "WHERE SystemModstamp >= 2026-05-15T08:27:00Z" in soql


def test_an_amount_beyond_float_precision_is_stored_exactly() -> None:
    # given an opportunity whose Amount a float cannot hold (17 significant digits and a half)
    record = (
        b'{"attributes": {"type": "Opportunity"}, "Id": "006Dm0000000000AAA", "AccountId": null, "Name": "Big",'
        b' "Amount": 12345678901234567.5, "CurrencyIsoCode": "USD", "CloseDate": "2026-05-14",'
        b' "StageName": "Closed Won", "IsWon": true, "IsClosed": true, "IsDeleted": false,'
        b' "LastModifiedDate": "2026-05-15T08:30:00.000+0000", "SystemModstamp": "2026-05-15T08:30:00.000+0000"}'
    )
    page = FakeResponse(200, b'{"totalSize": 1, "done": true, "records": [' + record + b"]}")
    conn = duckdb.connect()
    with FakeApiServer() as server:
        _org(0).register(server)
        server.inject(f"{API}/queryAll", page, page)
        client = _client(server)
        # when the client reads it, and a sync loads it
        read = next(client.iter_opportunities_modified_since(None, with_currency=True))
        report, _ = sync_salesforce(conn, client)
    # then both hold the exact amount, not 12345678901234568.0
    assert read["Amount"] == Decimal("12345678901234567.5")
    assert report.loaded == 1
    assert conn.execute("select amount from raw.salesforce_opportunities").fetchone()[0] == Decimal(
        "12345678901234567.5"
    )


def test_a_refused_token_is_a_clear_error_with_the_code_but_not_the_servers_text() -> None:
    # given an org that answers 401 with a message echoing the token
    with FakeApiServer() as server:
        _org(1).register(server)
        body = [{"message": "Session expired: Bearer sf-s3cret-token", "errorCode": "INVALID_SESSION_ID"}]
        server.inject(f"{API}/sobjects", FakeResponse(401, body))
        client = SalesforceClient(server.base_url, "sf-s3cret-token", make_session())
        # when
        with pytest.raises(SalesforceError) as raised:
            client.opportunity_fields()
    # then
    message = str(raised.value)
    assert "HTTP 401 (INVALID_SESSION_ID)" in message and "SALESFORCE_ACCESS_TOKEN" in message
    assert "s3cret" not in message and "Session expired" not in message


def test_a_body_that_is_not_json_names_the_instance_url_setting() -> None:
    # given an instance URL that answers 200 with a login page, as a wrong My Domain does
    with FakeApiServer() as server:
        _org(1).register(server)
        server.inject(f"{API}/sobjects", FakeResponse(200, b"<html><body>Login</body></html>"))
        # when
        with pytest.raises(SalesforceError) as raised:
            _client(server).opportunity_fields()
    # then the error names the request, the size and the setting to check
    message = str(raised.value)
    assert message.startswith(f"Salesforce GET {API}/sobjects/Opportunity/describe: HTTP 200")
    assert "not JSON (31 bytes)" in message and "SALESFORCE_INSTANCE_URL" in message


def test_the_warehouse_is_not_locked_while_the_asset_waits_on_salesforce(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a warehouse file, and an org that, before answering each query, has another process
    # open that file read-write
    db_path = tmp_path / "warehouse.duckdb"
    fake = _org(3, batch_size=2)
    errors: list[str] = []
    fake.before_query = lambda query: errors.append(open_read_write_elsewhere(db_path))
    with FakeApiServer() as server:
        fake.register(server)
        monkeypatch.setenv("SALESFORCE_INSTANCE_URL", server.base_url)
        monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", "sf-t0k")
        # when the asset syncs
        result = dg.materialize(
            [salesforce_opportunities], resources={"duckdb": DuckDBResource(database=str(db_path))}
        )
    # then the other process got in during both queries (Organization, then queryAll), and the sync still wrote
    assert errors == ["", ""]
    assert result.success
    with duckdb.connect(str(db_path), read_only=True) as conn:
        assert conn.execute("select count(*) from raw.salesforce_opportunities").fetchone()[0] == 3
        assert conn.execute("select high_water_mark from raw._sync_state").fetchone()[0] == datetime(2026, 5, 15, 8, 32)


def test_the_asset_logs_received_loaded_and_quarantined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given an org with three opportunities
    with FakeApiServer() as server:
        _org(3).register(server)
        monkeypatch.setenv("SALESFORCE_INSTANCE_URL", server.base_url)
        monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", "sf-t0k")
        # when the asset syncs into an empty warehouse
        result, messages = materialize_logged(
            [salesforce_opportunities],
            resources={"duckdb": DuckDBResource(database=str(tmp_path / "warehouse.duckdb"))},
        )
    # then one line names the counts (an upsert's unchanged rows too)
    assert result.success
    assert "salesforce_opportunities: received 3, loaded 3, quarantined 0, unchanged 0" in messages



@pytest.mark.parametrize(
    ("instance_url", "failing", "expected"),
    [
        pytest.param("http://127.0.0.1:9", False, "Salesforce could not be reached at http://127.0.0.1:9 "
                     "(ConnectionError): check SALESFORCE_INSTANCE_URL", id="closed port"),
        pytest.param(None, True, f"Salesforce GET {API}/sobjects/Opportunity/describe: kept failing after retries "
                     "(HTTP 500): Salesforce is having trouble; run again later", id="500 after retries"),
    ],
)
def test_an_outage_is_a_clear_error_naming_what_to_do(instance_url: str | None, failing: bool, expected: str) -> None:
    with FakeApiServer() as server:
        _org(1).register(server)
        if failing:
            server.inject(f"{API}/sobjects", *[FakeResponse(500, [{"errorCode": "SERVER_ERROR"}])] * 10)
        client = SalesforceClient(
            instance_url or server.base_url, "sf-t0k", make_session(total_retries=2, backoff_factor=0.01)
        )
        with pytest.raises(SalesforceError) as raised:
            client.opportunity_fields()
    assert str(raised.value) == expected


def test_a_redirect_is_not_followed_and_names_the_instance_url_setting() -> None:
    # given an instance URL that redirects (a My Domain that moved, or a hostile server)
    with FakeApiServer() as elsewhere, FakeApiServer() as server:
        _org(1).register(server)
        server.inject(f"{API}/sobjects", FakeResponse(301, None, {"Location": elsewhere.base_url + API}))
        # when
        with pytest.raises(SalesforceError) as raised:
            _client(server).opportunity_fields()
        # then
        assert elsewhere.requests == []
    assert str(raised.value).startswith(f"Salesforce GET {API}/sobjects/Opportunity/describe: answered with a "
                                        "redirect (HTTP 301)")
    assert "SALESFORCE_INSTANCE_URL" in str(raised.value)


def test_a_next_records_url_outside_the_rest_api_is_not_followed() -> None:
    # given a first batch whose nextRecordsUrl would make instance URL + it point at another host
    with FakeApiServer() as elsewhere, FakeApiServer() as server:
        _org(1).register(server)
        other_host = elsewhere.base_url.removeprefix("http://")
        first_batch = {"totalSize": 2, "done": False, "records": [], "nextRecordsUrl": f"@{other_host}/steal"}
        server.inject(f"{API}/queryAll", FakeResponse(200, first_batch))
        # when
        with pytest.raises(SalesforceError) as raised:
            list(_client(server).iter_opportunities_modified_since(None, with_currency=True))
        # then
        assert elsewhere.requests == []
    assert str(raised.value) == (
        "query answered a nextRecordsUrl outside /services/data/: not followed (it would carry the token)"
    )
