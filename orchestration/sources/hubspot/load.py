"""Sync HubSpot deals into `raw.hubspot_deals` and `raw.hubspot_deal_companies` (upsert by id).

A sync is two steps so the warehouse is not locked while waiting on HubSpot (requests retry, and a
429's `Retry-After` can be minutes): `fetch_hubspot` reads everything that changed since a given
high-water mark over the network, with no warehouse connection, into memory (a CRM's changed deals
are few); `write_hubspot` then validates, quarantines and upserts them and advances the mark in
one transaction. The asset reads the mark and writes in two short connections around the fetch;
`sync_hubspot` runs both steps on one connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb

from orchestration.loading import (
    LoadReport,
    RawTable,
    check_high_water_mark_unmoved,
    ensure_table,
    read_high_water_mark,
    stage_text_records,
    upsert_records,
    utc_timestamp_sql,
)
from orchestration.sources.hubspot.client import EPOCH_MS_PATTERN, HubSpotClient, parse_timestamp
from orchestration.sources.hubspot.schemas import (
    DEAL_COLUMNS,
    DEAL_COMPANY_COLUMNS,
    HubSpotDealCompaniesRaw,
    HubSpotDealRaw,
)

DEALS = RawTable(source="hubspot", name="hubspot_deals", columns=DEAL_COLUMNS, model=HubSpotDealRaw)
DEAL_COMPANIES = RawTable(
    source="hubspot", name="hubspot_deal_companies", columns=DEAL_COMPANY_COLUMNS, model=HubSpotDealCompaniesRaw
)
# Search results lag writes by a few seconds and a deal saved while a sync runs may carry an earlier
# timestamp than the last one read: re-read five minutes before the high-water mark (upserts by id
# make the overlap free).
OVERLAP = timedelta(minutes=5)

DEAL_FIELDS = (
    "id", "dealname", "amount", "deal_currency_code", "closedate", "dealstage", "pipeline", "hs_is_closed_won",
    "hs_lastmodifieddate", "created_at", "archived", "archived_at", "merged_into_id",
)
COMPANY_FIELDS = ("deal_id", "company_ids", "primary_company_id")


def _hubspot_timestamp(column: str) -> str:
    """SQL reading a HubSpot datetime property as a naive UTC timestamp, as `parse_timestamp` does."""
    text = f"nullif(trim({column}), '')"
    return (
        f"case when regexp_full_match({text}, '{EPOCH_MS_PATTERN}') then make_timestamp({text}::bigint * 1000) "
        f"else {utc_timestamp_sql(text)} end"
    )


TYPED_DEALS_SQL = f"""
create or replace temp table _hubspot_deal_candidates as
with typed as (
    select
        _row_id,
        _raw_record,
        md5(_raw_record) as _record_hash,
        nullif(id, '') as id,
        nullif(dealname, '') as dealname,
        nullif(amount, '') as amount_text,
        try_cast(nullif(amount, '') as decimal(38, 10)) as amount,
        upper(nullif(deal_currency_code, '')) as deal_currency_code,
        nullif(closedate, '') as closedate_text,
        {_hubspot_timestamp('closedate')} as closedate,
        nullif(dealstage, '') as dealstage,
        nullif(pipeline, '') as pipeline,
        case lower(nullif(hs_is_closed_won, ''))
            when 'true' then true when 'false' then false
        end as hs_is_closed_won,
        nullif(hs_lastmodifieddate, '') as modified_text,
        {_hubspot_timestamp('hs_lastmodifieddate')} as hs_lastmodifieddate,
        {utc_timestamp_sql("nullif(created_at, '')")} as created_at,
        coalesce(lower(archived) = 'true', false) as archived,
        {utc_timestamp_sql("nullif(archived_at, '')")} as archived_at,
        -- set by the fetch for a deal it read before the deal was merged away (`_apply_merges`)
        nullif(merged_into_id, '') as merged_into_id
    from _hubspot_deal_records
)

select
    * exclude (amount_text, closedate_text, modified_text),
    coalesce(
        case when id is null then 'id: missing' end,
        case when modified_text is null then 'hs_lastmodifieddate: missing' end,
        case when hs_lastmodifieddate is null
            then 'hs_lastmodifieddate: ' || modified_text || ' is not a timestamp' end,
        case when amount_text is not null and amount is null then 'amount: ' || amount_text || ' is not a number' end,
        case when closedate_text is not null and closedate is null
            then 'closedate: ' || closedate_text || ' is not a timestamp' end
    ) as _reject_reason
