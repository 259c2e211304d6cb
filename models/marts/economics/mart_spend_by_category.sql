{#-
    Spend split into fixed, variable and investment, by month (the workflow catalog's cost_category;
    a workflow missing from seeds/workflows.csv is `uncategorized`).

    Value counts only the workflows with a value per success in the catalog: their successful runs
    × that value. Value per token divides it by all tokens of those workflows' runs (failed runs
    included: their tokens bought no value), so it rises when the same value takes fewer tokens.

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

runs as (

    select * from {{ ref('int_runs_rolled_up') }}
    where {{ in_touched_months_input('run_date') }}

),

workflows as (

    select * from {{ ref('workflows') }}

),

categorized_runs as (

    select
        cast(date_trunc('month', runs.run_date) as date) as month,
        coalesce(workflows.cost_category, 'uncategorized') as cost_category,
        runs.workflow,
        runs.outcome,
        runs.cost_usd,
        runs.total_tokens,
        workflows.value_per_success_usd
    from runs
    left join workflows on runs.workflow = workflows.workflow

),

aggregated as (

    select
        month,
        cost_category,
        count(distinct workflow) as workflows,
        count(*) as runs,
        count(*) filter (where outcome = 'success') as successful_runs,
        {{ money('sum(cost_usd)') }} as cost_usd,
        cast(sum(total_tokens) as bigint) as total_tokens,
        count(distinct workflow) filter (where value_per_success_usd is not null) as valued_workflows,
        cast(coalesce(sum(total_tokens) filter (where value_per_success_usd is not null), 0) as bigint)
            as valued_tokens,
        {{ money("coalesce(sum(value_per_success_usd) filter (where outcome = 'success'), 0)") }} as value_usd
    from categorized_runs
    group by month, cost_category

),

final as (

    select
        -- grain
        month,
        cost_category,

        -- counts
        workflows,
        runs,
        successful_runs,
        total_tokens,

        -- money
        cost_usd,
        {{ divide_exact('cost_usd', 'sum(cost_usd) over (partition by month)') }} as share_of_spend,

        -- value
        valued_workflows,
        valued_tokens,
        value_usd,
        {{ divide_exact('value_usd', 'valued_tokens') }} as value_per_token_usd,
        {{ divide_exact('value_usd * 1000000', 'valued_tokens') }} as value_per_million_tokens_usd

    from aggregated

)

select * from final
-- the months that start before the touched ones were not read whole: they are not rewritten
where {{ in_touched_months() }}
