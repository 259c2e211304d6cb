"""Pandera model of a raw review label."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa

LABEL_COLUMNS: dict[str, str] = {
    "run_id": "varchar not null",
    "outcome": "varchar not null",
    "labeled_at": "timestamp not null",
    "reviewer": "varchar",
    "rework_minutes": "decimal(18, 4)",
    "escalated": "boolean",
    "retry_of_run_id": "varchar",
    "_source_file": "varchar not null",
    "_line_number": "bigint not null",
    "_partition_date": "date not null",
    "_extracted_at": "timestamp not null",
}


class ReviewLabelRaw(pa.DataFrameModel):
    """One reviewer verdict on one run: shippable (success) or not (failure)."""

    run_id: str = pa.Field(str_length={"min_value": 1})
    outcome: str = pa.Field(isin=["success", "failure"])
    labeled_at: dt.datetime = pa.Field()
    rework_minutes: float = pa.Field(nullable=True, ge=0, le=7 * 24 * 60)
    escalated: bool = pa.Field(nullable=True)
    retry_of_run_id: str = pa.Field(nullable=True)

    class Config:
        coerce = True
