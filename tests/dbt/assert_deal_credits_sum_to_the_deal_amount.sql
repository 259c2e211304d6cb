{{ config(meta={"dagster": {"ref": {"name": "int_deals_attributed_to_runs"}}}) }}

-- Per deal and attribution model, the credits add up to exactly the deal's amount: never more
-- (DESIGN §4) and, since a deal only gets rows when it has eligible runs, never less. A deal with
-- rows has them under every attribution model: one that lost a model's rows fails too, rather than
-- escaping the sum check with no group to compare. And the amount they split is the deal's revenue
-- in USD now: a deal that is no longer won revenue, or converts to another amount (a rate added to or
-- corrected in seeds/fx_rates.csv), keeps no credits of its old amount.
{%- set models = attribution_models() %}
with

credits as (

    select
        deal_key,
        attribution_model,
        max(deal_amount_usd) as deal_amount_usd,
        sum(credit_usd) as credited_usd
    from {{ ref('int_deals_attributed_to_runs') }}
    group by deal_key, attribution_model

),

deals_missing_a_model as (

    select
        deal_key,
        'missing attribution model(s): ' || string_agg(expected.attribution_model, ', ') as failure
    from (select distinct deal_key from credits) as deals
    cross join (
        select unnest([{% for m in models %}'{{ m }}'{{ ", " if not loop.last }}{% endfor %}]) as attribution_model
    ) as expected
    anti join credits using (deal_key, attribution_model)
    group by deal_key

),

deals_credited_another_amount as (

    select
        credited.deal_key,
        'credits split ' || credited.deal_amount_usd || ' but the deal is '
        || case
            when deals.deal_key is null then 'gone'
            when not deals.is_won_revenue then 'not won revenue (' || deals.fx_status || ')'
            else deals.amount_usd || ' USD now'
        end as failure
    from (select deal_key, max(deal_amount_usd) as deal_amount_usd from credits group by deal_key) as credited
    left join {{ ref('int_crm_deals') }} as deals on credited.deal_key = deals.deal_key
    where
        deals.deal_key is null
        or not deals.is_won_revenue
        or deals.amount_usd <> credited.deal_amount_usd

)

select deal_key, attribution_model, 'credits ' || credited_usd || ' <> amount ' || deal_amount_usd as failure
from credits
where credited_usd <> deal_amount_usd

union all

select deal_key, null as attribution_model, failure
from deals_missing_a_model

union all

select deal_key, null as attribution_model, failure
from deals_credited_another_amount