from typed
"""

# A stored deal merged into another becomes a candidate of its own: its stored version, archived
# since the merge and naming the deal it went into. HubSpot never returns it again, so this is its
# last version; one already marked so is left alone.
MERGED_DEALS_SQL = f"""
insert into _hubspot_deal_candidates by name
select
    (select coalesce(max(_row_id), 0) from _hubspot_deal_candidates)
        + row_number() over (order by stored.id) as _row_id,
    json_object('id', stored.id, 'merged_into_id', merges.merged_into_id, 'merged_at', merges.merged_at)::varchar
        as _raw_record,
    md5(stored._record_hash || ' merged into ' || merges.merged_into_id) as _record_hash,
    stored.* exclude (archived, archived_at, merged_into_id, _record_hash, _extracted_at, _superseded_at),
    true as archived,
    coalesce(stored.archived_at, {_hubspot_timestamp('merges.merged_at')}) as archived_at,
    merges.merged_into_id,
    cast(null as varchar) as _reject_reason
from {DEALS.qualified} as stored
inner join _hubspot_merges as merges on stored.id = merges.id
where stored.merged_into_id is distinct from merges.merged_into_id
    and stored.id not in (select id from _hubspot_deal_candidates where id is not null)
"""

TYPED_COMPANIES_SQL = """
create or replace temp table _hubspot_company_candidates as
select
    _row_id,
    _raw_record,
    md5(_raw_record) as _record_hash,
    deal_id,
    case when coalesce(company_ids, '') = '' then []::varchar[] else string_split(company_ids, ',') end
        as company_ids,
    nullif(primary_company_id, '') as primary_company_id
from _hubspot_company_records
"""


@dataclass
class HubSpotSync:
    """What one sync did, per raw table."""

    deals: LoadReport
    companies: LoadReport
    high_water_mark: datetime | None


@dataclass
class HubSpotChanges:
    """What one fetch read, held in memory until it is written: text records ready to stage."""

    stored_mark: datetime | None  # the high-water mark the fetch started from
    deals: list[dict[str, Any]]  # latest version of each deal, archived deals included
    companies: list[dict[str, Any]]  # one per searched deal: its company ids, comma-separated
    high_water_mark: datetime | None  # the latest modification time read by search (or `stored_mark`)
    # stored deals merged into a fetched one (`hs_merged_object_ids`): id, merged_into_id, merged_at
    merges: list[dict[str, Any]] = field(default_factory=list)


def _deal_record(deal: dict[str, Any]) -> dict[str, Any]:
    properties = deal.get("properties") or {}
    return {
        "id": deal.get("id"),
        "dealname": properties.get("dealname"),
        "amount": properties.get("amount"),
        "deal_currency_code": properties.get("deal_currency_code"),
        "closedate": properties.get("closedate"),
        "dealstage": properties.get("dealstage"),
        "pipeline": properties.get("pipeline"),
        "hs_is_closed_won": properties.get("hs_is_closed_won"),
        "hs_lastmodifieddate": properties.get("hs_lastmodifieddate") or deal.get("updatedAt"),
        "created_at": deal.get("createdAt"),
        "archived": bool(deal.get("archived", False)),
        "archived_at": deal.get("archivedAt"),
        "merged_into_id": None,
    }


def _merges_listed(deal: dict[str, Any], record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The deals merged into `deal` (its `hs_merged_object_ids`, its own id left out), by id."""
    listed = ((deal.get("properties") or {}).get("hs_merged_object_ids") or "").split(";")
    merged_ids = {deal_id.strip() for deal_id in listed} - {"", str(deal.get("id"))}
    return {
        merged_id: {"id": merged_id, "merged_into_id": record["id"], "merged_at": record["hs_lastmodifieddate"]}
        for merged_id in merged_ids
    }


