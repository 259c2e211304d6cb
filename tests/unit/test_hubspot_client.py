"""HubSpot source against the fake HubSpot API on a local server: paging, the 10,000 ceiling, 429s, upserts."""

import os
import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from orchestration.demo.apis.hubspot import PRIMARY, UNLABELED, FakeHubSpot
from orchestration.demo.server import FakeApiServer, FakeResponse
from orchestration.http import make_session
from orchestration.sources.hubspot.assets import hubspot_deals
from orchestration.sources.hubspot.client import HubSpotClient, HubSpotError, epoch_ms, parse_timestamp
from orchestration.sources.hubspot.load import fetch_hubspot, sync_hubspot, write_hubspot
from tests.unit.run_logs import materialize_logged
from tests.unit.warehouse_lock import open_read_write_elsewhere

T0 = datetime(2026, 5, 1, tzinfo=UTC)
SEARCH = "/crm/v3/objects/deals/search"


def _fake_with(n: int, **kwargs) -> FakeHubSpot:
    fake = FakeHubSpot(token="t0k", **kwargs)
    for i in range(n):
        fake.add_deal(
            str(1000 + i),
            amount="100.00",
            closedate=T0 + timedelta(hours=i),
            modified_at=T0 + timedelta(minutes=i),
            companies={"77": [PRIMARY, UNLABELED]},
        )
    return fake


def _client(server: FakeApiServer, **kwargs) -> HubSpotClient:
    return HubSpotClient("t0k", server.base_url, make_session(backoff_factor=0.01), **kwargs)


def gte_ms(body: dict) -> int:
    """The instant a search body asks from (its hs_lastmodifieddate GTE filter)."""
    (condition,) = body["filterGroups"][0]["filters"]
    assert (condition["propertyName"], condition["operator"]) == ("hs_lastmodifieddate", "GTE")
    return int(condition["value"])


def test_each_page_is_a_new_search_from_the_last_instant_read() -> None:
    # given 450 deals modified a minute apart and the search page size of 200
    with FakeApiServer() as server:
        _fake_with(450).register(server)
        # when
        deals = list(_client(server).iter_deals_modified_since(None))
    # then three searches, each from the last modification instant of the page before (that
    # deal comes twice), and every deal arrived in modification order
    bodies = [r.json() for r in server.requests_to(SEARCH)]
    assert [(b["after"], gte_ms(b)) for b in bodies] == [
        ("0", 0), ("0", epoch_ms(T0 + timedelta(minutes=199))), ("0", epoch_ms(T0 + timedelta(minutes=398))),
    ]
    assert [d["id"] for d in deals] == [str(1000 + i) for i in [*range(200), *range(199, 399), *range(398, 450)]]
    assert all(r.headers["authorization"] == "Bearer t0k" for r in server.requests_to(SEARCH))


def test_a_deal_edited_while_the_sync_pages_skips_no_other_deal() -> None:
    # given 450 deals; while the sync reads, a user edits deal 1005 (already read) and deal 1300
    fake = _fake_with(450)

    def users_edit(search: int) -> None:
        if search == 2:
            fake.edit("1005", T0 + timedelta(days=30), amount="999.00")
        if search == 3:
            fake.edit("1300", T0 + timedelta(days=31), amount="5.00")

    fake.before_search = users_edit
    conn = duckdb.connect()
    with FakeApiServer() as server:
        fake.register(server)
        # when the sync runs
        sync_hubspot(conn, _client(server))
    # then every deal is loaded, the edited ones as edited (an offset cursor skipped deal 1200:
    # the edit moved deal 1005 to the end, and every later deal one place up)
    rows = dict(conn.execute("select id, amount from raw.hubspot_deals").fetchall())
    assert len(rows) == 450
    assert (rows["1005"], rows["1300"], rows["1200"]) == (Decimal("999"), Decimal("5"), Decimal("100"))


def _filters(body: dict) -> list[tuple]:
    """A search body's filters and sort, compactly: [(property, operator, value), …, ("sort", property)]."""
    (group,) = body["filterGroups"]
    (sort,) = body["sorts"]
    assert (body["after"], sort["direction"]) == ("0", "ASCENDING")
    filters = [(f["propertyName"], f["operator"], int(f["value"])) for f in group["filters"]]
    return [*filters, ("sort", sort["propertyName"])]


