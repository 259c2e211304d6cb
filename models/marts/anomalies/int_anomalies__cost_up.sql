{{
    config(
        schema='intermediate',
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_evaluated_days() }}",
    )
}}

{#-
    cost_up_outcomes_flat: cost rising over weeks while successful runs do not follow, measured as
    the trend of cost per successful task (mart_unit_economics, period = day): it rises exactly
    when spend grows faster than successes. Each day with `anomaly_trend_min_per_day` labeled runs
    and a success is a point; over `anomaly_cost_trend_window_days` (28) days, the Theil–Sen
    slope's lower confidence bound must add up to `anomaly_cost_trend_min_growth` (50%) of the
    line's level at the window's start, from at least `anomaly_cost_trend_min_days` points. The
    mart drops it on a day when a more specific cause (context_bloat, high_effort_low_value) holds
    for the workflow. A lasting finding (an episode).
    Reads: daily unit economics of the evaluated days and the 27 days before.
-#}

{%- set window_days = var('anomaly_cost_trend_window_days') | int %}

with

economics as (

    select
        workflow,
        period_start as run_date,
        labeled_runs,
        successful_runs,
        cost_per_successful_task_usd
    from {{ ref('mart_unit_economics') }}
    where period = 'day' and {{ anomaly_window('period_start', window_days - 1) }}

),

daily as (

    select * from economics
    where labeled_runs >= {{ var('anomaly_trend_min_per_day') }} and successful_runs > 0

),

evaluation_days as (

    {{ evaluation_days('economics', 'run_date') }}

),

window_days as (

    select
        evaluation_days.workflow,
        evaluation_days.evaluated_on,
        daily.run_date - (evaluation_days.evaluated_on - {{ window_days - 1 }}) as x,
        daily.cost_per_successful_task_usd as y,
        daily.labeled_runs,
        daily.successful_runs
    from evaluation_days
    inner join daily
        on
            evaluation_days.workflow = daily.workflow
            and daily.run_date between evaluation_days.evaluated_on - {{ window_days - 1 }}
            and evaluation_days.evaluated_on

),

points as (

    select
        workflow,
        evaluated_on,
        x,
        y
    from window_days

),

trends as (

    {{ theil_sen('points', ['workflow', 'evaluated_on'], var('anomaly_confidence_z')) }}

),

success_rates as (

    -- the success rate in the window's first and second half, for the explanation
    select
        workflow,
        evaluated_on,
        sum(successful_runs) filter (where x < {{ window_days // 2 }})
        / nullif(sum(labeled_runs) filter (where x < {{ window_days // 2 }}), 0) as early_success_rate,
        sum(successful_runs) filter (where x >= {{ window_days // 2 }})
        / nullif(sum(labeled_runs) filter (where x >= {{ window_days // 2 }}), 0) as late_success_rate
    from window_days
    group by all

),

growth as (

    {{ trend_growth('trends', window_days, var('anomaly_cost_trend_min_days')) }}

),

rising as (

    select
        growth.*,
        success_rates.early_success_rate,
        success_rates.late_success_rate
    from growth
    inner join success_rates
        on
            growth.workflow = success_rates.workflow
            and growth.evaluated_on = success_rates.evaluated_on
    where growth.growth_lower >= {{ var('anomaly_cost_trend_min_growth') }}

),

final as (

    select
        {{ workflow_episode("'cost_up_outcomes_flat'", "'anomaly'", 'evaluated_on - ' ~ (window_days - 1)) }},
        case
            when growth_lower >= 2 * {{ var('anomaly_cost_trend_min_growth') }} then 'high' else 'medium'
        end as severity,
        'cost_per_successful_task_usd' as measure,
        {{ money('end_level') }} as observed,
        {{ money('start_level') }} as expected,
        workflow || '''s cost per successful task rose from ' || {{ fmt_usd('start_level') }} || ' to '
        || {{ fmt_usd('end_level') }} || ' over the {{ window_days }} days to '
        || strftime(evaluated_on, '%Y-%m-%d') || ' (+' || {{ fmt_pct('growth', 0) }} || '; at least +'
        || {{ fmt_pct('growth_lower', 0) }} || ' at the confidence bound) while its success rate went from '
        || coalesce({{ fmt_pct('early_success_rate', 0) }}, 'n/a') || ' to '
        || coalesce({{ fmt_pct('late_success_rate', 0) }}, 'n/a') as explanation
    from rising

)

select * from final
