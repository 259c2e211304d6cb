-- FOCUS charge rows, typed and normalized once for both common shapes: the provider as genai-prices
-- names it (ProviderName, else PublisherName, else the first word of ProviderName, through
-- seeds/provider_aliases.csv: "Google Cloud" → google), the model from Tags.model (or an x_Model
-- column), the token kind from seeds/focus_token_meters.csv, and tokens from ConsumedQuantity in
-- its unit ("Tokens", "1000 Tokens", "1K Tokens", "1M Tokens"). Only AI and Machine Learning charges
-- are LLM spend.

{%- set unit_pattern = '(?i)^\\s*([0-9]+)?\\s*(k|thousand|m|million)?\\s*tokens?\\s*$' %}

with

charges as (

    select * from {{ source('focus', 'focus_charges') }}

),

aliases as (

    select * from {{ ref('provider_aliases') }}

),

meters as (

    select * from {{ ref('focus_token_meters') }}

),

named as (

    select
        *,
        lower(trim(provider_name)) as provider_ref,
        lower(trim(publisher_name)) as publisher_ref,
        split_part(lower(trim(provider_name)), ' ', 1) as provider_first_word,
        coalesce(tags ->> 'model', extra_columns ->> 'x_Model', extra_columns ->> 'x_model') as tagged_model,
        lower(coalesce(tags ->> 'service_tier', extra_columns ->> 'x_ServiceTier')) as tagged_service_tier,
        -- "[count][k|m|thousand|million] tokens": "1000 Tokens", "1K Tokens", "1M Tokens", "Tokens"
        coalesce(try_cast(nullif(regexp_extract(consumed_unit, '{{ unit_pattern }}', 1), '') as bigint), 1)
        * case lower(regexp_extract(consumed_unit, '{{ unit_pattern }}', 2))
            when 'k' then 1000
            when 'thousand' then 1000
            when 'm' then 1000000
            when 'million' then 1000000
            else 1
        end as tokens_per_unit,
        regexp_matches(coalesce(consumed_unit, ''), '(?i)tokens?\s*$') as is_token_unit
    from charges

),

renamed as (

    select
        -- ids
        coalesce(by_provider.provider, by_publisher.provider, by_first_word.provider, named.provider_ref)
            as provider,
        cast(named.charge_period_start as date) as usage_date,
        named.tagged_model as model,
        named.tagged_service_tier as service_tier,
        case when named.is_token_unit then meters.token_kind end as token_kind,
        named.charge_description as description,
        named.charge_category,
        named.charge_class,
        named.service_name,
        named.service_category,
        named.sku_id,
        named.sku_meter,

        -- quantities
        case
            when named.is_token_unit and meters.token_kind is not null
                then cast(round(named.consumed_quantity * named.tokens_per_unit) as bigint)
        end as tokens,

        -- money
        {{ money('named.billed_cost') }} as billed_cost_usd,
        {{ money('named.effective_cost') }} as effective_cost_usd,
        {{ money('named.list_cost') }} as list_cost_usd,

        -- lineage
        named.billing_account_id,
        named.billing_period_start,
        named._source_file,
        named._line_number,
        named._partition_date

    from named
    left join aliases as by_provider on named.provider_ref = by_provider.alias
    left join aliases as by_publisher on named.publisher_ref = by_publisher.alias
    left join aliases as by_first_word on named.provider_first_word = by_first_word.alias
    left join meters on lower(trim(named.sku_meter)) = meters.sku_meter
    where named.service_category = 'AI and Machine Learning'

)

select * from renamed
