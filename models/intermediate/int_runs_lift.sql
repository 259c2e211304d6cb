{#-
    One row per (successful run, attribution model): the revenue credited to the run, its matched
    manual baseline (same account and workflow, the quarter before the run's) and its lift.

    Baseline revenue per engagement = the baseline engagements' revenue ÷ their number. A run with
    no matching engagement has no baseline and no lift (NULL, `has_baseline` false): it is counted
    and reported, never compared with zero. A run's credit grows until its attribution window ends
    (`attribution_window_ends_at`), while its baseline's windows ended long ago: until then its lift
    is a part-window figure, which mart_workflow_roi leaves out.

    A view: a run's credit and baseline change whenever a deal or an engagement does, however old
    the run, so a table had to be rebuilt whole every night (every successful run × four models);
    its one reader, mart_workflow_roi, reads the published model only, and data tests read the
    run's window (event_time started_at), which the view's run filter takes.
-#}

{{ config(materialized='view') }}

with

runs as (

    select * from {{ ref('int_runs_rolled_up') }}
    where outcome = 'success'

),

credits as (

    select * from {{ ref('int_deals_attributed_to_runs') }}

),

baseline_engagements as (

    select * from {{ ref('int_baselines_attributed') }}

),

models as (

    select unnest({{ attribution_models() }}) as attribution_model

),

run_credits as (

    select
        run_id,
        attribution_model,
        count(*) as deals_credited,
        sum(credit_usd) as attributed_revenue_usd
    from credits
    group by run_id, attribution_model

),

baselines as (

    select
        account_id,
        workflow,
        quarter_start,
        attribution_model,
        count(*) as baseline_engagements,
        sum(revenue_usd) as baseline_revenue_usd,
        {{ divide_exact('sum(revenue_usd)', 'count(*)') }} as baseline_revenue_per_engagement_usd
    from baseline_engagements
    group by account_id, workflow, quarter_start, attribution_model

),

final as (

    select
        -- ids
        runs.run_id,
        runs.workflow,
        runs.account_id,
        models.attribution_model,
        models.attribution_model = '{{ var("attribution_model") }}' as is_published_model,

        -- time
        runs.started_at,
        runs.run_date,
        runs.started_at + to_days({{ var('attribution_window_days') }}) as attribution_window_ends_at,
        cast(date_trunc('quarter', runs.run_date) - interval 3 month as date) as baseline_quarter_start,

        -- revenue
        coalesce(run_credits.deals_credited, 0) as deals_credited,
        {{ money('coalesce(run_credits.attributed_revenue_usd, 0)') }} as attributed_revenue_usd,
        baselines.baseline_revenue_per_engagement_usd is not null as has_baseline,
        coalesce(baselines.baseline_engagements, 0) as baseline_engagements,
        baselines.baseline_revenue_per_engagement_usd,
        {{ money('coalesce(run_credits.attributed_revenue_usd, 0) - baselines.baseline_revenue_per_engagement_usd') }}
            as lift_usd

    from runs
    cross join models
    left join run_credits
        on
            runs.run_id = run_credits.run_id
            and models.attribution_model = run_credits.attribution_model
    left join baselines
        on
            runs.account_id = baselines.account_id
            and runs.workflow = baselines.workflow
            and baselines.quarter_start = cast(date_trunc('quarter', runs.run_date) - interval 3 month as date)
            and models.attribution_model = baselines.attribution_model

)

select * from final
