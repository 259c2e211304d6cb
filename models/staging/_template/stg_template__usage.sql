{{ config(enabled=false) }}
-- TEMPLATE: the provider's usage in the common usage columns (every stg_<provider>__usage has them),
-- one row per raw row: int_provider_usage_daily unions the models named in the var provider_usage_models.

with

usage as (

    select * from {{ source('template', 'template_usage') }}

),

renamed as (

    select
        -- ids
        'template' as provider,
        cast(bucket_starting_at as date) as usage_date,
        model,
        cast(null as varchar) as service_tier,

        -- tokens, disjoint kinds: this API's input_tokens exclude cache reads
        input_tokens as uncached_input_tokens,
        coalesce(cache_read_tokens, 0) as cache_read_tokens,
        cast(0 as bigint) as cache_write_5m_tokens,
        cast(0 as bigint) as cache_write_1h_tokens,
        output_tokens,
        requests,

        -- lineage
        'template_usage' as usage_source,
        _partition_date

    from usage

)

select * from renamed
