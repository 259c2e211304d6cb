-- OpenAI completions and embeddings usage in the common usage columns, one row per raw row. OpenAI's
-- input_tokens include cached and cache-write tokens (reference §B.1): the uncached part is what
-- remains, unless the newer input_uncached_tokens says it directly. Batch requests are the `batch`
-- service tier. An embedding's tokens are all uncached input (rows loaded before the endpoint
-- column existed are completions).

with

usage as (

    select * from {{ source('openai', 'openai_usage') }}

),

renamed as (

    select
        -- ids
        'openai' as provider,
        cast(make_timestamp(start_time * 1000000) as date) as usage_date,
        model,
        case when batch then 'batch' else lower(service_tier) end as service_tier,

        -- tokens, disjoint kinds
        coalesce(
            input_uncached_tokens,
            input_tokens - coalesce(input_cached_tokens, 0) - coalesce(input_cache_write_tokens, 0)
        ) as uncached_input_tokens,
        coalesce(input_cached_tokens, 0) as cache_read_tokens,
        coalesce(input_cache_write_tokens, 0) as cache_write_5m_tokens,
        cast(0 as bigint) as cache_write_1h_tokens,
        output_tokens,
        num_model_requests as requests,

        -- lineage
        'openai_usage_' || coalesce(endpoint, 'completions') as usage_source,
        _partition_date

    from usage

)

select * from renamed
