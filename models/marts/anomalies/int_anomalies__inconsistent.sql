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
    usual level. Each run's cost is first scaled by the usual cost of its reasoning-effort tier (the
    tier's median over the previous `anomaly_dispersion_baseline_days`), because high effort costs
    several times low by design and a day's mix of tiers is no inconsistency (high_effort_low_value
    looks at tiers); a workflow without tiers is scaled by one constant, which changes nothing.
    The day's dispersion is the relative MAD of those scaled costs (median absolute deviation ÷
    median), not a standard deviation: one looping run moves neither median, so it can neither fake
    nor hide this. The usual level is the median of the workflow's daily values over the previous
    28 days. A day is measured with `anomaly_dispersion_min_runs` (8) runs whose tier had as many
    runs in its baseline, and judged with `anomaly_dispersion_min_history_days` (10) measured days
    before it. One finding per workflow-day (an event). Only fully priced runs are measured: a run
    with an unpriced call has a cost that is only a lower bound (an all-unpriced one $0), and a few
    of those among priced runs would read as dispersion.
    Reads: runs of the evaluated days and the 56 days before (28 of usual level, each day scaled by
    the 28 before it).
-#}

{%- set baseline_days = var('anomaly_dispersion_baseline_days') | int %}

with

runs as (

    select
        workflow,
        run_date,
        coalesce(lower(reasoning_effort), 'none') as effort,
        cost_usd
    from {{ ref('int_runs_rolled_up') }}
    where fully_priced and {{ anomaly_window('run_date', 2 * baseline_days) }}

),

tier_days as (

    select distinct
        workflow,
        effort,
        run_date
    from runs

),

tier_baselines as (

    -- the usual cost of a tier on a day: its median over the days before
    select
        tier_days.workflow,
        tier_days.effort,
        tier_days.run_date,
        median(history.cost_usd) as tier_median_usd
    from tier_days
    inner join runs as history
        on
            tier_days.workflow = history.workflow
            and tier_days.effort = history.effort
            and history.run_date >= tier_days.run_date - {{ baseline_days }}
            and tier_days.run_date > history.run_date
    group by all
    having count(*) >= {{ var('anomaly_dispersion_min_runs') }} and median(history.cost_usd) > 0

),

scaled_runs as (

    select
        runs.workflow,
        runs.run_date,
        runs.effort,
        runs.cost_usd,
        -- exact DECIMAL, so that exactly 3x the usual level is a finding
        {{ divide_exact('runs.cost_usd', 'tier_baselines.tier_median_usd') }} as scaled_cost
    from runs
    inner join tier_baselines
        on
            runs.workflow = tier_baselines.workflow
            and runs.effort = tier_baselines.effort
            and runs.run_date = tier_baselines.run_date

),

measured_days as (

    select
        workflow,
        run_date,
        count(*) as runs,
        count(distinct effort) as efforts,
        median(cost_usd) as median_cost_usd,
        median(scaled_cost) as median_scaled_cost
    from scaled_runs
    group by all
    having count(*) >= {{ var('anomaly_dispersion_min_runs') }}

),

day_dispersion as (

    select
        measured_days.*,
        median(abs(scaled_runs.scaled_cost - measured_days.median_scaled_cost)) as mad_scaled_cost
    from measured_days
    inner join scaled_runs
        on
            measured_days.workflow = scaled_runs.workflow
            and measured_days.run_date = scaled_runs.run_date
    group by all

),

relative_dispersion as (

    select
        *,
        {{ divide_exact('mad_scaled_cost', 'median_scaled_cost') }} as relative_mad
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
        cast(null as varchar) as subject,
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
        || case when efforts > 1 then ', costs scaled by the usual cost of their reasoning effort' else '' end
        || ' (median run ' || {{ fmt_usd('median_cost_usd') }} || '), against a usual '
        || {{ fmt_pct('usual_relative_mad') }} || ' over the previous {{ var("anomaly_dispersion_baseline_days") }} days'
            as explanation
    from dispersed

)

select * from final
