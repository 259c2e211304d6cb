{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_window('started_at') }}",
    )
}}

{#-
    One row per span, conventions normalized (stg_otel__span_fields) and run attributes inherited
    (stg_otel__span_lineage); of an LLM call exported twice, only the kept copy.

    Incremental by `started_at` over the partition window plus `lookback_days`. Rows keep the raw
    table's order, which is by day (its partitions are written day by day): a night's window on
    started_at then skips every other day's row groups (DuckDB zone maps). Nothing here may break
    that order (a materialized CTE or a sort of 10M rows did).
-#}

with

fields as (

    select * from {{ ref('stg_otel__span_fields') }}
    {% if is_incremental() %}
        where {{ in_window('_partition_date', pad_days=1) }} and {{ in_window('started_at') }}
    {% endif %}

),

lineage as (

    select * from {{ ref('stg_otel__span_lineage') }}
    {% if is_incremental() %}
        where {{ in_window('started_at') }}
    {% endif %}

),

deduplicated as (

    select
        fields.* replace (
            lineage.prompt_name as prompt_name, lineage.system_prompt_hash as system_prompt_hash,
            fields.is_llm_call or lineage.is_counted_rollup as is_llm_call
        ),
        lineage.run_id,
        lineage.workflow,
        lineage.account_id,
        lineage.reasoning_effort,
        lineage.agent_name,
        lineage.depth
    from fields
    inner join lineage
        on fields.trace_key = lineage.trace_key and fields.span_key = lineage.span_key
    where lineage.is_kept_copy

),

final as (

    select
        -- ids
        span_id as call_id,
        span_id,
        trace_id,
        parent_span_id,
        run_id,
        response_id,

        -- run context (inherited)
        workflow,
        account_id,
        reasoning_effort,
        agent_name,
        retry_of_run_id,

        -- what the span is
        span_name,
        span_kind,
        operation,
        is_llm_call,
        provider,
        provider_name as provider_reported,
        request_model,
        response_model,
        model,
        service_tier,
        tool_name,
        prompt_name,
        system_prompt_hash,
        service_name,
        scope_name,

        -- time and status
        started_at,
        ended_at,
        started_at::date as started_date,
        duration_ms,
        status,
        error_type,

        -- usage, disjoint kinds
        has_usage,
        token_convention,
        uncached_input_tokens,
        cache_read_tokens,
        cache_write_5m_tokens,
        cache_write_1h_tokens,
        cache_write_tokens,
        output_tokens,
        reasoning_tokens,
        input_tokens,

        -- lineage
        depth,
        _partition_date,
        _source_file

    from deduplicated

)

select * from final
