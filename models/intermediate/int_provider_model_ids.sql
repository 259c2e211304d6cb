-- The price book's model id of every model a provider names in its usage or cost reports, found by
-- genai-prices' own matching rules (seeds/model_match_rules.csv) as int_llm_calls_priced finds it
-- for traced calls: the provider's rules first, then its fallback providers'; the reference as
-- reported, then with a compact date dashed. Reports name dated snapshots (`claude-sonnet-4-5-20250929`,
-- `gpt-4.1-2025-04-14`), traces often the alias: both land on the same id (`claude-sonnet-4-5`).

with

usage_models as (

    {{ union_provider_models(
        'provider_usage_models',
        'select cast(null as varchar) as provider, cast(null as varchar) as model where false'
    ) }}

),

cost_models as (

    {{ union_provider_models(
        'provider_cost_models',
        'select cast(null as varchar) as provider, cast(null as varchar) as model where false'
    ) }}

),

match_rules as (

    select * from {{ ref('model_match_rules') }}

),

reported as (

    select distinct
        provider,
        model,
        lower(trim(provider)) as provider_ref,
        lower(model) as model_ref
    from (
        select
            provider,
            model
        from usage_models
        union all
        select
            provider,
            model
        from cost_models
    ) as named
    where model is not null

),

dashed_refs as (

    {{ dashed_model_refs('reported') }}

),

lookups as (

    -- a provider's report names the provider itself: its id is the lookup provider
    select
        reported.provider,
        reported.model,
        reported.model_ref,
        dashed_refs.model_ref_dashed,
        reported.provider_ref as lookup_provider_id
    from reported
    inner join dashed_refs on reported.model_ref = dashed_refs.model_ref

),

matched as (

    {{ matched_price_models('lookups', 'match_rules') }}

),

final as (

    select
        reported.provider,
        reported.model,
        matched.price_model_id,
        -- the key both sides of the reconciliation meet on: the price book's id, else the name as reported
        coalesce(matched.price_model_id, reported.model_ref) as reconciliation_model
    from reported
    left join matched
        on
            reported.provider = matched.provider
            and reported.model = matched.model

)

select * from final