def _one_instant_fake(n: int, **kwargs) -> FakeHubSpot:
    fake = FakeHubSpot(token="t0k", **kwargs)
    for i in range(n):  # a bulk update: n deals share one modification instant
        fake.add_deal(str(1000 + i), amount="1", closedate=T0, modified_at=T0)
    return fake


def test_deals_sharing_one_instant_are_read_in_id_order_past_the_last_id() -> None:
    # given 450 deals modified at one instant, then one a minute later
    fake = _one_instant_fake(450)
    fake.add_deal("2000", amount="1", closedate=T0, modified_at=T0 + timedelta(minutes=1))
    with FakeApiServer() as server:
        fake.register(server)
        deals = list(_client(server).iter_deals_modified_since(T0))
    # then the instant is read by id, each page a new search past the last id read, then the
    # search goes on after the instant; every deal arrives (the first page's ones twice)
    t0 = epoch_ms(T0)
    at_t0 = ("hs_lastmodifieddate", "EQ", t0)
    by_id = ("sort", "hs_object_id")
    assert [_filters(r.json()) for r in server.requests_to(SEARCH)] == [
        [("hs_lastmodifieddate", "GTE", t0), ("sort", "hs_lastmodifieddate")],
        [at_t0, by_id],
        [at_t0, ("hs_object_id", "GT", 1199), by_id],
        [at_t0, ("hs_object_id", "GT", 1399), by_id],
        [("hs_lastmodifieddate", "GT", t0), ("sort", "hs_lastmodifieddate")],
    ]
    assert sorted({d["id"] for d in deals}) == sorted([str(1000 + i) for i in range(450)] + ["2000"])
    assert len(deals) == 451 + 200


def test_a_deal_edited_while_the_sync_reads_one_instant_skips_no_other_deal() -> None:
    # given 450 deals of one instant; before the third search a user edits deal 1005 (already read)
    fake = _one_instant_fake(450)

    def users_edit(search: int) -> None:
        if search == 3:
            fake.edit("1005", T0 + timedelta(days=1), amount="2")

    fake.before_search = users_edit
    conn = duckdb.connect()
    with FakeApiServer() as server:
        fake.register(server)
        # when the sync runs
        sync_hubspot(conn, _client(server))
    # then every deal is loaded, deal 1005 as edited, and the mark is its new instant (paging by
    # offset within the instant skipped deal 1200 for good: the edit moved every later deal up)
    rows = dict(conn.execute("select id, amount from raw.hubspot_deals").fetchall())
    assert sorted(rows) == sorted(fake.deals)
    assert (rows["1005"], rows["1200"]) == (Decimal("2"), Decimal("1"))
    assert conn.execute("select high_water_mark from raw._sync_state").fetchone()[0] == datetime(2026, 5, 2)


def test_more_deals_at_one_instant_than_the_search_ceiling_all_arrive() -> None:
    # given a portal whose search ceiling is 400 results, and 450 deals of one instant
    fake = _one_instant_fake(450, search_result_limit=400)
    with FakeApiServer() as server:
        fake.register(server)
        # when
        deals = list(_client(server).iter_deals_modified_since(None))
    # then every deal arrives, and no search paged by offset (HubSpot answers 400 at the ceiling)
    assert {d["id"] for d in deals} == set(fake.deals)
    assert {r.json()["after"] for r in server.requests_to(SEARCH)} == {"0"}


def _deal(deal_id: str, modified: str) -> dict:
    """A search result as HubSpot renders it, with `modified` as hs_lastmodifieddate whatever it holds."""
    properties = {"amount": "10", "closedate": "2026-05-14T17:02:11.312Z", "dealstage": "closedwon",
                  "hs_lastmodifieddate": modified, "hs_object_id": deal_id}
    return {"id": deal_id, "properties": properties, "createdAt": "2026-04-01T12:00:00Z",
            "updatedAt": "2026-05-15T08:30:00.120Z", "archived": False}


