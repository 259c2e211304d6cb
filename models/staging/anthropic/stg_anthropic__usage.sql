-- Anthropic messages usage in the common usage columns, one row per raw row. The report's kinds are
-- already disjoint (reference §A.1): uncached input, cache reads, 5-minute and 1-hour cache writes,
-- output (thinking included). The report counts no requests.

with

usage as (

    select * from {{ source('anthropic', 'anthropic_usage') }}

),

renamed as (

    select
        -- ids
        'anthropic' as provider,
        cast(bucket_starting_at as date) as usage_date,
        model,
        lower(service_tier) as service_tier,

        -- tokens, disjoint kinds
        uncached_input_tokens,
        cache_read_input_tokens as cache_read_tokens,
        coalesce(cache_creation_ephemeral_5m_input_tokens, 0) as cache_write_5m_tokens,
        coalesce(cache_creation_ephemeral_1h_input_tokens, 0) as cache_write_1h_tokens,
        output_tokens,
        cast(null as bigint) as requests,

        -- lineage
        'anthropic_usage_report' as usage_source,
        _partition_date

    from usage

)

select * from renamed
