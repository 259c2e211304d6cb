{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_window('started_at') }}",
    )
}}

{#-
    One row per (run, provider, call day, billed outside the cost report or not): the rack cost of
    the run's calls there, how many of them cost something and how many have no price. fct_workflow_runs weighs each row
    by its provider-day's billed factor (from the reconciliation, which providers restate for days
    long past, so the factor is applied in the view, never stored here).

    Keyed by the run's start and day as well (`started_at`, `run_date`): a window on either in
    fct_workflow_runs (a nightly data test on started_at, the Pandera gate and the snapshot on
    run_date) reaches this table through the join on them and reads the window's rows only.
    Incremental: runs started in the window are recomputed, their calls read `lookback_days` wider,
    as int_runs_rolled_up reads them.
-#}

with

runs as (

    select * from {{ ref('int_runs_rolled_up') }}
    {% if is_incremental() %}
        where {{ in_window('started_at') }}
    {% endif %}

),

calls as (

    select * from {{ ref('int_llm_calls_priced') }}
    {% if is_incremental() %}
        where {{ in_window('started_at', pad_days=run_pad_days()) }}
    {% endif %}

),

run_calls as (

    select
        runs.run_id,
        runs.started_at,
        runs.run_date,
        coalesce(calls.provider, calls.price_provider_id) as provider,
        cast(calls.started_at as date) as usage_date,
        {{ billed_outside_cost_report('coalesce(calls.provider, calls.price_provider_id)', 'calls.service_tier') }}
            as is_billed_outside_cost_report,
        calls.cost_usd
    from runs
    inner join calls on runs.run_id = calls.run_id

),

final as (

    select
        run_id,
        started_at,
        run_date,
        provider,
        usage_date,
        is_billed_outside_cost_report,
        count(*) filter (where coalesce(cost_usd, 0) != 0) as costed_calls,
        count(*) filter (where cost_usd is null) as unpriced_calls,
        {{ money('sum(cost_usd)') }} as cost_usd
    from run_calls
    group by all

)

-- rows in run start order, as int_runs_rolled_up's: a window on started_at skips other row groups
select * from final
order by started_at