def test_a_deal_with_an_unreadable_modification_time_is_quarantined_and_the_others_load() -> None:
    # given four deals a minute apart, the second rendering an hs_lastmodifieddate that is no time,
    # read two to a page (so the client looks at the page's times to know where to go on from)
    fake = _fake_with(4)
    fake.deals["1001"].modified_text = "not-a-date"
    conn = duckdb.connect()
    with FakeApiServer() as server:
        fake.register(server)
        # when
        report = sync_hubspot(conn, _client(server, page_size=2))
    # then that deal is quarantined with its reason, the others load, and the mark is the latest
    # readable time
    assert (report.deals.received, report.deals.loaded, report.deals.quarantined) == (4, 3, 1)
    loaded = conn.execute("select id from raw.hubspot_deals order by id").fetchall()
    assert [row[0] for row in loaded] == ["1000", "1002", "1003"]
    assert conn.execute("select reason from raw.quarantine where entity = 'hubspot_deals'").fetchall() == [
        ("hs_lastmodifieddate: not-a-date is not a timestamp",)
    ]
    assert conn.execute("select high_water_mark from raw._sync_state").fetchone()[0] == datetime(2026, 5, 1, 0, 3)


def test_datetimes_written_as_epoch_milliseconds_are_read_as_iso_ones_are() -> None:
    # given four deals a minute apart whose closedate and hs_lastmodifieddate render as epoch
    # milliseconds (as HubSpot's API reference shows them), read two to a page
    fake = _fake_with(4)
    for deal in fake.deals.values():
        deal.modified_text = str(epoch_ms(deal.modified_at))
        deal.properties["closedate"] = str(epoch_ms(datetime.fromisoformat(deal.properties["closedate"])))
    conn = duckdb.connect()
    with FakeApiServer() as server:
        fake.register(server)
        # when
        report = sync_hubspot(conn, _client(server, page_size=2))
    # then every deal loads with its times, and the mark is the latest modification
    assert (report.deals.received, report.deals.loaded, report.deals.quarantined) == (4, 4, 0)
    rows = conn.execute("select id, closedate, hs_lastmodifieddate from raw.hubspot_deals order by id").fetchall()
    assert rows == [
        (str(1000 + i), datetime(2026, 5, 1, i), datetime(2026, 5, 1, 0, i)) for i in range(4)
    ]
    assert conn.execute("select high_water_mark from raw._sync_state").fetchone()[0] == datetime(2026, 5, 1, 0, 3)


def test_a_compact_date_or_epoch_seconds_are_not_read_as_epoch_milliseconds() -> None:
    # given deals whose closedate is eight digits (a compact date) or ten (epoch seconds), forms no
    # HubSpot API writes
    fake = _fake_with(2)
    fake.deals["1000"].properties["closedate"] = "20260514"
    fake.deals["1001"].properties["closedate"] = "1764547200"
    conn = duckdb.connect()
    with FakeApiServer() as server:
        fake.register(server)
        # when
        report = sync_hubspot(conn, _client(server))
    # then both are quarantined, not loaded as days of 1970
    assert (report.deals.loaded, report.deals.quarantined) == (0, 2)
    assert conn.execute("select reason from raw.quarantine order by reason").fetchall() == [
        ("closedate: 1764547200 is not a timestamp",), ("closedate: 20260514 is not a timestamp",)
    ]


def test_a_quarantined_edit_marks_the_stored_deal_superseded() -> None:
    # given a synced deal then edited to an amount that is no number
    fake = _fake_with(2)
    conn = duckdb.connect()
    with FakeApiServer() as server:
        fake.register(server)
        client = _client(server)
        sync_hubspot(conn, client)
        fake.edit("1000", T0 + timedelta(days=3), amount="1,000.00")
        # when
        report = sync_hubspot(conn, client)
    # then the stored version stays, marked superseded, and the mark moves past the edit
    assert (report.deals.quarantined, report.deals.extra["superseded"]) == (1, 1)
    assert conn.execute(
        "select id, amount, _superseded_at is not null from raw.hubspot_deals order by id"
    ).fetchall() == [("1000", Decimal("100"), True), ("1001", Decimal("100"), False)]
    assert conn.execute("select high_water_mark from raw._sync_state where entity = 'hubspot_deals'").fetchone()[0] == (
        T0 + timedelta(days=3)
    ).replace(tzinfo=None)


def test_a_full_page_with_no_readable_modification_time_is_a_clear_error() -> None:
    # given a search whose full page (more to come) holds no readable hs_lastmodifieddate
    page = {"results": [_deal("1", "not-a-date"), _deal("2", "")], "paging": {"next": {"after": "2"}}}
    with FakeApiServer() as server:
        server.route("POST", SEARCH, lambda request: FakeResponse(200, page))
        # when / then: no instant to search on from, so no guess (an offset could skip a deal)
        with pytest.raises(HubSpotError, match=r"no readable hs_lastmodifieddate"):
            list(_client(server, page_size=2).iter_deals_modified_since(None))


