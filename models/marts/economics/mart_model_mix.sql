{#-
    Which models each workflow spends on, by month: one row per workflow × provider × model × month.

    A model is named as the price book knows it (price_model_id: a dated snapshot and its alias are
    one model), else as reported, lower-cased. `runs` are the runs that called the model at least
    once; their success rate and CPST are those of the whole runs (what a run routed through this
    model costs per success), while `model_cost_per_successful_task_usd` counts only this model's
    calls (its share of that CPST). Share of spend is the model's cost over the workflow-month's cost.
    A model without a price has NULL cost, never 0. A call counts in its run's workflow, which its
    cost is part of, even under a nested span that names another one.

    Incremental: a run recomputes the months its window touched, whole (macros/period_window.sql).
-#}

{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_touched_months() }}",
    )
}}

with

calls as (

    select * from {{ ref('int_llm_calls_priced') }}
    where {{ in_touched_months_input('started_at') }}

),

runs as (

    select * from {{ ref('int_runs_rolled_up') }}
    where {{ in_touched_months_input('run_date') }}

),

named_calls as (

    select
        run_id,
        coalesce(provider, price_provider_id) as provider,
        {{ model_name() }} as model,
        cost_usd,
        needs_price,
        coalesce(uncached_input_tokens, 0) + coalesce(cache_read_tokens, 0)
        + coalesce(cache_write_tokens, 0) + coalesce(output_tokens, 0) as total_tokens
    from calls
    where model is not null

),

model_runs as (

    -- one row per run and model it called, with the model's share of the run
    select
        runs.workflow,
        named_calls.provider,
        named_calls.model,
        named_calls.run_id,
        cast(date_trunc('month', runs.run_date) as date) as month,
        runs.outcome,
        runs.cost_usd as run_cost_usd,
        runs.fully_priced as run_fully_priced,
        count(*) as calls,
        count(*) filter (where named_calls.needs_price) as unpriced_calls,
        sum(named_calls.total_tokens) as total_tokens,
        {{ money('sum(named_calls.cost_usd)') }} as model_cost_usd
    from named_calls
    inner join runs on named_calls.run_id = runs.run_id
    group by all

),

workflow_months as (

    select
        workflow,
        cast(date_trunc('month', run_date) as date) as month,
        {{ money('sum(cost_usd)') }} as workflow_cost_usd
    from runs
    group by all

),

aggregated as (

    select
        workflow,
        month,
        provider,
        model,
        cast(sum(calls) as bigint) as calls,
        cast(sum(unpriced_calls) as bigint) as unpriced_calls,
        count(*) as runs,
        count(*) filter (where outcome <> 'unlabeled') as labeled_runs,
        count(*) filter (where outcome = 'success') as successful_runs,
        count(*) filter (where not run_fully_priced) as unpriced_runs,
        cast(sum(total_tokens) as bigint) as total_tokens,
        -- NULL as soon as one call of the model has no price: its cost is unknown, not smaller
        case when sum(unpriced_calls) = 0 then {{ money('sum(model_cost_usd)') }} end as cost_usd,
        case
            when sum(unpriced_calls) = 0
                then {{ money("coalesce(sum(model_cost_usd) filter (where outcome <> 'unlabeled'), 0)") }}
        end as labeled_model_cost_usd,
        {{ money("coalesce(sum(run_cost_usd) filter (where outcome <> 'unlabeled'), 0)") }} as labeled_run_cost_usd
    from model_runs
    group by all

),

final as (

    select
        -- grain
        aggregated.workflow,
        aggregated.month,
        aggregated.provider,
        aggregated.model,

        -- counts
        aggregated.calls,
        aggregated.unpriced_calls,
        aggregated.runs,
        aggregated.labeled_runs,
        aggregated.successful_runs,
        aggregated.unpriced_runs,
        {{ divide_exact('aggregated.successful_runs', 'aggregated.labeled_runs') }} as success_rate,
        aggregated.total_tokens,

        -- money
        aggregated.cost_usd,
        {{ divide_exact('aggregated.labeled_run_cost_usd', 'aggregated.successful_runs') }}
            as cost_per_successful_task_usd,
        {{ divide_exact('aggregated.labeled_model_cost_usd', 'aggregated.successful_runs') }}
            as model_cost_per_successful_task_usd,
        {{ divide_exact('aggregated.cost_usd', 'workflow_months.workflow_cost_usd') }} as share_of_spend

    from aggregated
    inner join workflow_months
        on aggregated.workflow = workflow_months.workflow and aggregated.month = workflow_months.month

)

select * from final
-- the months that start before the touched ones were not read whole: they are not rewritten
where {{ in_touched_months() }}
