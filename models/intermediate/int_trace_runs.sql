{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_window('started_date') }}",
    )
}}

{#-
    One row per (trace, run, day) that staged spans hold: where each trace's spans lie.

    The stale-run check's index (int_runs_evaluated): an evaluation names a trace, and finding
    that trace's runs and days here reads one row per trace instead of every staged span, so the
    check reads only the days of the runs a night's evaluations name (on the 10M-span workload,
    872K rows here against 9.8M spans). Incremental by the spans' day, over the window of
    stg_otel__spans: a night rewrites the days whose spans it restaged.
-#}

with

spans as (

    select * from {{ ref('stg_otel__spans') }}
    {% if is_incremental() %}
        where {{ in_window('started_at') }}
    {% endif %}

),

trace_days as (

    select
        trace_id,
        run_id,
        cast(started_at as date) as started_date,
        count(*) as spans
    from spans
    group by trace_id, run_id, cast(started_at as date)

)

select * from trace_days
