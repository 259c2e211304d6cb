{{ config(severity='warn', meta={"dagster": {"ref": {"name": "int_crm_deals"}}}) }}

-- Won deals left out of revenue because their amount cannot be converted to USD: a currency
-- seeds/fx_rates.csv lacks (unknown_currency), or no rate of it within fx_max_rate_age_days before
-- the close (no_rate: the seed is out of date). A warning, not a failure: the night publishes
-- without them; add the rates to seeds/fx_rates.csv and the next run attributes the deals.
select
    deal_key,
    currency,
    closed_on,
    fx_status,
    amount
from {{ ref('int_crm_deals') }}
where
    is_won
    and not is_removed
    and not is_superseded
    and closed_at is not null
    and fx_status in ('unknown_currency', 'no_rate')
