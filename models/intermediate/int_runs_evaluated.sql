{#-
    One row per run that an outcome evaluation decides, or would decide without a label: its
    latest decisive evaluation (macros/evaluation_outcomes.sql, the logic int_runs_rolled_up
    applies to its window), among the runs that outcome evaluations loaded since the DuckDB
    variable `agentledger_recheck_since` (a date) name, but for those started from
    `agentledger_rebuilt_from` to before `agentledger_rebuilt_until` (the days whose runs the
    night's build rebuilt). Unset, they name every run with an outcome evaluation.

    A view, read only by orchestration/relabels.py after a night's build: an evaluation can arrive
    days after the run it judges (an evaluator run in a weekly batch), later than dbt's lookback
    rebuilds, and a run whose stored `evaluated_at` or outcome differs from this is recomputed.

    Scoped so that a night's check costs what its evaluations name, not all history. The runs
    are those of the traces the evaluations loaded since that day name (found in int_trace_runs,
    one row per trace and day, not among the staged spans), and of the response ids of those that
    name no trace the warehouse holds. Each is decided over every evaluation of its traces and of
    its spans' response ids, matched over the spans of every day its traces lie on (their other
    runs' too). Not read: spans of other traces on other days. So an evaluation that names a trace
    the warehouse holds, a span it does not hold, and a response id of another trace's call is
    matched to its own trace's run, where the model, within its window's spans, matches it to the
    response's run; a run so matched can be found stale by the nights of the scope.
-#}

{{ config(materialized='view') }}

with

trace_runs as (

    select * from {{ ref('int_trace_runs') }}

),

-- outcome evaluations only: no other kind decides a run
recent_evaluations as (

    select
        trace_id,
        response_id
    from {{ ref('stg_otel__eval_events') }}
    where
        _partition_date >= coalesce(cast(getvariable('agentledger_recheck_since') as date), date '0001-01-01')
        and evaluation_name in (
            {{- outcome_evaluation_name_list() -}}
        )

),

runs_by_trace as (

    select trace_runs.run_id
    from trace_runs
    semi join recent_evaluations on trace_runs.trace_id = recent_evaluations.trace_id

),

-- nearly always none: evaluations with a response id and no trace the warehouse holds. Only
-- these are looked up among every staged span's response ids (an empty lookup reads no span).
untraced_responses as (

    select recent_evaluations.response_id
    from recent_evaluations
    anti join trace_runs on recent_evaluations.trace_id = trace_runs.trace_id
    where recent_evaluations.response_id is not null

),

runs_by_response as (

    select spans.run_id
    from {{ ref('stg_otel__spans') }} as spans
    semi join untraced_responses on spans.response_id = untraced_responses.response_id
    where spans.is_llm_call

),

-- runs the night's build rolled up again, from every label and evaluation the warehouse holds
rebuilt_runs as (

    select run_id from {{ ref('int_runs_rolled_up') }}
    where
        started_at >= coalesce(cast(getvariable('agentledger_rebuilt_from') as date), date '9999-12-31')
        and started_at < coalesce(cast(getvariable('agentledger_rebuilt_until') as date), date '9999-12-31')

),

named_runs as (

    select named.run_id
    from (
        select run_id from runs_by_trace
        union
        select run_id from runs_by_response
    ) as named
    anti join rebuilt_runs on named.run_id = rebuilt_runs.run_id

),

-- every day of every trace a named run has spans in, other runs' days too: matching decides
-- whether a trace holds one run, and which run a span is, over all of the trace's spans
touched_traces as (

    select distinct trace_runs.trace_id
    from trace_runs
    semi join named_runs on trace_runs.run_id = named_runs.run_id

),

named_traces as (

    select
        trace_runs.trace_id,
        trace_runs.started_date
    from trace_runs
    semi join touched_traces on trace_runs.trace_id = touched_traces.trace_id

),

located_days as (

    select distinct started_date from named_traces

),

located_range as (

    select
        min(started_date) as first_day,
        max(started_date) + interval 1 day as after_last_day,
        -- no evaluation made before the day before a run's first day counts for it (the macro's rule)
        min(started_date) - interval 1 day as evaluated_from
    from located_days

),

-- the range join lets DuckDB read only the row groups between the first and the last located day
-- (its join filter on started_at) instead of every staged span; the days between go after. Only
-- the columns the matching reads: DuckDB materializes a CTE read more than once
spans as (

    select
        spans.trace_id,
        spans.span_id,
        spans.run_id,
        spans.response_id,
        spans.is_llm_call
    from {{ ref('stg_otel__spans') }} as spans
    inner join located_range
        on
            spans.started_at >= located_range.first_day
            and spans.started_at < located_range.after_last_day
    semi join located_days on cast(spans.started_at as date) = located_days.started_date

),

responses_of_named_traces as (

    select distinct spans.response_id
    from spans
    semi join named_traces on spans.trace_id = named_traces.trace_id
    where spans.response_id is not null

),

-- an evaluation's partition is never before the day it was made (it is that day, or its file's
-- day when that is later than the loader's lookback allows), so this bound drops none that counts
evaluations as (

    select evaluations.*
    from {{ ref('stg_otel__eval_events') }} as evaluations
    inner join located_range on evaluations._partition_date >= located_range.evaluated_from
    where
        evaluations.trace_id in (select named_traces.trace_id from named_traces)
        or evaluations.response_id in (
            select responses_of_named_traces.response_id from responses_of_named_traces
        )

),

runs as (

    select rolled_up.*
    from {{ ref('int_runs_rolled_up') }} as rolled_up
    semi join named_runs on rolled_up.run_id = named_runs.run_id

),

evaluation_outcomes as (

    {{ evaluation_outcomes('spans', 'evaluations', 'runs') }}

)

select * from evaluation_outcomes
