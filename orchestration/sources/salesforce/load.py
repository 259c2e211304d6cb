"""Sync Salesforce opportunities into `raw.salesforce_opportunities` (upsert by id).

A sync is two steps so the warehouse is not locked while waiting on Salesforce (requests retry,
and a `Retry-After` can be minutes): `fetch_salesforce` reads every opportunity changed since a
given high-water mark over the network, with no warehouse connection, into memory (a CRM's
changed opportunities are few); `write_salesforce` then validates, quarantines and upserts them
and advances the mark in one transaction. The asset reads the mark and writes in two short
connections around the fetch; `sync_salesforce` runs both steps on one connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb

from orchestration.loading import (
    LoadReport,
    RawTable,
    check_high_water_mark_unmoved,
    read_high_water_mark,
    stage_text_records,
    upsert_records,
    utc_timestamp_sql,
)
from orchestration.sources.salesforce.client import SalesforceClient, parse_timestamp
from orchestration.sources.salesforce.schemas import OPPORTUNITY_COLUMNS, SalesforceOpportunityRaw

OPPORTUNITIES = RawTable(
    source="salesforce", name="salesforce_opportunities", columns=OPPORTUNITY_COLUMNS, model=SalesforceOpportunityRaw
)
# A transaction that commits late can stamp a row slightly before rows already read: re-read
# five minutes before the high-water mark (upserts by id make the overlap free).
OVERLAP = timedelta(minutes=5)

FIELDS = (
    "id", "account_id", "name", "amount", "currency_iso_code", "org_currency_iso_code", "close_date", "stage_name",
    "is_won", "is_closed", "is_deleted", "last_modified_date", "system_modstamp",
)

TYPED_SQL = f"""
create or replace temp table _salesforce_candidates as
with typed as (
    select
        _row_id,
        _raw_record,
        md5(_raw_record) as _record_hash,
        nullif(id, '') as id,
        nullif(account_id, '') as account_id,
        nullif(name, '') as name,
        nullif(amount, '') as amount_text,
        try_cast(nullif(amount, '') as decimal(38, 10)) as amount,
        upper(nullif(currency_iso_code, '')) as currency_iso_code,
        upper(nullif(org_currency_iso_code, '')) as org_currency_iso_code,
        nullif(close_date, '') as close_date_text,
        try_cast(nullif(close_date, '') as date) as close_date,
        nullif(stage_name, '') as stage_name,
        case lower(is_won) when 'true' then true when 'false' then false end as is_won,
        case lower(is_closed) when 'true' then true when 'false' then false end as is_closed,
        coalesce(lower(is_deleted) = 'true', false) as is_deleted,
        {utc_timestamp_sql("nullif(last_modified_date, '')")} as last_modified_date,
        nullif(system_modstamp, '') as modstamp_text,
        {utc_timestamp_sql("nullif(system_modstamp, '')")} as system_modstamp
    from _salesforce_records
)

select
    * exclude (amount_text, close_date_text, modstamp_text),
    coalesce(
        case when id is null then 'Id: missing' end,
        case when modstamp_text is null then 'SystemModstamp: missing' end,
        case when system_modstamp is null then 'SystemModstamp: ' || modstamp_text || ' is not a timestamp' end,
        case when amount_text is not null and amount is null then 'Amount: ' || amount_text || ' is not a number' end,
        case when close_date_text is not null and close_date is null
            then 'CloseDate: ' || close_date_text || ' is not a date' end
    ) as _reject_reason
from typed
"""


@dataclass
class SalesforceChanges:
    """What one fetch read, held in memory until it is written: text records ready to stage."""

    stored_mark: datetime | None  # the high-water mark the fetch started from
    records: list[dict[str, Any]]  # latest version of each opportunity, deleted ones included
    high_water_mark: datetime | None  # the latest SystemModstamp read (or `stored_mark`)


def _record(opportunity: dict[str, Any], org_currency: str | None) -> dict[str, Any]:
    return {
        "id": opportunity.get("Id"),
        "account_id": opportunity.get("AccountId"),
        "name": opportunity.get("Name"),
        "amount": opportunity.get("Amount"),
        "currency_iso_code": opportunity.get("CurrencyIsoCode"),
        "org_currency_iso_code": org_currency,
        "close_date": opportunity.get("CloseDate"),
        "stage_name": opportunity.get("StageName"),
        "is_won": opportunity.get("IsWon"),
        "is_closed": opportunity.get("IsClosed"),
        "is_deleted": opportunity.get("IsDeleted", False),
        "last_modified_date": opportunity.get("LastModifiedDate"),
        "system_modstamp": opportunity.get("SystemModstamp"),
    }


def fetch_salesforce(
    client: SalesforceClient,
    stored_mark: datetime | None,
    progress: Callable[[str], None] = lambda message: None,
) -> SalesforceChanges:
    """Read opportunities changed since `stored_mark` (less the overlap), deleted ones too.

    Network only: no warehouse connection is needed or held. The high-water mark moves to the
    latest `SystemModstamp` read.
    """
    since = stored_mark - OVERLAP if stored_mark is not None else None
    with_currency = "CurrencyIsoCode" in client.opportunity_fields()
    org_currency = client.default_currency()
    latest: dict[str, dict[str, Any]] = {}
    high_water_mark = stored_mark
    for opportunity in client.iter_opportunities_modified_since(since, with_currency=with_currency):
        record = _record(opportunity, org_currency)
        latest[str(record["id"])] = record  # ordered by SystemModstamp: the last copy is the latest
        try:
            modified = parse_timestamp(record["system_modstamp"]).replace(tzinfo=None)
        except (TypeError, ValueError):
            continue
        high_water_mark = modified if high_water_mark is None else max(high_water_mark, modified)
    progress(
        f"Salesforce: {len(latest)} opportunities modified since {since or 'the beginning'} "
        f"({'multi-currency' if with_currency else f'single currency {org_currency}'})"
    )
    return SalesforceChanges(stored_mark=stored_mark, records=list(latest.values()), high_water_mark=high_water_mark)


def write_salesforce(conn: duckdb.DuckDBPyConnection, changes: SalesforceChanges) -> tuple[LoadReport, datetime | None]:
    """Validate, quarantine and upsert fetched `changes`, advancing the high-water mark in the same transaction.

    Records equal to the stored ones are left alone, so writing a fetch with no changes changes
    nothing; a failed write leaves the mark where it was.

    Raises:
        RuntimeError: Another sync moved the stored mark after this fetch read it (its versions
            may be newer than the fetched ones); nothing is written, and the next run catches up.
    """
    check_high_water_mark_unmoved(conn, OPPORTUNITIES, changes.stored_mark, "Salesforce")
    conn.execute("set TimeZone = 'UTC'")
    stage_text_records(conn, "_salesforce_records", changes.records, FIELDS)
    conn.execute(TYPED_SQL)
    report = upsert_records(
        conn, table=OPPORTUNITIES, candidates="_salesforce_candidates", key="id",
        high_water_mark=changes.high_water_mark,
    )
    return report, changes.high_water_mark


def sync_salesforce(
    conn: duckdb.DuckDBPyConnection,
    client: SalesforceClient,
    progress: Callable[[str], None] = lambda message: None,
) -> tuple[LoadReport, datetime | None]:
    """Read opportunities changed since the stored high-water mark (deleted ones too) and upsert them.

    `fetch_salesforce` then `write_salesforce` on one connection, held open during the fetch: for
    tests and scripts. The asset opens the warehouse only to read the mark and to write.
    """
    return write_salesforce(conn, fetch_salesforce(client, read_high_water_mark(conn, OPPORTUNITIES), progress))
