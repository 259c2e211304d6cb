{{ config(meta={"dagster": {"ref": {"name": "mart_unit_economics"}}}) }}

-- A workflow's days, weeks and months each add up to its `all` row: runs, outcomes and money.
-- The mart is incremental: a night rewrites the periods its window touched and `all` from every
-- run, so an `all` row built from the touched runs only, or a period left half-rewritten, shows here.
with

economics as (

    select * from {{ ref('mart_unit_economics') }}

),

totals as (

    select
        workflow,
        period,
        sum(runs) as runs,
        sum(labeled_runs) as labeled_runs,
        sum(successful_runs) as successful_runs,
        sum(failed_runs) as failed_runs,
        sum(unpriced_runs) as unpriced_runs,
        sum(total_cost_usd) as total_cost_usd,
        sum(labeled_cost_usd) as labeled_cost_usd,
        sum(rework_cost_usd) as rework_cost_usd
    from economics
    group by workflow, period

),

all_time as (

    select * from totals where period = 'all'

),

periods as (

    select * from totals where period <> 'all'

)

select
    periods.*,
    all_time.runs as all_time_runs,
    all_time.total_cost_usd as all_time_cost_usd
from periods
-- a full join: a workflow with periods but no `all` row, or the reverse, fails here too
full join all_time on periods.workflow = all_time.workflow
where
    periods.workflow is null
    or all_time.workflow is null
    or periods.runs <> all_time.runs
    or periods.labeled_runs <> all_time.labeled_runs
    or periods.successful_runs <> all_time.successful_runs
    or periods.failed_runs <> all_time.failed_runs
    or periods.unpriced_runs <> all_time.unpriced_runs
    or periods.total_cost_usd <> all_time.total_cost_usd
    or periods.labeled_cost_usd <> all_time.labeled_cost_usd
    or periods.rework_cost_usd <> all_time.rework_cost_usd