def test_a_429_is_retried_after_the_time_retry_after_names() -> None:
    # given a search limit hit on the first request
    with FakeApiServer() as server:
        _fake_with(3).register(server)
        server.inject(SEARCH, FakeResponse(429, {"status": "error", "category": "RATE_LIMITS"}, {"Retry-After": "1"}))
        started = time.monotonic()
        # when
        deals = list(_client(server).iter_deals_modified_since(None))
        elapsed = time.monotonic() - started
    # then the client waited the second HubSpot asked for, asked again and got every deal
    assert len(server.requests_to(SEARCH)) == 2
    assert elapsed >= 0.95
    assert len(deals) == 3


def test_sync_upserts_by_id_keeps_the_high_water_mark_and_a_second_sync_adds_nothing() -> None:
    # given 5 deals (one archived, one listing its company twice plus another one)
    fake = _fake_with(4)
    fake.deals["1000"].companies = {"77": [PRIMARY, UNLABELED], "78": [UNLABELED]}
    fake.add_deal("2000", amount="50", closedate=T0, modified_at=T0, archived=True, archived_at=T0 + timedelta(days=1))
    conn = duckdb.connect()
    with FakeApiServer() as server:
        fake.register(server)
        client = _client(server)
        # when
        first = sync_hubspot(conn, client)
        snapshot = conn.execute("select * from raw.hubspot_deals order by id").fetchall()
        second = sync_hubspot(conn, client)
        after_second = conn.execute("select * from raw.hubspot_deals order by id").fetchall()
        # a deal edited later (amount corrected) comes back through the overlap window
        fake.edit("1001", T0 + timedelta(days=30), amount="90.00")
        third = sync_hubspot(conn, client)
    # then
    assert (first.deals.received, first.deals.extra["inserted"]) == (5, 5)
    assert (second.deals.loaded, second.companies.loaded) == (0, 0)
    assert after_second == snapshot
    assert (third.deals.extra["updated"], third.deals.extra["inserted"]) == (1, 0)
    assert conn.execute("select amount from raw.hubspot_deals where id = '1001'").fetchone()[0] == 90
    assert conn.execute("select high_water_mark from raw._sync_state where entity = 'hubspot_deals'").fetchone()[0] == (
        T0 + timedelta(days=30)
    ).replace(tzinfo=None)
    assert conn.execute("select archived from raw.hubspot_deals where id = '2000'").fetchone()[0] is True
    companies = conn.execute(
        "select company_ids, primary_company_id from raw.hubspot_deal_companies where deal_id = '1000'"
    ).fetchone()
    assert companies == (["77", "78"], "77")
    # the second search asked from five minutes before the stored mark
    since = server.requests_to(SEARCH)[1].json()["filterGroups"][0]["filters"][0]["value"]
    assert int(since) == int((T0 + timedelta(minutes=3) - timedelta(minutes=5)).timestamp() * 1000)


def test_a_refused_token_is_a_clear_error_without_the_token() -> None:
    with FakeApiServer() as server:
        _fake_with(1).register(server)
        client = HubSpotClient("wrong-token", server.base_url, make_session())
        try:
            list(client.iter_deals_modified_since(None))
        except RuntimeError as error:
            message = str(error)
        else:
            raise AssertionError("a 401 must fail the sync")
    assert "HTTP 401" in message and "HUBSPOT_ACCESS_TOKEN" in message and "wrong-token" not in message


@pytest.mark.usefixtures("new_york_host")
def test_epoch_ms_reads_a_naive_mark_as_utc_whatever_the_host_zone() -> None:
    assert os.environ["TZ"] == "America/New_York" and time.timezone != 0  # the host is not on UTC
    # a naive high-water mark from DuckDB is UTC: 2026-05-01 12:00 UTC
    assert epoch_ms(datetime(2026, 5, 1, 12, 0)) == 1_777_636_800_000
    assert epoch_ms(datetime(2026, 5, 1, 12, 0, 0, 999_999)) == 1_777_636_800_999
    # an aware one is converted
    assert epoch_ms(datetime(2026, 5, 1, 8, 0, tzinfo=timezone(timedelta(hours=-4)))) == 1_777_636_800_000


