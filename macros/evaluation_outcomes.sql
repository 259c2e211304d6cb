{#-
    The outcome each run's evaluations decide: one row per run with a decisive outcome evaluation,
    its latest (`evaluated_at`, `outcome`; a tie goes to 'success' over 'failure', so every build
    decides alike). An evaluation whose evaluator failed (`error.type` set) or whose score is not a
    finite number (OTLP/JSON writes NaN as "NaN", which DuckDB orders above every number) decides
    nothing.

    Shared by int_runs_rolled_up (over its window's spans and evaluations) and int_runs_evaluated
    (over the spans of the days of the runs recent evaluations name, and every evaluation of those
    runs: what orchestration/relabels.py compares the runs with), so the two cannot drift apart. An evaluation is matched to a run by its span, else by its response id, else by
    a trace that holds one run only. One made more than a day before its run's day is not counted:
    an incremental build reads evaluations from its window's start less the lookback and a day,
    which for a run in the lookback days is one day before it, so a build counts the same
    evaluations whatever its window.

    Arguments name relations or CTEs: `spans` (trace_id, span_id, run_id, response_id,
    is_llm_call), `evaluations` (stg_otel__eval_events rows), `runs` (run_id, started_at).
-#}
{% macro evaluation_outcomes(spans, evaluations, runs) %}
    with span_runs as (

        select
            trace_id,
            span_id,
            run_id
        from {{ spans }}

    ),

    response_runs as (

        select
            response_id,
            min(run_id) as run_id
        from {{ spans }}
        where response_id is not null and is_llm_call
        group by response_id

    ),

    single_run_traces as (

        select
            trace_id,
            min(run_id) as run_id
        from {{ spans }}
        group by trace_id
        having count(distinct run_id) = 1

    ),

    outcome_evaluations as (

        select * from {{ evaluations }}
        where evaluation_name in (
            {{- outcome_evaluation_name_list() -}}
        )
        and error_type is null

    ),

    matched as (

        select
            coalesce(by_span.run_id, by_response.run_id, by_trace.run_id) as run_id,
            outcome_evaluations.evaluated_at,
            case
                when outcome_evaluations.score_label in ('pass', 'passed', 'success', 'succeeded', 'correct', 'true')
                    then 'success'
                when outcome_evaluations.score_label in ('fail', 'failed', 'failure', 'incorrect', 'false')
                    then 'failure'
                when not isfinite(outcome_evaluations.score_value) then null
                when outcome_evaluations.score_value >= {{ var('outcome_score_threshold') }} then 'success'
                when outcome_evaluations.score_value is not null then 'failure'
            end as outcome
        from outcome_evaluations
        left join span_runs as by_span
            on outcome_evaluations.trace_id = by_span.trace_id and outcome_evaluations.span_id = by_span.span_id
        left join response_runs as by_response
            on outcome_evaluations.response_id = by_response.response_id
        left join single_run_traces as by_trace
            on outcome_evaluations.trace_id = by_trace.trace_id

    ),

    latest as (

        select
            matched.run_id,
            max({'evaluated_at': matched.evaluated_at, 'outcome': matched.outcome}) as deciding
        from matched
        inner join {{ runs }} as runs on matched.run_id = runs.run_id
        where matched.outcome is not null
            and matched.evaluated_at >= cast(runs.started_at as date) - interval 1 day
        group by matched.run_id

    )

    select
        run_id,
        deciding.evaluated_at as evaluated_at,
        deciding.outcome as outcome
    from latest
{% endmacro %}


{#- The outcome evaluation names (`outcome_evaluation_names`), lowercased, as a SQL list's items:
    what decides a run here and what names a run to int_runs_evaluated's check. -#}
{% macro outcome_evaluation_name_list() -%}
    {%- for name in var('outcome_evaluation_names') %}'{{ name | lower }}'{{ ", " if not loop.last }}{% endfor -%}
{%- endmacro %}
