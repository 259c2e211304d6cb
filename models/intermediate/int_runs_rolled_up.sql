{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_window('started_at') }}",
    )
}}

{#-
    One row per workflow run: its spans and priced calls rolled up, its outcome decided.

    Outcome (DESIGN §4): the run's latest review label wins; else its latest decisive
    gen_ai.evaluation.result among the outcome evaluations (label pass/fail, else score against the
    threshold; macros/evaluation_outcomes.sql); else `unlabeled`. Incremental: runs started in the
    window are recomputed from spans and calls read `lookback_days` wider (run_pad_days), so a run
    that lasts up to that long is rolled up whole; labels and evaluations are read from the window's
    start (less a day) on, with no upper bound, because they arrive after the runs they judge.
    A run that lasts longer (resumed days later under its id) keeps the row of its first part: its
    later spans, read without the first, are not rolled up again as a second run of the same id
    (`runs_begun_before`); tests/dbt/assert_runs_last_at_most_lookback_days.sql warns of them.
-#}

with

spans as (

    select * from {{ ref('stg_otel__spans') }}
    {% if is_incremental() %}
        where {{ in_window('started_at', pad_days=run_pad_days()) }}
    {% endif %}

),

calls as (

    select * from {{ ref('int_llm_calls_priced') }}
    {% if is_incremental() %}
        where {{ in_window('started_at', pad_days=run_pad_days()) }}
    {% endif %}

),

{% if is_incremental() %}
runs_begun_before as (

    -- runs kept from before the spans read here (their rows stay): one of them with a span in the
    -- window lasted longer than lookback_days; its first part's row stands, no second row is made
    select run_id from {{ this }}
    where not {{ in_window('started_at', pad_days=run_pad_days(), upper=false) }}

),
{% endif %}

quarantined_spans as (

    select * from {{ ref('stg_otel__quarantined_spans') }}
    where trace_id is not null
    {% if is_incremental() %}
        and {{ in_window('_partition_date', pad_days=run_pad_days()) }}
    {% endif %}

),

evaluations as (

    select * from {{ ref('stg_otel__eval_events') }}
    {% if is_incremental() %}
        where {{ in_window('evaluated_at', pad_days=1, upper=false) }}
    {% endif %}

),

labels as (

    select * from {{ ref('stg_labels__reviews') }}
    {% if is_incremental() %}
        where {{ in_window('labeled_at', pad_days=1, upper=false) }}
    {% endif %}

),

workflows as (

    select * from {{ ref('workflows') }}

),

span_rollup as (

    select
        run_id,
        arg_min(workflow, started_at) as workflow,
        arg_min(account_id, started_at) filter (where account_id is not null) as account_id,
        arg_min(reasoning_effort, depth) filter (where reasoning_effort is not null) as reasoning_effort,
        arg_min(retry_of_run_id, started_at) filter (where retry_of_run_id is not null) as retry_of_run_id,
        min(started_at) as started_at,
        max(ended_at) as ended_at,
        count(*) as spans,
        count(distinct trace_id) as traces,
        count(distinct agent_name) as agents,
        count(*) filter (where operation = 'execute_tool') as tool_calls,
        count(*) filter (where status = 'error') as error_spans
    from spans
    group by run_id

),

call_rollup as (

    select
        run_id,
        count(*) as llm_calls,
        count(*) filter (where needs_price) as unpriced_calls,
        count(*) filter (where status = 'error') as failed_calls,
        count(*) filter (where status = 'error' and not has_usage) as failed_calls_without_usage,
        {{ money('coalesce(sum(cost_usd), 0)') }} as cost_usd,
        {{ money('coalesce(sum(no_cache_cost_usd), 0)') }} as no_cache_cost_usd,
        coalesce(sum(uncached_input_tokens), 0) as uncached_input_tokens,
        coalesce(sum(cache_read_tokens), 0) as cache_read_tokens,
        coalesce(sum(cache_write_tokens), 0) as cache_write_tokens,
        coalesce(sum(output_tokens), 0) as output_tokens,
        coalesce(sum(reasoning_tokens), 0) as reasoning_tokens,
        count(distinct model) as models_used,
        -- the rates its money was spent at: runs alike in them cost alike for alike inputs, and no
        -- input size changes them (which of its models cost most does change with it)
        string_agg(
            distinct model || coalesce(' (' || nullif(price_variant, 'standard') || ')', ''), ', '
            order by model || coalesce(' (' || nullif(price_variant, 'standard') || ')', '')
        ) filter (where cost_usd > 0 and model is not null) as model_set
    from calls
    group by run_id

),

traces_with_quarantined_spans as (

    select
        trace_id,
        count(*) as spans
    from quarantined_spans
    group by trace_id

),

runs_of_those_traces as (

    select distinct
        spans.run_id,
        spans.trace_id
    from spans
    semi join traces_with_quarantined_spans as traces on spans.trace_id = traces.trace_id

),

quarantine_rollup as (

    -- spans the raw gate stopped in a run's traces: the run is published without them, so its cost
    -- and calls are short (a trace two runs share counts against both: which one lost it is unknown)
    select
        runs_of_those_traces.run_id,
        cast(sum(traces.spans) as bigint) as quarantined_spans
    from runs_of_those_traces
    inner join traces_with_quarantined_spans as traces on runs_of_those_traces.trace_id = traces.trace_id
    group by runs_of_those_traces.run_id

),

evaluation_outcomes as (

    {{ evaluation_outcomes('spans', 'evaluations', 'span_rollup') }}

),

latest_labels as (

    select
        labels.*,
        -- what the deciding label says: orchestration/relabels.py computes the same fingerprint over
        -- raw.labels_reviews to find runs a later correction has made stale (not where the label
        -- was read from: the same labels read from a moved folder change nothing)
        hash(
            labels.run_id, labels.outcome, labels.labeled_at, labels.reviewer, labels.rework_minutes,
            labels.is_escalated, labels.retry_of_run_id
        ) as label_fingerprint
    from labels
    inner join span_rollup on labels.run_id = span_rollup.run_id
    -- a label stamped more than a day before its run's day is not one of its verdicts: an
    -- incremental build reads labels from its window's start less the lookback and a day, which for
    -- a run in the lookback days is one day before it, so every build, whatever its window, leaves
    -- such a label out (orchestration/relabels.py too)
    where labels.labeled_at >= cast(span_rollup.started_at as date) - interval 1 day
    qualify row_number() over (
        partition by labels.run_id order by labels.labeled_at desc, labels._source_file desc, labels._line_number desc
    ) = 1

),

runs as (

    select
        -- ids
        span_rollup.run_id,
        span_rollup.workflow,
        span_rollup.account_id,
        coalesce(latest_labels.retry_of_run_id, span_rollup.retry_of_run_id) as retry_of_run_id,

        -- time
        span_rollup.started_at,
        cast(span_rollup.started_at as date) as run_date,
        span_rollup.ended_at,

        -- outcome
        coalesce(latest_labels.outcome, evaluation_outcomes.outcome, 'unlabeled') as outcome,
        case
            when latest_labels.outcome is not null then 'label'
            when evaluation_outcomes.outcome is not null then 'evaluation'
        end as outcome_source,
        latest_labels.reviewer,
        latest_labels.labeled_at,
        latest_labels.label_fingerprint,
        evaluation_outcomes.evaluated_at,
        coalesce(latest_labels.retry_of_run_id, span_rollup.retry_of_run_id) is not null as is_retry,
        coalesce(latest_labels.is_escalated, false) as is_escalated,

        -- rework: a failed run without a figure costs the workflow's default minutes
        case
            when coalesce(latest_labels.outcome, evaluation_outcomes.outcome) = 'failure'
                then coalesce(
                    latest_labels.rework_minutes,
                    workflows.default_rework_minutes,
                    {{ var('default_rework_minutes') }}
                )
            else coalesce(latest_labels.rework_minutes, 0)
        end as rework_minutes,
        coalesce(workflows.rework_hourly_rate_usd, {{ var('default_rework_hourly_rate_usd') }})
            as rework_hourly_rate_usd,

        -- shape
        span_rollup.reasoning_effort,
        span_rollup.spans,
        span_rollup.traces,
        span_rollup.agents,
        span_rollup.tool_calls,
        span_rollup.error_spans,
        coalesce(call_rollup.llm_calls, 0) as llm_calls,
        coalesce(call_rollup.failed_calls, 0) as failed_calls,
        coalesce(call_rollup.failed_calls_without_usage, 0) as failed_calls_without_usage,
        coalesce(call_rollup.unpriced_calls, 0) as unpriced_calls,
        coalesce(quarantine_rollup.quarantined_spans, 0) as quarantined_spans,
        coalesce(call_rollup.models_used, 0) as models_used,
        call_rollup.model_set,

        -- tokens
        coalesce(call_rollup.uncached_input_tokens, 0) as uncached_input_tokens,
        coalesce(call_rollup.cache_read_tokens, 0) as cache_read_tokens,
        coalesce(call_rollup.cache_write_tokens, 0) as cache_write_tokens,
        coalesce(call_rollup.output_tokens, 0) as output_tokens,
        coalesce(call_rollup.reasoning_tokens, 0) as reasoning_tokens,

        -- money: the priced calls' cost; `fully_priced` says whether that is all of it (no call
        -- without a price, no span of its traces quarantined)
        coalesce(call_rollup.cost_usd, {{ money(0) }}) as cost_usd,
        coalesce(call_rollup.no_cache_cost_usd, {{ money(0) }}) as no_cache_cost_usd,
        coalesce(call_rollup.unpriced_calls, 0) = 0 and quarantine_rollup.run_id is null as fully_priced

    from span_rollup
    left join call_rollup on span_rollup.run_id = call_rollup.run_id
    left join latest_labels on span_rollup.run_id = latest_labels.run_id
    left join evaluation_outcomes on span_rollup.run_id = evaluation_outcomes.run_id
    left join quarantine_rollup on span_rollup.run_id = quarantine_rollup.run_id
    left join workflows on span_rollup.workflow = workflows.workflow

),

final as (

    select
        *,
        uncached_input_tokens + cache_read_tokens + cache_write_tokens + output_tokens as total_tokens,
        {{ divide_exact('rework_minutes * rework_hourly_rate_usd', 60) }} as rework_cost_usd
    from runs
    {% if is_incremental() %}
        where
            {{ in_window('started_at') }}
            and run_id not in (select runs_begun_before.run_id from runs_begun_before)
    {% endif %}

)

-- rows in start order: the next runs' window filters on started_at then skip every other row group
-- (DuckDB zone maps), so a night reads a day's rows, not all history's
select * from final
order by started_at
