{{ config(meta={"dagster": {"ref": {"name": "int_runs_rolled_up"}}}) }}

-- A run's cost is exactly the sum of its priced calls' costs: nothing lost, nothing added.
-- Checked for the runs of the run's window and its lookback (every run when there is no window).
with

runs as (

    select run_id, cost_usd, llm_calls from {{ ref('int_runs_rolled_up') }}
    where {{ in_window('started_at') }}

),

calls as (

    select run_id, coalesce(sum(cost_usd), 0) as calls_cost_usd, count(*) as calls
    from {{ ref('int_llm_calls_priced') }}
    where
        run_id in (select run_id from runs)
        -- a run's calls start within lookback_days of it, as int_runs_rolled_up reads them: the
        -- window (that much wider) skips other days' row groups instead of probing all history
        and {{ in_window('started_at', pad_days=run_pad_days()) }}
    group by run_id

)

-- a left join: a run whose calls all went missing must fail here, not drop out of the comparison
select runs.*, coalesce(calls.calls_cost_usd, 0) as calls_cost_usd, coalesce(calls.calls, 0) as calls
from runs
left join calls on runs.run_id = calls.run_id
where runs.cost_usd <> coalesce(calls.calls_cost_usd, 0) or runs.llm_calls <> coalesce(calls.calls, 0)
