-- FOCUS usage rows that count tokens, in the common usage columns (one token kind per row).

with

charges as (

    select * from {{ ref('stg_focus__charges') }}
    where charge_category = 'Usage' and tokens is not null

),

renamed as (

    select
        -- ids
        provider,
        usage_date,
        model,
        service_tier,

        -- tokens, disjoint kinds; FOCUS does not say a cache write's lifetime: priced as 5 minutes
        case when token_kind = 'uncached_input' then tokens else 0 end as uncached_input_tokens,
        case when token_kind = 'cache_read' then tokens else 0 end as cache_read_tokens,
        case when token_kind = 'cache_write' then tokens else 0 end as cache_write_5m_tokens,
        cast(0 as bigint) as cache_write_1h_tokens,
        case when token_kind = 'output' then tokens else 0 end as output_tokens,
        cast(null as bigint) as requests,

        -- lineage
        'focus' as usage_source,
        _partition_date

    from charges

)

select * from renamed
