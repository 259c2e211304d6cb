{{ config(severity='warn', meta={"dagster": {"ref": {"name": "int_runs_rolled_up"}}}) }}

-- Runs that last longer than lookback_days: a call in the window that started more than that after
-- its run. Such a run (resumed days later under its id) keeps the row of its first part; these
-- calls are in fct_llm_calls under its id but not in its row's cost. A warning, not a failure: raise
-- lookback_days to roll such runs up whole, or give a resumed run an id of its own.
with

calls as (

    select run_id, started_at from {{ ref('int_llm_calls_priced') }}
    where {{ in_window('started_at') }}

),

runs as (

    select run_id, started_at from {{ ref('int_runs_rolled_up') }}
    where run_id in (select calls.run_id from calls)

)

select
    calls.run_id,
    runs.started_at as run_started_at,
    min(calls.started_at) as first_late_call_at,
    count(*) as late_calls
from calls
inner join runs on calls.run_id = runs.run_id
where calls.started_at >= runs.started_at + to_days({{ var('lookback_days') }})
group by calls.run_id, runs.started_at
