{{
    config(
        schema='intermediate',
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_evaluated_days() }}",
    )
}}

{#-
    inconsistent_inputs: one workflow-day whose run-to-run dispersion of cost is far above its
    usual level. Dispersion is the relative MAD (median absolute deviation of run cost ÷ median run
    cost), not a standard deviation: one looping run moves neither the median nor the MAD, so it
    can neither fake nor hide this. The usual level is the median of the workflow's daily values
    over the previous `anomaly_dispersion_baseline_days` (28); a day is measured only with
    `anomaly_dispersion_min_runs` (8) runs, and judged only with `anomaly_dispersion_min_history_days`
    measured days before it. One finding per workflow-day (an event).
    Reads: runs of the evaluated days and the 28 days before.
-#}

with

runs as (

    select
        workflow,
        run_date,
        cost_usd
    from {{ ref('int_runs_rolled_up') }}
    where {{ anomaly_window('run_date', var('anomaly_dispersion_baseline_days')) }}

),

day_medians as (

    select
        workflow,
        run_date,
        count(*) as runs,
        median(cost_usd) as median_cost_usd
    from runs
    group by all
    having count(*) >= {{ var('anomaly_dispersion_min_runs') }}

),

day_dispersion as (

    select
        day_medians.workflow,
        day_medians.run_date,
        day_medians.runs,
        day_medians.median_cost_usd,
        median(abs(runs.cost_usd - day_medians.median_cost_usd)) as mad_usd
    from day_medians
    inner join runs
        on
            day_medians.workflow = runs.workflow
            and day_medians.run_date = runs.run_date
    group by all

),

relative_dispersion as (

    select
        *,
        -- exact DECIMAL, so that exactly 3x the usual level is a finding
        {{ divide_exact('mad_usd', 'median_cost_usd') }} as relative_mad
    from day_dispersion

),

usual_levels as (

    select
        *,
        median(relative_mad) over previous_days as usual_relative_mad,
        count(relative_mad) over previous_days as history_days
    from relative_dispersion
    window previous_days as (
        partition by workflow
        order by run_date
        range between interval {{ var('anomaly_dispersion_baseline_days') }} days preceding
        and interval 1 day preceding
    )

),

dispersed as (

    select * from usual_levels
    where
        {{ anomaly_window('run_date') }}
        and history_days >= {{ var('anomaly_dispersion_min_history_days') }}
        and usual_relative_mad > 0
        and relative_mad >= {{ var('anomaly_dispersion_multiple') }} * usual_relative_mad

),

final as (

    select
        'inconsistent_inputs' as anomaly_type,
        'anomaly' as category,
        workflow,
        cast(null as varchar) as run_id,
        run_date as detected_on,
        run_date - {{ var('anomaly_dispersion_baseline_days') }} as evidence_start_date,
        false as is_episode,
        case
            when relative_mad >= 2 * {{ var('anomaly_dispersion_multiple') }} * usual_relative_mad then 'high'
            else 'medium'
        end as severity,
        'run_cost_relative_mad' as measure,
        {{ money('relative_mad') }} as observed,
        {{ money('usual_relative_mad') }} as expected,
        workflow || '''s ' || runs || ' runs on ' || strftime(run_date, '%Y-%m-%d') || ' varied '
        || format('{:.1f}', cast(relative_mad as double) / cast(usual_relative_mad as double)) || '× more than usual: their median absolute '
        || 'deviation was ' || {{ fmt_pct('relative_mad') }} || ' of the median run cost of '
        || {{ fmt_usd('median_cost_usd') }} || ', against a usual ' || {{ fmt_pct('usual_relative_mad') }}
        || ' over the previous {{ var("anomaly_dispersion_baseline_days") }} days' as explanation
    from dispersed

)

select * from final
