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
    usual level. Dispersion is a relative MAD: the median over the day's runs of each run's absolute
    deviation from the median cost of its reasoning-effort tier, ÷ that median (for a workflow
    without tiers: the day's MAD ÷ its median run cost). Runs are compared within their tier
    because high effort costs several times low by design, so a day's mix of tiers is no
    inconsistency (high_effort_low_value looks at tiers). Medians, not means or standard deviations:
    one looping run moves neither, so it can neither fake nor hide this. The usual level is the
    median of the workflow's daily values over the previous `anomaly_dispersion_baseline_days` (28);
    a day is measured only with `anomaly_dispersion_min_runs` (8) runs, and judged only with
    `anomaly_dispersion_min_history_days` measured days before it. One finding per workflow-day (an
    event). Reads: runs of the evaluated days and the 28 days before.
-#}

with

runs as (

    select
        workflow,
        run_date,
        coalesce(lower(reasoning_effort), 'none') as effort,
        cost_usd
    from {{ ref('int_runs_rolled_up') }}
    where {{ anomaly_window('run_date', var('anomaly_dispersion_baseline_days')) }}

),

measured_days as (

    select
        workflow,
        run_date,
        count(*) as runs,
        count(distinct effort) as efforts,
        median(cost_usd) as median_cost_usd
    from runs
    group by all
    having count(*) >= {{ var('anomaly_dispersion_min_runs') }}

),

tier_medians as (

    select
        workflow,
        run_date,
        effort,
        median(cost_usd) as tier_median_usd
    from runs
    group by all

),

deviations as (

    select
        runs.workflow,
        runs.run_date,
        -- exact DECIMAL, so that exactly 3x the usual level is a finding
        {{ divide_exact('abs(runs.cost_usd - tier_medians.tier_median_usd)', 'tier_medians.tier_median_usd') }}
            as relative_deviation
    from runs
    inner join tier_medians
        on
            runs.workflow = tier_medians.workflow
            and runs.run_date = tier_medians.run_date
            and runs.effort = tier_medians.effort

),

relative_dispersion as (

    select
        measured_days.*,
        median(deviations.relative_deviation) as relative_mad
    from measured_days
    inner join deviations
        on
            measured_days.workflow = deviations.workflow
            and measured_days.run_date = deviations.run_date
    group by all

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
        || format('{:.1f}', cast(relative_mad as double) / cast(usual_relative_mad as double))
        || '× more than usual: half of them cost more than ' || {{ fmt_pct('relative_mad') }} || ' off the median'
        || case when efforts > 1 then ' of their reasoning effort' else '' end
        || ' (median run ' || {{ fmt_usd('median_cost_usd') }} || '), against a usual '
        || {{ fmt_pct('usual_relative_mad') }} || ' over the previous {{ var("anomaly_dispersion_baseline_days") }} days'
            as explanation
    from dispersed

)

select * from final
