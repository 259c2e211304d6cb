{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_reattributed_deals() }}",
    )
}}

{#-
    One row per (won deal, successful run, attribution model) with the run's share of the deal.

    A won deal on CRM account A, closed at t, is credited to the successful runs whose account id
    stands for A (int_crm_account_keys) and that started in [t - attribution_window_days, t): a
    run exactly 30 days before the close counts, a run at the close does not. All four models are
    computed (macros/attribution.sql); `attribution_model` (var) is the one the marts publish.

    Incremental: a nightly run deletes and recomputes only the deals `deal_needs_attribution`
    selects: deals that changed (edited, deleted, reopened, re-associated: int_crm_deals.changed_at)
    since the window's start minus `lookback_days` (late edits of old deals included), deals closing within the attribution window after a
    recomputed run (late labels move their split), and deals in another currency whose USD amount
    is not what their credits split (a rate added to or corrected in seeds/fx_rates.csv). Work
    grows with those deals and the runs of their 30-day windows, not with history. A full build
    recomputes everything.
-#}

with

deals as (

    select * from {{ ref('int_crm_deals') }}
    where is_won_revenue
    {% if is_incremental() %}
        and {{ deal_needs_attribution('changed_at', 'closed_at') }}
    {% endif %}

),

account_keys as (

    select * from {{ ref('int_crm_account_keys') }}

),

runs as (

    select * from {{ ref('int_runs_rolled_up') }}
    where outcome = 'success' and account_id is not null

),

eligible as (

    select
        -- deal
        deals.deal_key,
        deals.crm_system,
        deals.deal_id,
        deals.crm_account_id,
        deals.amount_usd,
        deals.closed_at,
        deals.closed_on,

        -- run
        runs.run_id,
        runs.workflow,
        runs.account_id,
        runs.started_at as run_started_at,
        epoch(deals.closed_at - runs.started_at) / 86400.0 as days_before_close

    from deals
    inner join account_keys
        on
            deals.crm_system = account_keys.crm_system
            and deals.crm_account_id = account_keys.crm_account_id
    inner join runs
        on
            account_keys.account_id = runs.account_id
            and {{ in_attribution_window('deals.closed_at', 'runs.started_at') }}

),

counted as (

    select
        *,
        count(*) over (partition by deal_key) as eligible_runs
    from eligible

),

allocated as (

    {{ allocate_deal_credit('counted', 'run_id', 'run_started_at') }}

),

final as (

    select
        -- ids
        deal_key,
        crm_system,
        deal_id,
        crm_account_id,
        run_id,
        workflow,
        account_id,
        attribution_model,
        attribution_model = '{{ var("attribution_model") }}' as is_published_model,

        -- time
        closed_at,
        closed_on as closed_date,
        run_started_at,
        days_before_close,

        -- credit
        eligible_runs,
        weight_share,
        amount_usd as deal_amount_usd,
        credit_usd

    from allocated

)

select * from final
