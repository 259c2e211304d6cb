{{
    config(
        schema='intermediate',
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_evaluated_days() }}",
    )
}}

{#-
    cpst_rising (optimization trigger, domain.md): cost per successful task rose in each of the last
    `anomaly_trigger_cpst_rising_months` (3) complete calendar months before the evaluated day,
    month over consecutive month, each month with at least `anomaly_trigger_min_runs` labeled runs.
    A workflow's first month in the data is partial and never the base of a rise. A lasting finding
    (an episode).
    Reads: every month row of mart_unit_economics (a row per workflow and month: a few hundred a
    year), so a streak is counted from its start, and the first month is the workflow's own, in a
    nightly as in a full build: a window of months would count a long streak short and take its
    first complete month for the partial one.
-#}

{%- set months = var('anomaly_trigger_cpst_rising_months') | int %}

with

economics as (

    select
        workflow,
        period_start as judged_month,
        labeled_runs,
        cost_per_successful_task_usd
    from {{ ref('mart_unit_economics') }}
    where period = 'month'

),

evaluation_days as (

    {{ evaluation_days(ref('int_runs_rolled_up'), 'run_date') }}

),

first_months as (

    -- a workflow's first month, whatever its runs: the partial one (taken before the runs filter
    -- below, which would otherwise make the first complete month look like the first)
    select
        workflow,
        min(judged_month) as first_month
    from economics
    group by workflow

),

complete_months as (

    select economics.*
    from economics
    inner join first_months on economics.workflow = first_months.workflow
    where
        economics.labeled_runs >= {{ var('anomaly_trigger_min_runs') }}
        and economics.cost_per_successful_task_usd is not null
        and economics.judged_month > first_months.first_month

),

steps as (

    -- a rise: this month's CPST above the calendar month before's
    select
        *,
        coalesce(
            lag(judged_month) over by_month = cast(judged_month - interval 1 month as date)
            and cost_per_successful_task_usd > lag(cost_per_successful_task_usd) over by_month,
            false
        ) as is_rise
    from complete_months
    window by_month as (partition by workflow order by judged_month)

),

streak_groups as (

    -- a month that is no rise starts a new streak
    select
        *,
        sum(case when is_rise then 0 else 1 end) over by_month as streak_group
    from steps
    window by_month as (partition by workflow order by judged_month)

),

streaks as (

    select
        *,
        count(*) filter (where is_rise) over (
            partition by workflow, streak_group order by judged_month
        ) as months_rising,
        first_value(cost_per_successful_task_usd) over last_months as base_cpst_usd,
        first_value(judged_month) over last_months as base_month,
        string_agg(
            {{ fmt_usd('cost_per_successful_task_usd') }} || ' (' || strftime(judged_month, '%b %Y') || ')', ' → '
        ) over last_months as path
    from streak_groups
    window last_months as (
        partition by workflow order by judged_month rows between {{ months }} preceding and current row
    )

),

breaches as (

    select
        evaluation_days.evaluated_on,
        streaks.*
    from evaluation_days
    inner join streaks
        on
            evaluation_days.workflow = streaks.workflow
            and streaks.judged_month = cast(date_trunc('month', evaluation_days.evaluated_on) - interval 1 month as date)
    where streaks.months_rising >= {{ months }}

),

final as (

    select
        {{ workflow_episode("'cpst_rising'", "'optimization_trigger'", 'base_month') }},
        'low' as severity,
        'cost_per_successful_task_usd' as measure,
        {{ money('cost_per_successful_task_usd') }} as observed,
        {{ money('base_cpst_usd') }} as expected,
        workflow || '''s cost per successful task rose ' || months_rising || ' months running'
        || case when months_rising > {{ months }} then ', the last {{ months }}: ' else ': ' end || path
            as explanation
    from breaches

)

select * from final
