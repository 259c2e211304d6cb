-- Per deal and attribution model, the credits add up to exactly the deal's amount: never more
-- (DESIGN §4) and, since a deal only gets rows when it has eligible runs, never less. A deal with
-- rows has them under every attribution model: one that lost a model's rows fails too, rather than
-- escaping the sum check with no group to compare.
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

)

select deal_key, attribution_model, 'credits ' || credited_usd || ' <> amount ' || deal_amount_usd as failure
from credits
where credited_usd <> deal_amount_usd

union all

select deal_key, null as attribution_model, failure
from deals_missing_a_model
