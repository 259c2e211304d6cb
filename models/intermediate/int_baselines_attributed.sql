{#-
    One row per (manual baseline engagement, attribution model): the revenue its account won in
    the attribution window after it, split over the account's engagements in each deal's window by
    the same rule as runs (macros/attribution.sql), so a deal followed by two engagements is not
    counted twice. Engagements no won deal followed keep a row with zero revenue: they count in the
    baseline's revenue per engagement. Small (one row per engagement and model): rebuilt in full.
-#}

with

engagements as (

    select * from {{ ref('stg_baselines__engagements') }}

),

deals as (

    select * from {{ ref('int_crm_deals') }}
    where is_won_revenue

),

account_keys as (

    select * from {{ ref('int_crm_account_keys') }}

),

eligible as (

    select
        deals.deal_key,
        deals.amount_usd,
        engagements.engagement_id,
        engagements.engaged_at,
        epoch(deals.closed_at - engagements.engaged_at) / 86400.0 as days_before_close
    from deals
    inner join account_keys
        on
            deals.crm_system = account_keys.crm_system
            and deals.crm_account_id = account_keys.crm_account_id
    inner join engagements
        on
            account_keys.account_id = engagements.account_id
            and {{ in_attribution_window('deals.closed_at', 'engagements.engaged_at') }}

),

allocated as (

    {{ allocate_deal_credit('eligible', 'engagement_id', 'engaged_at') }}

),

credited as (

    select
        engagement_id,
        attribution_model,
        count(*) as deals_credited,
        sum(credit_usd) as revenue_usd
    from allocated
    group by engagement_id, attribution_model

),

models as (

    select unnest({{ attribution_models() }}) as attribution_model

),

final as (

    select
        -- ids
        engagements.engagement_id,
        engagements.account_id,
        engagements.workflow,
        models.attribution_model,

        -- time
        engagements.engagement_date,
        engagements.quarter_start,

        -- money
        engagements.cost_usd,
        coalesce(credited.deals_credited, 0) as deals_credited,
        {{ money('coalesce(credited.revenue_usd, 0)') }} as revenue_usd

    from engagements
    cross join models
    left join credited
        on
            engagements.engagement_id = credited.engagement_id
            and models.attribution_model = credited.attribution_model

)

select * from final
