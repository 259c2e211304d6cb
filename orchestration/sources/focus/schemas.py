"""The raw FOCUS table: FOCUS 1.2 columns (snake-cased) and the Pandera model of a charge row."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import pandera.polars as pa
import polars as pl

# FOCUS 1.2 column id → raw column and type. Every other column lands in `extra_columns`.
FOCUS_COLUMNS: dict[str, tuple[str, str]] = {
    "BilledCost": ("billed_cost", "decimal(38, 10)"),
    "EffectiveCost": ("effective_cost", "decimal(38, 10)"),
    "ListCost": ("list_cost", "decimal(38, 10)"),
    "ContractedCost": ("contracted_cost", "decimal(38, 10)"),
    "BillingCurrency": ("billing_currency", "varchar"),
    "BillingAccountId": ("billing_account_id", "varchar"),
    "BillingAccountName": ("billing_account_name", "varchar"),
    "BillingPeriodStart": ("billing_period_start", "timestamp"),
    "BillingPeriodEnd": ("billing_period_end", "timestamp"),
    "ChargePeriodStart": ("charge_period_start", "timestamp"),
    "ChargePeriodEnd": ("charge_period_end", "timestamp"),
    "ChargeCategory": ("charge_category", "varchar"),
    "ChargeClass": ("charge_class", "varchar"),
    "ChargeDescription": ("charge_description", "varchar"),
    "ChargeFrequency": ("charge_frequency", "varchar"),
    "ServiceName": ("service_name", "varchar"),
    "ServiceCategory": ("service_category", "varchar"),
    "ServiceSubcategory": ("service_subcategory", "varchar"),
    "ProviderName": ("provider_name", "varchar"),
    "PublisherName": ("publisher_name", "varchar"),
    "InvoiceIssuerName": ("invoice_issuer_name", "varchar"),
    "InvoiceId": ("invoice_id", "varchar"),
    "PricingQuantity": ("pricing_quantity", "decimal(38, 10)"),
    "PricingUnit": ("pricing_unit", "varchar"),
    "PricingCategory": ("pricing_category", "varchar"),
    "ConsumedQuantity": ("consumed_quantity", "decimal(38, 10)"),
    "ConsumedUnit": ("consumed_unit", "varchar"),
    "ListUnitPrice": ("list_unit_price", "decimal(38, 18)"),
    "ContractedUnitPrice": ("contracted_unit_price", "decimal(38, 18)"),
    "SkuId": ("sku_id", "varchar"),
    "SkuPriceId": ("sku_price_id", "varchar"),
    "SkuMeter": ("sku_meter", "varchar"),
    "RegionId": ("region_id", "varchar"),
    "RegionName": ("region_name", "varchar"),
    "ResourceId": ("resource_id", "varchar"),
    "ResourceName": ("resource_name", "varchar"),
    "ResourceType": ("resource_type", "varchar"),
    "SubAccountId": ("sub_account_id", "varchar"),
    "SubAccountName": ("sub_account_name", "varchar"),
    "Tags": ("tags", "json"),
}
TIMESTAMP_COLUMNS = [raw for raw, sql_type in FOCUS_COLUMNS.values() if sql_type == "timestamp"]

CHARGE_COLUMNS: dict[str, str] = {
    **{raw: sql_type for raw, sql_type in FOCUS_COLUMNS.values()},
    "extra_columns": "json",
    "_source_file": "varchar not null",
    "_line_number": "bigint not null",
    "_partition_date": "date not null",
    "_extracted_at": "timestamp not null",
}

CHARGE_CATEGORIES = ["Usage", "Purchase", "Tax", "Credit", "Adjustment"]


class FocusChargeRaw(pa.DataFrameModel):
    """One FOCUS charge row: a USD amount for a charge period, of a known category, from a named provider."""

    billed_cost: Annotated[pl.Decimal, 38, 10] = pa.Field()  # a bare Decimal coerces to scale 0
    billing_currency: str = pa.Field(isin=["USD"])
    charge_period_start: dt.datetime = pa.Field()
    charge_period_end: dt.datetime = pa.Field()
    billing_period_start: dt.datetime = pa.Field()
    charge_category: str = pa.Field(isin=CHARGE_CATEGORIES)
    charge_class: str = pa.Field(nullable=True, isin=["Correction"])
    provider_name: str = pa.Field(str_length={"min_value": 1})
    consumed_quantity: Annotated[pl.Decimal, 38, 10] = pa.Field(nullable=True)

    @pa.dataframe_check
    def consumed_quantity_is_negative_only_in_a_correction(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Usage is consumed, never given back, except where a correction restates an earlier row."""
        return data.lazyframe.select(
            pl.col("consumed_quantity").is_null()
            | (pl.col("consumed_quantity") >= 0)
            | (pl.col("charge_class") == "Correction").fill_null(False)
        )

    @pa.dataframe_check
    def period_ends_after_it_starts(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Periods are start-inclusive, end-exclusive: the end comes after the start."""
        return data.lazyframe.select(pl.col("charge_period_end") > pl.col("charge_period_start"))

    class Config:
        coerce = True
