{{ config(materialized='view') }}

with

calls as (

    select * from {{ ref('int_llm_calls_priced') }}

),

final as (

    select
        -- ids
        call_id,
        run_id,
        trace_id,

        -- context
        workflow,
        account_id,
        agent_name,
        reasoning_effort,
        operation,
        provider,
        model,
        price_model_id,
        service_tier,
        status,

        -- time
        started_at,
        cast(started_at as date) as started_date,
        datediff('millisecond', started_at, ended_at) as duration_ms,

        -- tokens (disjoint kinds; reasoning is part of output)
        uncached_input_tokens,
        cache_read_tokens,
        cache_write_tokens,
        cache_write_5m_tokens,
        cache_write_1h_tokens,
        output_tokens,
        reasoning_tokens,
        input_tokens,

        -- money
        cost_usd,
        no_cache_cost_usd,
        is_priced,
        needs_price,
        is_long_context

    from calls

)

select * from final
