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
    usual level. Each run's cost is first scaled by the median cost, that day, of the runs alike in
    price: the same reasoning effort and the same models at the same price variants (`model_set`,
    which no input size changes). High effort costs several times low by design, a workflow routing
    between a large and a small model has two levels of cost, and a price change (a batch price, a
    cut) moves one level on the day it starts; none of that is an inconsistency of inputs
    (high_effort_low_value and the routing marts look at tiers and models). A run counts when its
    group had `anomaly_dispersion_min_group_runs` (3) runs that day; a workflow of one group is
    scaled by one constant, which changes nothing. A run with a cost but no `model_set` was rolled
    up before that column existed: its group is unknown, and it is left out until its day is built
    again.
    The day's dispersion is the relative MAD of those scaled costs (median absolute deviation ÷
    median), not a standard deviation: one looping run moves neither median, so it can neither fake
    nor hide this. The usual level is the median of the workflow's daily values over the previous
    28 days. A day is measured with `anomaly_dispersion_min_runs` (8) such runs, and judged with
    `anomaly_dispersion_min_history_days` (10) measured days before it. One finding per
    workflow-day (an event). Only fully priced runs are measured: a run with an unpriced call has a
    cost that is only a lower bound (an all-unpriced one $0), and a few of those among priced runs
    would read as dispersion.
    Reads: runs of the evaluated days and the 28 days before.
-#}

{%- set baseline_days = var('anomaly_dispersion_baseline_days') | int %}

with

runs as (

    select
        workflow,
        run_date,
        coalesce(lower(reasoning_effort), 'none') as effort,
        coalesce(model_set, '') as model_set,
        cost_usd
    from {{ ref('int_runs_rolled_up') }}
    where
        fully_priced
        and (model_set is not null or cost_usd = 0)
        and {{ anomaly_window('run_date', baseline_days) }}

),

price_groups as (

    -- the day's usual cost of runs alike in price
    select
        workflow,
        run_date,
        effort,
        model_set,
        median(cost_usd) as group_median_usd
    from runs
    group by all
    having count(*) >= {{ var('anomaly_dispersion_min_group_runs') }} and median(cost_usd) > 0

),

scaled_runs as (

    select
        runs.workflow,
        runs.run_date,
        runs.effort,
        runs.model_set,
        runs.cost_usd,
        -- exact DECIMAL, so that exactly 3x the usual level is a finding
        {{ divide_exact('runs.cost_usd', 'price_groups.group_median_usd') }} as scaled_cost
    from runs
    inner join price_groups
        on
            runs.workflow = price_groups.workflow
            and runs.run_date = price_groups.run_date
            and runs.effort = price_groups.effort
            and runs.model_set = price_groups.model_set

),

measured_days as (

    select
        workflow,
        run_date,
        count(*) as runs,
        count(distinct effort) as efforts,
        count(distinct model_set) as model_sets,
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
        || case
            when efforts > 1 and model_sets > 1
                then ', each run''s cost scaled by the day''s median of its reasoning effort and models'
            when efforts > 1 then ', each run''s cost scaled by the day''s median of its reasoning effort'
            when model_sets > 1 then ', each run''s cost scaled by the day''s median of its models'
            else ''
        end
        || ' (median run ' || {{ fmt_usd('median_cost_usd') }} || '), against a usual '
        || {{ fmt_pct('usual_relative_mad') }} || ' over the previous {{ var("anomaly_dispersion_baseline_days") }} days'
            as explanation
    from dispersed

)

select * from final
