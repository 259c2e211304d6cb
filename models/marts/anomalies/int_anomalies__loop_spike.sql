{{
    config(
        schema='intermediate',
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_evaluated_days() }}",
    )
}}

{#-
    loop_spike: a run whose cost or LLM calls reach `anomaly_loop_multiple` (10) times its
    workflow's median over the previous `anomaly_loop_baseline_days` (14) days, its own day left
    out so that a day of several loops cannot hide one of them. Needs
    `anomaly_loop_min_history_runs` runs in that baseline; the cost median counts only fully priced
    runs (and needs as many of them): a run with an unpriced call has a cost that is only a lower
    bound, which would pull the median down and make ordinary runs look like loops. The judged run
    may be one: a lower bound at 10x the median is a spike all the same, said "at least". A run
    whose cost spiked but not its
    calls, on a day whose runs were flagged inconsistent_inputs, is one of those inconsistent
    inputs (a huge input, not a loop: a loop repeats calls) and is left to that finding.
    Calls that failed without usage (a 429 retried by the SDK, a timeout) are not counted: they cost
    nothing and are no loop turn, so a burst of retried rate limits is not a loop; the explanation
    names them beside. A run rolled up before that count existed counts every failed call out.
    One finding per run (an event).
    Reads: runs of the evaluated days and the 14 days before.
-#}

with

runs as (

    select
        run_id,
        workflow,
        run_date,
        cost_usd,
        fully_priced,
        llm_calls - coalesce(failed_calls_without_usage, failed_calls) as llm_calls,
        coalesce(failed_calls_without_usage, failed_calls) as failed_calls_without_usage
    from {{ ref('int_runs_rolled_up') }}
    where {{ anomaly_window('run_date', var('anomaly_loop_baseline_days')) }}

),

evaluated_runs as (

    select * from runs
    where {{ anomaly_window('run_date') }}

),

workflow_days as (

    select distinct
        workflow,
        run_date
    from evaluated_runs

),

baselines as (

    select
        workflow_days.workflow,
        workflow_days.run_date,
        count(*) as history_runs,
        count(*) filter (where history.fully_priced) as priced_history_runs,
        median(history.cost_usd) filter (where history.fully_priced) as median_cost_usd,
        median(history.llm_calls) as median_llm_calls
    from workflow_days
    inner join runs as history
        on
            workflow_days.workflow = history.workflow
            and history.run_date >= workflow_days.run_date - {{ var('anomaly_loop_baseline_days') }}
            and workflow_days.run_date > history.run_date
    group by all

),

compared as (

    select
        evaluated_runs.*,
        baselines.history_runs,
        baselines.priced_history_runs,
        baselines.median_cost_usd,
        baselines.median_llm_calls,
        -- exact in DECIMAL: a run at exactly 10x is a finding
        baselines.priced_history_runs >= {{ var('anomaly_loop_min_history_runs') }}
        and baselines.median_cost_usd > 0
        and evaluated_runs.cost_usd >= {{ var('anomaly_loop_multiple') }} * baselines.median_cost_usd
            as is_cost_spike,
        baselines.median_llm_calls > 0
        and evaluated_runs.llm_calls >= {{ var('anomaly_loop_multiple') }} * baselines.median_llm_calls
            as is_call_spike,
        -- a cost median of too few priced runs judges nothing, severity included
        case
            when baselines.priced_history_runs >= {{ var('anomaly_loop_min_history_runs') }}
                then cast(evaluated_runs.cost_usd as double) / nullif(cast(baselines.median_cost_usd as double), 0)
        end as cost_multiple,
        evaluated_runs.llm_calls / nullif(baselines.median_llm_calls, 0) as call_multiple
    from evaluated_runs
    inner join baselines
        on
            evaluated_runs.workflow = baselines.workflow
            and evaluated_runs.run_date = baselines.run_date
    where baselines.history_runs >= {{ var('anomaly_loop_min_history_runs') }}

),

inconsistent_days as (

    select distinct
        workflow,
        detected_on
    from {{ ref('int_anomalies__inconsistent') }}
    where {{ anomaly_window('detected_on') }}

),

spikes as (

    select compared.*
    from compared
    left join inconsistent_days
        on
            compared.workflow = inconsistent_days.workflow
            and compared.run_date = inconsistent_days.detected_on
    where compared.is_call_spike or (compared.is_cost_spike and inconsistent_days.workflow is null)

),

final as (

    select
        'loop_spike' as anomaly_type,
        'anomaly' as category,
        workflow,
        run_id,
        cast(null as varchar) as subject,
        run_date as detected_on,
        run_date - {{ var('anomaly_loop_baseline_days') }} as evidence_start_date,
        false as is_episode,
        case
            when
                greatest(coalesce(cost_multiple, 0), coalesce(call_multiple, 0))
                >= 2 * {{ var('anomaly_loop_multiple') }}
                then 'high'
            else 'medium'
        end as severity,
        case when is_cost_spike then 'run_cost_usd' else 'llm_calls' end as measure,
        {{ money('case when is_cost_spike then cost_usd else llm_calls end') }} as observed,
        {{ money('case when is_cost_spike then median_cost_usd else median_llm_calls end') }} as expected,
        'run ' || run_id || ' cost ' || case when fully_priced then '' else 'at least ' end || {{ fmt_usd('cost_usd') }}
        || case
            when is_cost_spike
                then
                    ', ' || format('{:.1f}', cost_multiple) || '× the {{ var("anomaly_loop_baseline_days") }}-day median of '
                    || {{ fmt_usd('median_cost_usd') }}
            when median_cost_usd is null then ' (no fully priced run in the {{ var("anomaly_loop_baseline_days") }} days before)'
            when priced_history_runs < {{ var('anomaly_loop_min_history_runs') }}
                then
                    ' (cost not judged: ' || {{ fmt_int('priced_history_runs') }} || ' fully priced run'
                    || case when priced_history_runs = 1 then '' else 's' end
                    || ' in the {{ var("anomaly_loop_baseline_days") }} days before, {{ var("anomaly_loop_min_history_runs") }} needed)'
            else ' ({{ var("anomaly_loop_baseline_days") }}-day median ' || {{ fmt_usd('median_cost_usd') }} || ')'
        end
        || ' for ' || workflow || ', in ' || {{ fmt_int('llm_calls') }} || ' LLM calls'
        || case
            when is_call_spike
                then ' (' || format('{:.1f}', call_multiple) || '× the median of ' || {{ fmt_int('median_llm_calls') }} || ')'
            else ' (median ' || {{ fmt_int('median_llm_calls') }} || ')'
        end
        || case
            when failed_calls_without_usage > 0
                then ', besides ' || {{ fmt_int('failed_calls_without_usage') }} || ' that failed without usage'
            else ''
        end
            as explanation
    from spikes

)

select * from final