@pytest.mark.usefixtures("new_york_host")
def test_a_time_without_an_offset_is_utc_whatever_the_host_zone() -> None:
    assert time.timezone != 0  # the host is not on UTC
    # as the loader's SQL reads it: the sync's mark and its merge order agree with the stored times
    assert parse_timestamp("2026-05-01T12:00:00.000") == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_timestamp("2026-05-01T12:00:00.000Z") == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_timestamp("2026-05-01T08:00:00-04:00") == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_timestamp("1777636800000") == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.usefixtures("new_york_host")
def test_an_incremental_sync_on_a_non_utc_host_asks_from_the_stored_mark_in_utc() -> None:
    # given a warehouse synced once (mark: the latest deal, T0 + 2 min, stored naive UTC)
    conn = duckdb.connect()
    with FakeApiServer() as server:
        _fake_with(3).register(server)
        client = _client(server)
        sync_hubspot(conn, client)
        # when
        sync_hubspot(conn, client)
    # then the second search starts five minutes before that mark, in UTC, not New York time
    since = server.requests_to(SEARCH)[1].json()["filterGroups"][0]["filters"][0]["value"]
    assert int(since) == epoch_ms(T0 + timedelta(minutes=2) - timedelta(minutes=5)) == 1_777_593_420_000


def test_the_warehouse_is_not_locked_while_the_asset_waits_on_hubspot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a warehouse file, and a portal that, before answering each search, has another process
    # open that file read-write
    db_path = tmp_path / "warehouse.duckdb"
    fake = _fake_with(3)
    errors: list[str] = []
    fake.before_search = lambda search: errors.append(open_read_write_elsewhere(db_path))
    with FakeApiServer() as server:
        fake.register(server)
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "t0k")
        monkeypatch.setenv("HUBSPOT_BASE_URL", server.base_url)
        # when the asset syncs
        result = dg.materialize([hubspot_deals], resources={"duckdb": DuckDBResource(database=str(db_path))})
    # then the other process got in during the search (no lock was held), and the sync still wrote
    assert errors == [""]
    assert result.success
    with duckdb.connect(str(db_path), read_only=True) as conn:
        assert conn.execute("select count(*) from raw.hubspot_deals").fetchone()[0] == 3
        assert conn.execute("select high_water_mark from raw._sync_state").fetchone()[0] == datetime(2026, 5, 1, 0, 2)


def test_a_write_refuses_a_fetch_that_another_sync_overtook() -> None:
    # given a fetch made from an empty warehouse, then another sync that loads and moves the mark
    fake = _fake_with(3)
    conn = duckdb.connect()
    with FakeApiServer() as server:
        fake.register(server)
        client = _client(server)
        stale = fetch_hubspot(client, None)
        fake.edit("1001", T0 + timedelta(days=2), amount="7.00")
        sync_hubspot(conn, client)
    before = conn.execute("select id, amount from raw.hubspot_deals order by id").fetchall()

    # when / then the older fetch is not written over the newer rows
    with pytest.raises(RuntimeError, match=r"HubSpot: another sync moved the raw\.hubspot_deals high-water mark"):
        write_hubspot(conn, stale)
    assert conn.execute("select id, amount from raw.hubspot_deals order by id").fetchall() == before
    assert dict(before)["1001"] == Decimal("7")


def test_the_asset_logs_received_loaded_and_quarantined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a portal with three deals
    with FakeApiServer() as server:
        _fake_with(3).register(server)
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "t0k")
        monkeypatch.setenv("HUBSPOT_BASE_URL", server.base_url)
        # when the asset syncs into an empty warehouse
        result, messages = materialize_logged(
            [hubspot_deals], resources={"duckdb": DuckDBResource(database=str(tmp_path / "warehouse.duckdb"))}
        )
    # then one line names each table's counts (an upsert's unchanged rows too)
    assert result.success
    assert (
        "hubspot_deals: received 3, loaded 3, quarantined 0, unchanged 0; "
        "hubspot_deal_companies: received 3, loaded 3, quarantined 0, unchanged 0"
    ) in messages



