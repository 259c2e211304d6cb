{#-
    Cost per successful task by workflow and period: day, week (ISO, from Monday), month, all.

    CPST = cost of labeled runs ÷ successful runs (failed runs' spend amortized over the
    successes; NULL without successes). True CPST adds failed runs' rework (minutes × the
    workflow's hourly rate). Rates are over labeled runs. The median run cost carries a
    distribution-free 95% interval from order statistics (NULL under 6 runs); both are over the fully
    priced runs only: a run with an unpriced call has a cost that is a lower bound (an all-unpriced
    run's is $0), which cannot be ranked (the CPST counts it, and `unpriced_runs` says how many).
    Money and rates are exact DECIMAL(38, 10).

    Incremental: a nightly run recomputes the days, weeks and months its window touched, whole, and
    `all` (macros/period_window.sql); the other periods' rows stay.
-#}

{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_touched_periods() }}",
    )
}}

with

runs as (

    select * from {{ ref('int_runs_rolled_up') }}

),

touched_runs as (

    -- every run of a touched day, week or month
    select * from runs
    where {{ in_touched_periods_runs('run_date') }}

),

runs_by_period as (

    select
        'day' as period,
        run_date as period_start,
        *
    from touched_runs
    union all
    select
        'week' as period,
        cast(date_trunc('week', run_date) as date) as period_start,
        *
    from touched_runs
    union all
    select
        'month' as period,
        cast(date_trunc('month', run_date) as date) as period_start,
        *
    from touched_runs
    union all
    -- all time, dated by the workflow's first run: CPST is a ratio, so it cannot be summed from months
    select
        'all' as period,
        min(run_date) over (partition by workflow) as period_start,
        *
    from runs

),

aggregated as (

    select
        workflow,
        period,
        period_start,
        count(*) as runs,
        count(*) filter (where outcome <> 'unlabeled') as labeled_runs,
        count(*) filter (where outcome = 'success') as successful_runs,
        count(*) filter (where outcome = 'failure') as failed_runs,
        count(*) filter (where is_retry and outcome <> 'unlabeled') as labeled_retries,
        count(*) filter (where is_escalated and outcome <> 'unlabeled') as labeled_escalations,
        count(*) filter (where not fully_priced) as unpriced_runs,
        {{ money('sum(cost_usd)') }} as total_cost_usd,
        {{ money("coalesce(sum(cost_usd) filter (where outcome <> 'unlabeled'), 0)") }} as labeled_cost_usd,
        {{ money("coalesce(sum(rework_cost_usd) filter (where outcome = 'failure'), 0)") }} as rework_cost_usd,
        count(cost_usd) filter (where fully_priced) as n,
        list_sort(coalesce(list(cost_usd) filter (where fully_priced), [])) as sorted_run_costs
    from runs_by_period
    group by workflow, period, period_start

),

ci_ranks as (

    {{ median_ci_ranks('aggregated') }}

),

final as (

    select
        -- grain
        aggregated.workflow,
        aggregated.period,
        aggregated.period_start,

        -- counts
        aggregated.runs,
        aggregated.labeled_runs,
        aggregated.successful_runs,
        aggregated.failed_runs,
        aggregated.unpriced_runs,
        {{ divide_exact('aggregated.successful_runs', 'aggregated.labeled_runs') }} as success_rate,

        -- money
        aggregated.total_cost_usd,
        aggregated.labeled_cost_usd,
        aggregated.rework_cost_usd,
        {{ divide_exact('aggregated.labeled_cost_usd', 'aggregated.successful_runs') }}
            as cost_per_successful_task_usd,
        {{ divide_exact('aggregated.labeled_cost_usd + aggregated.rework_cost_usd', 'aggregated.successful_runs') }}
            as true_cost_per_successful_task_usd,

        -- distribution of run cost
        {{ exact_median('aggregated.sorted_run_costs') }} as median_run_cost_usd,
        aggregated.sorted_run_costs[ci_ranks.lower_rank] as median_run_cost_ci_low_usd,
        aggregated.sorted_run_costs[ci_ranks.upper_rank] as median_run_cost_ci_high_usd,
        aggregated.n as median_sample_runs,

        -- health
        {{ divide_exact('aggregated.labeled_retries', 'aggregated.labeled_runs') }} as retry_rate,
        {{ divide_exact('aggregated.labeled_escalations', 'aggregated.labeled_runs') }} as escalation_rate

    from aggregated
    left join ci_ranks on aggregated.n = ci_ranks.n
    -- periods that start before the touched ones were read in part: they are not rewritten
    where {{ in_touched_periods('aggregated.period', 'aggregated.period_start') }}

)

select * from final
