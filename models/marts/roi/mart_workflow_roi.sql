{#-
    ROI of each workflow by month and all time, under the published attribution model.

    Lift per run = the run's attributed revenue - its matched baseline's revenue per engagement
    (int_runs_lift); runs with no baseline are counted in runs_without_baseline and left out of
    every lift figure, and so are runs whose attribution window had not ended when the CRM was
    read (runs_window_open: deals still to come would be missing from their credit, not from their
    baseline's, and bias every recent month's lift down). The CRM is read just before dbt runs, so
    the horizon is the dbt run's start (`revenue_known_until` sets it). The median lift carries the distribution-free 95% order-statistic interval
    (NULL under 6 runs; n = median_sample_runs). ROI = median lift ÷ the period's cost per
    successful task, taken from mart_unit_economics (the same number the CPST mart publishes), and
    its interval is the lift interval over that CPST. A period with runs of unknown cost
    (`unpriced_runs`) has only a lower bound for its CPST, so its ROI is overstated (nearer 0 in truth).
-#}

{%- set revenue_known_until = var('revenue_known_until', none) or run_started_at.strftime('%Y-%m-%d %H:%M:%S') %}

with

unit_economics as (

    select * from {{ ref('mart_unit_economics') }}
    where period in ('month', 'all')

),

run_lift as (

    select
        *,
        attribution_window_ends_at <= timestamp '{{ revenue_known_until }}' as is_window_closed
    from {{ ref('int_runs_lift') }}
    where attribution_model = '{{ var("attribution_model") }}'

),

lift_by_period as (

    select
        'month' as period,
        cast(date_trunc('month', run_date) as date) as period_start,
        *
    from run_lift
    union all
    select
        'all' as period,
        cast(null as date) as period_start,
        *
    from run_lift

),

aggregated as (

    select
        workflow,
        period,
        period_start,
        count(*) as successful_runs,
        count(*) filter (where has_baseline) as runs_with_baseline,
        count(*) filter (where not has_baseline) as runs_without_baseline,
        count(*) filter (where has_baseline and not is_window_closed) as runs_window_open,
        {{ money('sum(attributed_revenue_usd)') }} as attributed_revenue_usd,
        {{ money('coalesce(sum(attributed_revenue_usd) filter (where has_baseline and is_window_closed), 0)') }}
            as matched_attributed_revenue_usd,
        {{ money(
            'coalesce(sum(baseline_revenue_per_engagement_usd) filter (where has_baseline and is_window_closed), 0)'
        ) }} as baseline_revenue_usd,
        {{ money('sum(lift_usd) filter (where is_window_closed)') }} as lift_usd,
        count(lift_usd) filter (where is_window_closed) as n,
        list_sort(list(lift_usd) filter (where lift_usd is not null and is_window_closed)) as sorted_lifts
    from lift_by_period
    group by workflow, period, period_start

),

ci_ranks as (

    {{ median_ci_ranks('aggregated') }}

),

with_interval as (

    select
        aggregated.*,
        {{ exact_median('aggregated.sorted_lifts') }} as median_lift_per_run_usd,
        aggregated.sorted_lifts[ci_ranks.lower_rank] as lift_ci_low_usd,
        aggregated.sorted_lifts[ci_ranks.upper_rank] as lift_ci_high_usd
    from aggregated
    left join ci_ranks on aggregated.n = ci_ranks.n

),

final as (

    select
        -- grain
        unit_economics.workflow,
        unit_economics.period,
        unit_economics.period_start,
        '{{ var("attribution_model") }}' as attribution_model,

        -- runs
        coalesce(with_interval.successful_runs, 0) as successful_runs,
        coalesce(with_interval.runs_with_baseline, 0) as runs_with_baseline,
        coalesce(with_interval.runs_without_baseline, 0) as runs_without_baseline,
        coalesce(with_interval.runs_window_open, 0) as runs_window_open,

        -- revenue
        coalesce(with_interval.attributed_revenue_usd, {{ money(0) }}) as attributed_revenue_usd,
        coalesce(with_interval.matched_attributed_revenue_usd, {{ money(0) }}) as matched_attributed_revenue_usd,
        coalesce(with_interval.baseline_revenue_usd, {{ money(0) }}) as baseline_revenue_usd,
        with_interval.lift_usd,

        -- distribution of lift per run
        with_interval.median_lift_per_run_usd,
        with_interval.lift_ci_low_usd,
        with_interval.lift_ci_high_usd,
        coalesce(with_interval.n, 0) as median_sample_runs,

        -- return on cost
        unit_economics.cost_per_successful_task_usd,
        unit_economics.unpriced_runs,
        {{ divide_exact('with_interval.median_lift_per_run_usd', 'unit_economics.cost_per_successful_task_usd') }}
            as roi,
        {{ divide_exact('with_interval.lift_ci_low_usd', 'unit_economics.cost_per_successful_task_usd') }}
            as roi_ci_low,
        {{ divide_exact('with_interval.lift_ci_high_usd', 'unit_economics.cost_per_successful_task_usd') }}
            as roi_ci_high

    from unit_economics
    left join with_interval
        on
            unit_economics.workflow = with_interval.workflow
            and unit_economics.period = with_interval.period
            and (unit_economics.period = 'all' or unit_economics.period_start = with_interval.period_start)

)

select * from final