@pytest.mark.parametrize(
    ("base_url", "failing", "expected"),
    [
        pytest.param("http://127.0.0.1:9", False, "HubSpot could not be reached at http://127.0.0.1:9 "
                     "(ConnectionError): check HUBSPOT_BASE_URL", id="closed port"),
        pytest.param(None, True, f"HubSpot POST {SEARCH}: kept failing after retries (HTTP 500): HubSpot is having "
                     "trouble; run again later", id="500 after retries"),
    ],
)
def test_an_outage_is_a_clear_error_naming_what_to_do(base_url: str | None, failing: bool, expected: str) -> None:
    with FakeApiServer() as server:
        _fake_with(1).register(server)
        if failing:
            server.inject(SEARCH, *[FakeResponse(500, {"status": "error"})] * 10)
        client = HubSpotClient("t0k", base_url or server.base_url, make_session(total_retries=2, backoff_factor=0.01))
        with pytest.raises(HubSpotError) as raised:
            list(client.iter_deals_modified_since(None))
    assert str(raised.value) == expected


def test_a_redirect_is_not_followed_and_names_the_base_url_setting() -> None:
    # given a base URL that redirects the search elsewhere (a wrong base URL, or a hostile one)
    with FakeApiServer() as elsewhere, FakeApiServer() as server:
        _fake_with(1).register(server)
        server.inject(SEARCH, FakeResponse(307, None, {"Location": elsewhere.base_url + SEARCH}))
        # when
        with pytest.raises(HubSpotError) as raised:
            list(_client(server).iter_deals_modified_since(None))
        # then the token went nowhere else and the error says what to fix
        assert elsewhere.requests == []
    assert str(raised.value).startswith(f"HubSpot POST {SEARCH}: answered with a redirect (HTTP 307)")
    assert str(raised.value).endswith("set HUBSPOT_BASE_URL to the address the API answers at")


def test_a_deal_merged_into_another_is_archived_naming_it_and_not_counted_twice() -> None:
    # given two synced won deals of $100, then 1001 merged into 1000: HubSpot no longer returns
    # 1001 from search or the archived list, and 1000 lists it in hs_merged_object_ids
    fake = _fake_with(3)
    conn = duckdb.connect()
    with FakeApiServer() as server:
        fake.register(server)
        client = _client(server)
        sync_hubspot(conn, client)
        fake.merge("1000", "1001", T0 + timedelta(days=2))
        # when
        merged = sync_hubspot(conn, client)
        again = sync_hubspot(conn, client)
    # then 1001 keeps its stored version, archived since the merge and naming 1000; the rest stay live
    assert conn.execute("select id from raw.hubspot_deals where not archived order by id").fetchall() == [
        ("1000",), ("1002",)
    ]
    assert conn.execute(
        "select id, amount, archived, archived_at, merged_into_id from raw.hubspot_deals order by id"
    ).fetchall() == [
        ("1000", Decimal("100"), False, None, None),
        ("1001", Decimal("100"), True, (T0 + timedelta(days=2)).replace(tzinfo=None), "1000"),
        ("1002", Decimal("100"), False, None, None),
    ]
    assert (merged.deals.extra["updated"], again.deals.loaded) == (2, 0)
    # and the search asked for the property that tells it
    assert "hs_merged_object_ids" in server.requests_to(SEARCH)[-1].json()["properties"]


def test_a_merge_is_applied_when_the_merged_deal_was_read_earlier_in_the_sync_or_its_survivor_is_deleted() -> None:
    # given 450 deals read in pages of 200: while the first sync pages, 1005 (on its first page,
    # read before the merge) is merged into 1300; then 1001 is merged into 1002, which is deleted
    fake = _fake_with(450)
    conn = duckdb.connect()

    def users_merge(search: int) -> None:
        if search == 2:
            fake.merge("1300", "1005", T0 + timedelta(days=30))
            # and a later edit takes the high-water mark past the merge and its overlap
            fake.edit("1400", T0 + timedelta(days=30, hours=1))

    with FakeApiServer() as server:
        fake.register(server)
        client = _client(server)
        fake.before_search = users_merge
        # when
        sync_hubspot(conn, client)
        fake.before_search = lambda search: None
        fake.merge("1002", "1001", T0 + timedelta(days=31))
        fake.deals["1002"].archived, fake.deals["1002"].archived_at = True, T0 + timedelta(days=31, hours=1)
        sync_hubspot(conn, client)
        sync_hubspot(conn, client)
    # then no merged deal is live: each is archived naming the deal it went into
    assert conn.execute(
        "select id, archived, merged_into_id from raw.hubspot_deals where id in ('1001', '1002', '1005') order by id"
    ).fetchall() == [("1001", True, "1002"), ("1002", True, None), ("1005", True, "1300")]
    assert conn.execute("select sum(amount) from raw.hubspot_deals where not archived").fetchone()[0] == 447 * 100
