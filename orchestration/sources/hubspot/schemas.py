"""Pandera models of the raw HubSpot tables (polars backend, as every raw gate)."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa

DEAL_COLUMNS: dict[str, str] = {
    "id": "varchar not null",
    "dealname": "varchar",
    "amount": "decimal(38, 10)",
    "deal_currency_code": "varchar",
    "closedate": "timestamp",
    "dealstage": "varchar",
    "pipeline": "varchar",
    "hs_is_closed_won": "boolean",
    "hs_lastmodifieddate": "timestamp not null",
    "created_at": "timestamp",
    "archived": "boolean not null",
    "archived_at": "timestamp",
    # the deal it was merged into: set with `archived` when a deal is merged away
    "merged_into_id": "varchar",
    "_record_hash": "varchar not null",
    "_extracted_at": "timestamp not null",
    "_superseded_at": "timestamp",
}

DEAL_COMPANY_COLUMNS: dict[str, str] = {
    "deal_id": "varchar not null",
    "company_ids": "varchar[] not null",
    "primary_company_id": "varchar",
    "_record_hash": "varchar not null",
    "_extracted_at": "timestamp not null",
}


class HubSpotDealRaw(pa.DataFrameModel):
    """One HubSpot deal as last seen: an id, a modification time, a non-negative amount if any."""

    id: str = pa.Field(str_length={"min_value": 1})
    amount: float = pa.Field(nullable=True, ge=0)
    deal_currency_code: str = pa.Field(nullable=True, str_matches=r"^[A-Z]{3}$")
    closedate: dt.datetime = pa.Field(nullable=True)
    hs_is_closed_won: bool = pa.Field(nullable=True)
    hs_lastmodifieddate: dt.datetime = pa.Field()
    archived: bool = pa.Field()

    class Config:
        coerce = True


class HubSpotDealCompaniesRaw(pa.DataFrameModel):
    """The companies of one deal, each listed once."""

    deal_id: str = pa.Field(str_length={"min_value": 1})
    primary_company_id: str = pa.Field(nullable=True)

    class Config:
        coerce = True
