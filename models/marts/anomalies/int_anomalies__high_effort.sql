{{
    config(
        schema='intermediate',
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_evaluated_days(cooldowns=2) }}",
    )
}}

{#-
    high_effort_low_value: runs at high reasoning effort whose success rate is not materially above
    medium effort's for the same workflow: over the `anomaly_outcome_window_days` (56) days to the
    evaluated day, with at least `anomaly_outcome_min_runs` (30) labeled runs at each effort, even
    the upper confidence bound of high's success-rate lift stays below `anomaly_min_success_lift`
    (10 points). Hard tasks where high effort does help (+12-18 points) are left alone; a sample too
    small to tell is silent. Shows the cost multiple of a high-effort run over a medium one
    (medians of the fully priced runs: a run with an unpriced call has only a lower bound for its
    cost; "unknown" when there is none). A lasting finding (an episode) that explains a cost rise (mart_cost_anomalies'
    `precedence`), so it evaluates two cooldowns before the window.
    Reads: runs of the evaluated days and the 55 days before.
-#}

{%- set window_days = var('anomaly_outcome_window_days') | int %}

with

runs as (

    select
        workflow,
        run_date,
        reasoning_effort,
        outcome,
        cost_usd,
        fully_priced
    from {{ ref('int_runs_rolled_up') }}
    where {{ anomaly_window('run_date', window_days - 1, cooldowns=2) }}

),

evaluation_days as (

    {{ evaluation_days('runs', 'run_date', cooldowns=2) }}

),

tiered_runs as (

    select * from runs
    where lower(reasoning_effort) in ('high', 'medium') and outcome <> 'unlabeled'

),

tiers as (

    select
        evaluation_days.workflow,
        evaluation_days.evaluated_on,
        count(*) filter (where lower(tiered_runs.reasoning_effort) = 'high') as high_runs,
        count(*) filter (
            where lower(tiered_runs.reasoning_effort) = 'high' and tiered_runs.outcome = 'success'
        ) as high_successes,
        median(tiered_runs.cost_usd) filter (
            where lower(tiered_runs.reasoning_effort) = 'high' and tiered_runs.fully_priced
        ) as high_median_cost_usd,
        count(*) filter (where lower(tiered_runs.reasoning_effort) = 'medium') as medium_runs,
        count(*) filter (
            where lower(tiered_runs.reasoning_effort) = 'medium' and tiered_runs.outcome = 'success'
        ) as medium_successes,
        median(tiered_runs.cost_usd) filter (
            where lower(tiered_runs.reasoning_effort) = 'medium' and tiered_runs.fully_priced
        ) as medium_median_cost_usd
    from evaluation_days
    inner join tiered_runs
        on
            evaluation_days.workflow = tiered_runs.workflow
            and tiered_runs.run_date between evaluation_days.evaluated_on - {{ window_days - 1 }}
            and evaluation_days.evaluated_on
    group by all

),

compared as (

    select
        *,
        {{ compare_outcomes('high', 'medium') }}
    from tiers
    where
        high_runs >= {{ var('anomaly_outcome_min_runs') }}
        and medium_runs >= {{ var('anomaly_outcome_min_runs') }}

),

low_value as (

    select * from compared
    where lift_upper < {{ var('anomaly_min_success_lift') }}

),

final as (

    select
        {{ workflow_episode("'high_effort_low_value'", "'cost_bloat'", 'evaluated_on - ' ~ (window_days - 1)) }},
        case when cost_multiple >= 3 then 'high' else 'medium' end as severity,
        'median_run_cost_usd' as measure,
        {{ money('high_median_cost_usd') }} as observed,
        {{ money('medium_median_cost_usd') }} as expected,
        workflow || '''s ' || {{ fmt_int('high_runs') }} || ' high-effort runs succeeded '
        || {{ fmt_pct('high_success_rate') }} || ' of the time against ' || {{ fmt_pct('medium_success_rate') }}
        || ' for ' || {{ fmt_int('medium_runs') }} || ' medium runs over the {{ window_days }} days to '
        || strftime(evaluated_on, '%Y-%m-%d') || ' (a lift of at most '
        || format('{:+.1f}', 100 * lift_upper) || ' points), at '
        || coalesce(format('{:.1f}', cost_multiple) || '×', 'an unknown multiple of')
        || ' the cost of a medium run (median ' || coalesce({{ fmt_usd('high_median_cost_usd') }}, 'unknown')
        || ' against ' || coalesce({{ fmt_usd('medium_median_cost_usd') }}, 'unknown') || ')' as explanation
    from low_value

)

select * from final
