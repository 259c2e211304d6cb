"""Pandera model of the raw Salesforce opportunity table."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa

OPPORTUNITY_COLUMNS: dict[str, str] = {
    "id": "varchar not null",
    "account_id": "varchar",
    "name": "varchar",
    "amount": "decimal(38, 10)",
    "currency_iso_code": "varchar",
    "org_currency_iso_code": "varchar",
    "close_date": "date",
    "stage_name": "varchar",
    "is_won": "boolean",
    "is_closed": "boolean",
    "is_deleted": "boolean not null",
    "last_modified_date": "timestamp",
    "system_modstamp": "timestamp not null",
    "_record_hash": "varchar not null",
    "_extracted_at": "timestamp not null",
    "_superseded_at": "timestamp",
}


class SalesforceOpportunityRaw(pa.DataFrameModel):
    """One opportunity as last seen: an id, a modification stamp, a non-negative amount if any."""

    id: str = pa.Field(str_length={"min_value": 1})
    amount: float = pa.Field(nullable=True, ge=0)
    currency_iso_code: str = pa.Field(nullable=True, str_matches=r"^[A-Z]{3}$")
    close_date: dt.date = pa.Field(nullable=True)
    is_won: bool = pa.Field(nullable=True)
    is_deleted: bool = pa.Field()
    system_modstamp: dt.datetime = pa.Field()

    class Config:
        coerce = True
