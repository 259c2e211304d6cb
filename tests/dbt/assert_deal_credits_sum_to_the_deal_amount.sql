-- Per deal and attribution model, the credits add up to exactly the deal's amount: never more
-- (DESIGN §4) and, since a deal only gets rows when it has eligible runs, never less.
with

credits as (

    select
        deal_key,
        attribution_model,
        max(deal_amount_usd) as deal_amount_usd,
        sum(credit_usd) as credited_usd
    from {{ ref('int_deals_attributed_to_runs') }}
    group by deal_key, attribution_model

)

select * from credits
where credited_usd <> deal_amount_usd
