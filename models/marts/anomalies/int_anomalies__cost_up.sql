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
    cost itself must be rising too: the Theil–Sen slope of the same days' cost per labeled run has
    a lower confidence bound above zero. Successes falling at a flat cost also raise the cost per
    successful task, but no cost rose there: that is a quality drop, not this pattern. The
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
        labeled_cost_usd,
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
        daily.labeled_cost_usd / daily.labeled_runs as cost_per_labeled_run_usd,
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

run_cost_points as (

    select
        workflow,
        evaluated_on,
        x,
        cost_per_labeled_run_usd as y
    from window_days

),

run_cost_trends as (

    {{ theil_sen('run_cost_points', ['workflow', 'evaluated_on'], var('anomaly_confidence_z')) }}

),

run_cost_growth as (

    {{ trend_growth('run_cost_trends', window_days, var('anomaly_cost_trend_min_days')) }}

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
        success_rates.late_success_rate,
        run_cost_growth.start_level as run_cost_start_usd,
        run_cost_growth.end_level as run_cost_end_usd
    from growth
    inner join success_rates
        on
            growth.workflow = success_rates.workflow
            and growth.evaluated_on = success_rates.evaluated_on
    inner join run_cost_growth
        on
            growth.workflow = run_cost_growth.workflow
            and growth.evaluated_on = run_cost_growth.evaluated_on
    where
        growth.growth_lower >= {{ var('anomaly_cost_trend_min_growth') }}
        and run_cost_growth.slope_lower > 0

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
        || {{ fmt_pct('growth_lower', 0) }} || ' at the confidence bound; cost per labeled run '
        || {{ fmt_usd('run_cost_start_usd') }} || ' to ' || {{ fmt_usd('run_cost_end_usd') }}
        || ') while its success rate went from '
        || coalesce({{ fmt_pct('early_success_rate', 0) }}, 'n/a') || ' to '
        || coalesce({{ fmt_pct('late_success_rate', 0) }}, 'n/a') as explanation
    from rising

)

select * from final
