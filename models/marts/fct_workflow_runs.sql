{{ config(materialized='view') }}

with

runs as (

    select * from {{ ref('int_runs_rolled_up') }}

),

final as (

    select
        -- ids
        run_id,
        workflow,
        account_id,
        retry_of_run_id,

        -- time
        started_at,
        run_date,
        ended_at,

        -- outcome
        outcome,
        outcome_source,
        is_retry,
        is_escalated as escalated,
        rework_minutes,
        rework_cost_usd,

        -- shape
        reasoning_effort,
        llm_calls,
        failed_calls,
        unpriced_calls,
        agents,
        tool_calls,
        total_tokens,
        uncached_input_tokens,
        cache_read_tokens,
        cache_write_tokens,
        output_tokens,
        reasoning_tokens,

        -- money
        cost_usd,
        -- billed cost needs the provider's own report (provider usage and cost sources)
        cast(null as decimal(38, 10)) as billed_cost_usd,
        no_cache_cost_usd,
        fully_priced

    from runs

)

select * from final