def _apply_merges(latest: dict[str, dict[str, Any]], merged_into: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Archive the fetched deals merged into another; return the merges of deals not fetched.

    A deal read before it was merged away (on an earlier page of this sync) is merged all the same
    unless it was modified after the deal that lists it: HubSpot returns it no more, so this fetch
    is its last chance. The merges returned apply to stored deals (`MERGED_DEALS_SQL`).
    """
    not_fetched = []
    for merged_id, merge in merged_into.items():
        record = latest.get(merged_id)
        if record is None:
            not_fetched.append(merge)
            continue
        merged_at, modified = _modified({"hs_lastmodifieddate": merge["merged_at"]}), _modified(record)
        if merged_at is None or (modified is not None and modified > merged_at):
            continue  # changed after the deal that lists it: still a deal of its own
        record.update(
            archived=True,
            archived_at=record["archived_at"] or merge["merged_at"],
            merged_into_id=merge["merged_into_id"],
        )
    return not_fetched


def _modified(record: dict[str, Any]) -> datetime | None:
    value = record.get("hs_lastmodifieddate")
    try:
        return parse_timestamp(value) if value else None
    except ValueError:
        return None


def fetch_hubspot(
    client: HubSpotClient,
    stored_mark: datetime | None,
    progress: Callable[[str], None] = lambda message: None,
) -> HubSpotChanges:
    """Read what changed since `stored_mark` (less the overlap), archived deals and their companies.

    Network only: no warehouse connection is needed or held. Deals come back more than once (the
    overlap, a restarted search); the latest version of each id is kept. The high-water mark moves
    to the latest modification time read by search.
    """
    since = stored_mark - OVERLAP if stored_mark is not None else None
    latest: dict[str, dict[str, Any]] = {}
    merged_into: dict[str, dict[str, Any]] = {}
    high_water_mark = stored_mark
    for deal in client.iter_deals_modified_since(since):
        record = _deal_record(deal)
        merged_into.update(_merges_listed(deal, record))
        modified = _modified(record)
        key = str(record["id"])
        previous = latest.get(key)
        previous_modified = _modified(previous) if previous is not None else None
        if previous is None or (modified is not None and (previous_modified is None or modified >= previous_modified)):
            latest[key] = record
        if modified is not None:
            naive = modified.replace(tzinfo=None)
            high_water_mark = naive if high_water_mark is None else max(high_water_mark, naive)
    searched = [deal_id for deal_id, record in latest.items() if record["id"]]
    archived = 0
    for deal in client.iter_archived_deals():
        record = _deal_record(deal)
        # a deal merged into one deleted since: both are gone
        merged_into.update(_merges_listed(deal, record))
        latest[str(record["id"])] = record
        archived += 1
    merges = _apply_merges(latest, merged_into)
    progress(
        f"HubSpot: {len(searched)} deals modified since {since or 'the beginning'}, {archived} archived, "
        f"{len(merges)} merged into another"
    )

    companies = client.deal_companies(searched)
    company_records = [
        {
            "deal_id": deal_id,
            "company_ids": ",".join(entry["company_id"] for entry in entries),
            "primary_company_id": next((e["company_id"] for e in entries if e["is_primary"]), None),
        }
        for deal_id, entries in companies.items()
    ]
    return HubSpotChanges(
        stored_mark=stored_mark,
        deals=list(latest.values()),
        companies=company_records,
        high_water_mark=high_water_mark,
        merges=merges,
    )


def write_hubspot(conn: duckdb.DuckDBPyConnection, changes: HubSpotChanges) -> HubSpotSync:
    """Validate, quarantine and upsert fetched `changes`, advancing the high-water mark in the same transaction.

    Records equal to the stored ones are left alone, so writing a fetch with no changes changes
    nothing. A stored deal merged into another is archived, naming that deal (`merged_into_id`):
    HubSpot no longer returns it, and left live it would count its amount beside the deal that
    absorbed it. The companies are written first: the deals' transaction, which moves the mark, is the
    last step, so a failed write leaves the mark where it was and the next sync reads it all again.

    Raises:
        RuntimeError: Another sync moved the stored mark after this fetch read it (its versions
            may be newer than the fetched ones); nothing is written, and the next run catches up.
    """
    check_high_water_mark_unmoved(conn, DEALS, changes.stored_mark, "HubSpot")
    conn.execute("set TimeZone = 'UTC'")
    stage_text_records(conn, "_hubspot_deal_records", changes.deals, DEAL_FIELDS)
    conn.execute(TYPED_DEALS_SQL)
    ensure_table(conn, DEALS)
    conn.execute(
        "create or replace temp table _hubspot_merges (id varchar, merged_into_id varchar, merged_at varchar)"
    )
    if changes.merges:
        conn.executemany(
            "insert into _hubspot_merges values (?, ?, ?)",
            [[merge["id"], merge["merged_into_id"], merge["merged_at"]] for merge in changes.merges],
        )
        conn.execute(MERGED_DEALS_SQL)
    stage_text_records(conn, "_hubspot_company_records", changes.companies, COMPANY_FIELDS)
    conn.execute(TYPED_COMPANIES_SQL)
    company_report = upsert_records(conn, table=DEAL_COMPANIES, candidates="_hubspot_company_candidates", key="deal_id")
    deal_report = upsert_records(
        conn, table=DEALS, candidates="_hubspot_deal_candidates", key="id", high_water_mark=changes.high_water_mark
    )
    return HubSpotSync(deals=deal_report, companies=company_report, high_water_mark=changes.high_water_mark)


def sync_hubspot(
    conn: duckdb.DuckDBPyConnection,
    client: HubSpotClient,
    progress: Callable[[str], None] = lambda message: None,
) -> HubSpotSync:
    """Read what changed since the stored high-water mark and upsert it; list archived deals.

    `fetch_hubspot` then `write_hubspot` on one connection, held open during the fetch: for tests
    and scripts. The asset opens the warehouse only to read the mark and to write.
    """
    return write_hubspot(conn, fetch_hubspot(client, read_high_water_mark(conn, DEALS), progress))
