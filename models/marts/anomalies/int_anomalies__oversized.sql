{{
    config(
        schema='intermediate',
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_evaluated_days() }}",
    )
}}

{#-
    oversized_context: a workflow sending a share of its calls with more than
    `anomaly_oversized_context_tokens` (200k) input tokens, where its success rate does not depend
    on it. Over the `anomaly_outcome_window_days` (56) days to the evaluated day: at least
    `anomaly_oversized_min_share` of the calls are that large, at least `anomaly_outcome_min_runs`
    labeled runs have such a call and as many have none, and even the upper confidence bound of the
    success-rate lift of the runs with one stays below `anomaly_min_success_lift` (10 points). A
    workflow that needs its long context (most runs have it, or success rises with it) is left
    alone. Shows the cost multiple of a run with an oversized call (medians of the fully priced
    runs: a run with an unpriced call has only a lower bound for its cost; "unknown" when there is
    none). A lasting finding.
    Reads: calls and runs of the evaluated days and the 55 days before.
-#}

{%- set window_days = var('anomaly_outcome_window_days') | int %}
{%- set threshold = var('anomaly_oversized_context_tokens') %}

with

calls as (

    select
        run_id,
        workflow,
        cast(started_at as date) as call_date,
        input_tokens > {{ threshold }} as is_oversized
    from {{ ref('int_llm_calls_priced') }}
    where has_usage and {{ anomaly_window('started_at', window_days - 1) }}

),

runs as (

    select
        run_id,
        workflow,
        run_date,
        outcome,
        cost_usd,
        fully_priced
    from {{ ref('int_runs_rolled_up') }}
    where {{ anomaly_window('run_date', window_days - 1) }}

),

daily_calls as (

    select
        workflow,
        call_date,
        count(*) as calls,
        count(*) filter (where is_oversized) as oversized_calls
    from calls
    group by all

),

oversized_runs as (

    select distinct run_id
    from calls
    where is_oversized

),

workflows_with_oversized_calls as (

    select distinct workflow
    from calls
    where is_oversized

),

labeled_runs as (

    select
        runs.*,
        oversized_runs.run_id is not null as has_oversized_call
    from runs
    inner join workflows_with_oversized_calls
        on runs.workflow = workflows_with_oversized_calls.workflow
    left join oversized_runs
        on runs.run_id = oversized_runs.run_id
    where runs.outcome <> 'unlabeled'

),

evaluation_days as (

    {{ evaluation_days('calls', 'call_date') }}

),

call_shares as (

    select
        evaluation_days.workflow,
        evaluation_days.evaluated_on,
        sum(daily_calls.calls) as calls,
        sum(daily_calls.oversized_calls) as oversized_calls
    from evaluation_days
    inner join daily_calls
        on
            evaluation_days.workflow = daily_calls.workflow
            and daily_calls.call_date between evaluation_days.evaluated_on - {{ window_days - 1 }}
            and evaluation_days.evaluated_on
    group by all
    having sum(daily_calls.oversized_calls) >= {{ var('anomaly_oversized_min_share') }} * sum(daily_calls.calls)

),

outcomes as (

    select
        call_shares.workflow,
        call_shares.evaluated_on,
        any_value(call_shares.calls) as calls,
        any_value(call_shares.oversized_calls) as oversized_calls,
        count(*) filter (where labeled_runs.has_oversized_call) as oversized_runs,
        count(*) filter (where labeled_runs.has_oversized_call and labeled_runs.outcome = 'success')
            as oversized_successes,
        median(labeled_runs.cost_usd) filter (where labeled_runs.has_oversized_call and labeled_runs.fully_priced)
            as oversized_median_cost_usd,
        count(*) filter (where not labeled_runs.has_oversized_call) as other_runs,
        count(*) filter (where not labeled_runs.has_oversized_call and labeled_runs.outcome = 'success')
            as other_successes,
        median(labeled_runs.cost_usd) filter (where not labeled_runs.has_oversized_call and labeled_runs.fully_priced)
            as other_median_cost_usd
    from call_shares
    inner join labeled_runs
        on
            call_shares.workflow = labeled_runs.workflow
            and labeled_runs.run_date between call_shares.evaluated_on - {{ window_days - 1 }}
            and call_shares.evaluated_on
    group by all

),

compared as (

    select
        *,
        oversized_calls / calls as oversized_share,
        {{ compare_outcomes('oversized', 'other') }}
    from outcomes
    where
        oversized_runs >= {{ var('anomaly_outcome_min_runs') }}
        and other_runs >= {{ var('anomaly_outcome_min_runs') }}

),

no_gain as (

    select * from compared
    where lift_upper < {{ var('anomaly_min_success_lift') }}

),

final as (

    select
        {{ workflow_episode("'oversized_context'", "'cost_bloat'", 'evaluated_on - ' ~ (window_days - 1)) }},
        case
            when oversized_share >= 2 * {{ var('anomaly_oversized_min_share') }} then 'high' else 'medium'
        end as severity,
        'median_run_cost_usd' as measure,
        {{ money('oversized_median_cost_usd') }} as observed,
        {{ money('other_median_cost_usd') }} as expected,
        workflow || ' sent ' || {{ fmt_pct('oversized_share') }} || ' of its LLM calls ('
        || {{ fmt_int('oversized_calls') }} || ' of ' || {{ fmt_int('calls') }} || ') with more than '
        || {{ fmt_int(threshold) }} || ' input tokens over the {{ window_days }} days to '
        || strftime(evaluated_on, '%Y-%m-%d') || '; its ' || {{ fmt_int('oversized_runs') }}
        || ' runs with such a call succeeded ' || {{ fmt_pct('oversized_success_rate') }} || ' against '
        || {{ fmt_pct('other_success_rate') }} || ' without (a lift of at most '
        || format('{:+.1f}', 100 * lift_upper) || ' points) and cost '
        || coalesce(format('{:.1f}', cost_multiple) || '×', 'an unknown multiple of') || ' as much (median '
        || coalesce({{ fmt_usd('oversized_median_cost_usd') }}, 'unknown') || ' against '
        || coalesce({{ fmt_usd('other_median_cost_usd') }}, 'unknown')
        || ')' as explanation
    from no_gain

)

select * from final
