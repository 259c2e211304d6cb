{{ config(enabled=false) }}
-- TEMPLATE: the provider's billed cost in the common cost columns (every stg_<provider>__costs has
-- them), one row per raw row: int_provider_cost_daily unions the models named in the var provider_cost_models.

with

costs as (

    select * from {{ source('template', 'template_costs') }}

),

renamed as (

    select
        -- ids
        'template' as provider,
        cast(bucket_starting_at as date) as usage_date,
        model,
        cast(null as varchar) as service_tier,
        case token_type
            when 'input' then 'uncached_input'
            when 'cache_read' then 'cache_read'
            when 'output' then 'output'
        end as token_kind,
        token_type as description,

        -- money
        {{ money('amount_usd') }} as billed_cost_usd,

        -- lineage
        'template_costs' as cost_source,
        _partition_date

    from costs

)

select * from renamed
