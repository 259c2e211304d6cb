-- Every provider's reported usage per day in one shape: provider × day × model × service tier ×
-- report, token kinds disjoint, with the price book's model id the reconciliation joins on.

with

usage as (

    {{ union_provider_models('provider_usage_models', empty_usage()) }}

),

model_ids as (

    select * from {{ ref('int_provider_model_ids') }}

),

daily as (

    select
        provider,
        usage_date,
        model,
        service_tier,
        usage_source,
        sum(uncached_input_tokens) as uncached_input_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_write_5m_tokens) as cache_write_5m_tokens,
        sum(cache_write_1h_tokens) as cache_write_1h_tokens,
        sum(output_tokens) as output_tokens,
        sum(requests) as requests
    from usage
    group by all

),

final as (

    select
        -- ids
        daily.provider,
        daily.usage_date,
        daily.model,
        model_ids.price_model_id,
        coalesce(model_ids.reconciliation_model, '(no model)') as reconciliation_model,
        daily.service_tier,
        {{ billed_outside_cost_report('daily.provider', 'daily.service_tier') }} as is_billed_outside_cost_report,

        -- tokens
        cast(daily.uncached_input_tokens as bigint) as uncached_input_tokens,
        cast(daily.cache_read_tokens as bigint) as cache_read_tokens,
        cast(daily.cache_write_5m_tokens as bigint) as cache_write_5m_tokens,
        cast(daily.cache_write_1h_tokens as bigint) as cache_write_1h_tokens,
        cast(daily.cache_write_5m_tokens + daily.cache_write_1h_tokens as bigint) as cache_write_tokens,
        cast(daily.output_tokens as bigint) as output_tokens,
        cast(
            daily.uncached_input_tokens + daily.cache_read_tokens + daily.cache_write_5m_tokens
            + daily.cache_write_1h_tokens + daily.output_tokens as bigint
        ) as total_tokens,
        cast(daily.requests as bigint) as requests,

        -- lineage
        daily.usage_source

    from daily
    left join model_ids
        on
            daily.provider = model_ids.provider
            and daily.model = model_ids.model

)

select * from final
