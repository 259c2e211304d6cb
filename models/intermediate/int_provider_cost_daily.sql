-- Every provider's billed cost per day in one shape: provider × day × model (where the bill names
-- one) × service tier × token kind × report, in USD, with the price book's model id.

with

costs as (

    {{ union_provider_models('provider_cost_models', empty_costs()) }}

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
        token_kind,
        cost_source,
        {{ money('sum(billed_cost_usd)') }} as billed_cost_usd,
        count(*) as line_items
    from costs
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
        daily.token_kind,

        -- money
        daily.billed_cost_usd,
        daily.line_items,

        -- lineage
        daily.cost_source

    from daily
    left join model_ids
        on
            daily.provider = model_ids.provider
            and daily.model = model_ids.model

)

select * from final
