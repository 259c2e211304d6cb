{#-
    What prompt caching saved, by workflow and month (DESIGN §4 "Cache savings").

    Savings = what the same tokens would cost with no cache (reads and writes at the uncached input
    price, no write premium) − what they cost. The CPST reduction compares CPST with and without the
    cache over the same labeled runs and successes, so it is 1 − labeled cost ÷ labeled no-cache
    cost, in percent. Every workflow-month with runs has a row: a workflow whose input never hits a
    cache shows savings 0 and `cache_benefit = 'none'`; one whose writes cost more than its reads
    saved shows negative savings and `'net_cost'`. Calls without a price count in neither cost, so
    a run with one is costed low in both: `unpriced_runs` says how many.

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

aggregated as (

    select
        workflow,
        cast(date_trunc('month', run_date) as date) as month,
        count(*) as runs,
        count(*) filter (where outcome <> 'unlabeled') as labeled_runs,
        count(*) filter (where outcome = 'success') as successful_runs,
        count(*) filter (where not fully_priced) as unpriced_runs,
        {{ money('sum(cost_usd)') }} as actual_cost_usd,
        {{ money('sum(no_cache_cost_usd)') }} as no_cache_cost_usd,
        {{ money("coalesce(sum(cost_usd) filter (where outcome <> 'unlabeled'), 0)") }} as labeled_cost_usd,
        {{ money("coalesce(sum(no_cache_cost_usd) filter (where outcome <> 'unlabeled'), 0)") }}
            as labeled_no_cache_cost_usd,
        cast(sum(uncached_input_tokens) as bigint) as uncached_input_tokens,
        cast(sum(cache_read_tokens) as bigint) as cache_read_tokens,
        cast(sum(cache_write_tokens) as bigint) as cache_write_tokens
    from runs
    group by workflow, month

),

final as (

    select
        -- grain
        workflow,
        month,

        -- counts
        runs,
        labeled_runs,
        successful_runs,
        unpriced_runs,

        -- money
        actual_cost_usd,
        no_cache_cost_usd,
        {{ money('no_cache_cost_usd - actual_cost_usd') }} as savings_usd,
        {{ divide_exact('labeled_cost_usd', 'successful_runs') }} as cost_per_successful_task_usd,
        {{ divide_exact('labeled_no_cache_cost_usd', 'successful_runs') }}
            as no_cache_cost_per_successful_task_usd,
        case
            when successful_runs > 0
                then {{ divide_exact('100 * (labeled_no_cache_cost_usd - labeled_cost_usd)', 'labeled_no_cache_cost_usd') }}
        end as cpst_reduction_pct,

        -- tokens
        uncached_input_tokens,
        cache_read_tokens,
        cache_write_tokens,
        uncached_input_tokens + cache_read_tokens + cache_write_tokens as input_tokens,
        {{ divide_exact('cache_read_tokens', 'uncached_input_tokens + cache_read_tokens + cache_write_tokens') }}
            as cache_read_share,
        {{ divide_exact('cache_write_tokens', 'uncached_input_tokens + cache_read_tokens + cache_write_tokens') }}
            as cache_write_share,
        case
            when no_cache_cost_usd > actual_cost_usd then 'saving'
            when no_cache_cost_usd < actual_cost_usd then 'net_cost'
            else 'none'
        end as cache_benefit

    from aggregated

)

select * from final
-- the months that start before the touched ones were not read whole: they are not rewritten
where {{ in_touched_months() }}
