-- Anthropic's cost report in the common cost columns, one row per raw row: amounts were cents as
-- decimal strings, loaded with their exact USD value. Grouped by description, token lines carry the
-- model, service tier and token type; other costs (web search, code execution) carry none.

with

costs as (

    select * from {{ source('anthropic', 'anthropic_costs') }}

),

renamed as (

    select
        -- ids
        'anthropic' as provider,
        cast(bucket_starting_at as date) as usage_date,
        model,
        lower(service_tier) as service_tier,
        case token_type
            when 'uncached_input_tokens' then 'uncached_input'
            when 'cache_read_input_tokens' then 'cache_read'
            when 'cache_creation.ephemeral_5m_input_tokens' then 'cache_write'
            when 'cache_creation.ephemeral_1h_input_tokens' then 'cache_write'
            when 'output_tokens' then 'output'
        end as token_kind,
        description,

        -- money
        {{ money('amount_usd') }} as billed_cost_usd,

        -- lineage
        'anthropic_cost_report' as cost_source,
        _partition_date

    from costs

)

select * from renamed
