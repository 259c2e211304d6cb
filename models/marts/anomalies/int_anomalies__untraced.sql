{{
    config(
        schema='intermediate',
        materialized='table',
    )
}}

{#-
    untraced_spend: a provider-day whose billed cost no trace explains beyond a tolerance: the
    untraced spend of mart_provider_reconciliation (each token kind's bill times the share of that
    kind's reported tokens no trace holds) summed over the provider's models is above both
    `anomaly_untraced_min_usd` ($1) and `anomaly_untraced_min_share` (5%) of the provider-day's
    bill. A lasting condition (an uninstrumented caller, a key shared outside the traced agents),
    so reported once per episode; the finding's `subject` is the provider, its workflow NULL.
    Severity high at twice the tolerance. A provider-day with no usage report or no cost data has
    no untraced spend to judge and is silent.
    Reads: every reconciliation row (a table of provider x day x model, small). A bill can be
    restated arbitrarily far back (a FOCUS Correction billed in a later period reaches the day it
    corrects), so no window of days can be trusted to hold every day whose verdict changed.
-#}

with

reconciliation as (

    select
        provider,
        usage_date,
        model,
        billed_cost_usd,
        untraced_spend_usd
    from {{ ref('mart_provider_reconciliation') }}
    where untraced_spend_usd is not null

),

provider_days as (

    select
        provider,
        usage_date,
        sum(billed_cost_usd) as billed_cost_usd,
        sum(untraced_spend_usd) as untraced_spend_usd,
        arg_max(model, untraced_spend_usd) as top_model,
        max(untraced_spend_usd) as top_model_untraced_usd,
        count(*) filter (where untraced_spend_usd > 0) as untraced_models
    from reconciliation
    group by all

),

tolerances as (

    select
        *,
        {{ money(
            'greatest(' ~ var('anomaly_untraced_min_usd') ~ ', '
            ~ var('anomaly_untraced_min_share') ~ ' * billed_cost_usd)'
        ) }} as tolerance_usd
    from provider_days

),

beyond_tolerance as (

    select * from tolerances
    where untraced_spend_usd > tolerance_usd

),

final as (

    select
        'untraced_spend' as anomaly_type,
        'cost_bloat' as category,
        cast(null as varchar) as workflow,
        cast(null as varchar) as run_id,
        provider as subject,
        usage_date as detected_on,
        usage_date as evidence_start_date,
        true as is_episode,
        case when untraced_spend_usd >= 2 * tolerance_usd then 'high' else 'medium' end as severity,
        'untraced_spend_usd' as measure,
        {{ money('untraced_spend_usd') }} as observed,
        tolerance_usd as expected,
        provider || ' billed ' || {{ fmt_usd('untraced_spend_usd') }} || ' on ' || strftime(usage_date, '%Y-%m-%d')
        || ' that no trace explains (' || {{ fmt_pct(divide_exact('untraced_spend_usd', 'billed_cost_usd')) }}
        || ' of its ' || {{ fmt_usd('billed_cost_usd') }} || ' bill'
        || case
            when untraced_models > 1
                then '; most on ' || top_model || ', ' || {{ fmt_usd('top_model_untraced_usd') }}
            else ', all on ' || top_model
        end
        || '): a caller outside the traced agents, e.g. an uninstrumented app or a shared key' as explanation
    from beyond_tolerance

)

select * from final
