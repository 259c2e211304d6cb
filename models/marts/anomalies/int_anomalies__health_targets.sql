{{
    config(
        schema='intermediate',
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_evaluated_days() }}",
    )
}}

{#-
    Optimization triggers from practitioners' health targets (domain.md), judged on the last
    complete calendar month before the evaluated day, over its labeled runs (at least
    `anomaly_trigger_min_runs`, and runs the month before too: a workflow's first, partial month is
    not judged). A rate is above its target when the lower end of its Wilson interval is (z =
    `anomaly_confidence_z`), so a month that is over by chance stays silent:
    - retry_rate_high: runs that retry an earlier run > `anomaly_trigger_max_retry_rate` (10%);
    - escalation_rate_high: runs handed to a human > `anomaly_trigger_max_escalation_rate` (5%);
    - human_intervention_high: runs a human had to touch (escalated, or with rework minutes) >
      `anomaly_trigger_max_intervention_rate` (20%).
    Lasting findings (episodes): a month that stays above its target is reported once, on the
    first day of the month after it.
    Reads: runs of the two calendar months before the first evaluated day, up to the window's end.
-#}

with

runs as (

    select
        workflow,
        run_date,
        is_retry,
        is_escalated,
        rework_minutes
    from {{ ref('int_runs_rolled_up') }}
    where outcome <> 'unlabeled' and {{ anomaly_window('run_date', 93) }}

),

evaluation_days as (

    {{ evaluation_days(ref('int_runs_rolled_up'), 'run_date') }}

),

monthly as (

    select
        workflow,
        cast(date_trunc('month', run_date) as date) as judged_month,
        count(*) as labeled_runs,
        count(*) filter (where is_retry) as retries,
        count(*) filter (where is_escalated) as escalations,
        count(*) filter (where is_escalated or rework_minutes > 0) as interventions
    from runs
    group by all

),

judged_months as (

    select monthly.*
    from monthly
    inner join monthly as month_before
        on
            monthly.workflow = month_before.workflow
            and month_before.judged_month = cast(monthly.judged_month - interval 1 month as date)
    where monthly.labeled_runs >= {{ var('anomaly_trigger_min_runs') }}

),

targets as (

    select
        'retry_rate_high' as anomaly_type,
        'retry rate' as rate_name,
        'retries of an earlier run' as counted,
        {{ var('anomaly_trigger_max_retry_rate') }} as max_rate
    union all
    select
        'escalation_rate_high' as anomaly_type,
        'escalation rate' as rate_name,
        'handed to a human' as counted,
        {{ var('anomaly_trigger_max_escalation_rate') }} as max_rate
    union all
    select
        'human_intervention_high' as anomaly_type,
        'human intervention rate' as rate_name,
        'escalated or reworked by a human' as counted,
        {{ var('anomaly_trigger_max_intervention_rate') }} as max_rate

),

rates as (

    select
        monthly.workflow,
        monthly.judged_month,
        monthly.labeled_runs,
        targets.anomaly_type,
        targets.rate_name,
        targets.counted,
        targets.max_rate,
        case targets.anomaly_type
            when 'retry_rate_high' then monthly.retries
            when 'escalation_rate_high' then monthly.escalations
            else monthly.interventions
        end as counted_runs
    from judged_months as monthly
    cross join targets

),

breaches as (

    select
        evaluation_days.evaluated_on,
        rates.*,
        rates.counted_runs / rates.labeled_runs as rate,
        {{ wilson_bound('rates.counted_runs', 'rates.labeled_runs', -1, var('anomaly_confidence_z')) }} as rate_lower
    from evaluation_days
    inner join rates
        on
            evaluation_days.workflow = rates.workflow
            and rates.judged_month = cast(date_trunc('month', evaluation_days.evaluated_on) - interval 1 month as date)
    where {{ wilson_bound('rates.counted_runs', 'rates.labeled_runs', -1, var('anomaly_confidence_z')) }} > rates.max_rate

),

final as (

    select
        {{ workflow_episode('anomaly_type', "'optimization_trigger'", 'judged_month') }},
        'low' as severity,
        replace(rate_name, ' ', '_') as measure,
        {{ money('rate') }} as observed,
        {{ money('max_rate') }} as expected,
        workflow || '''s ' || rate_name || ' was ' || {{ fmt_pct('rate') }} || ' in '
        || strftime(judged_month, '%B %Y') || ' (' || {{ fmt_int('counted_runs') }} || ' of '
        || {{ fmt_int('labeled_runs') }} || ' labeled runs were ' || counted || '; at least '
        || {{ fmt_pct('rate_lower') }} || ' at the confidence bound), above the '
        || {{ fmt_pct('max_rate', 0) }} || ' target' as explanation
    from breaches

)

select * from final
