-- One price book: negotiated overrides and genai-prices' list prices, typed, with per-token prices.
-- Overrides win: `price_precedence` 1 beats 2 when int_llm_calls_priced picks a call's price.

with

database_prices as (

    select * from {{ ref('model_prices') }}

),

override_prices as (

    -- times of day load as text (seeds/_seeds__prices.yml: a bare UTC time, checked there)
    select
        * replace (
            cast(trim(cast(time_of_day_from as varchar)) as time) as time_of_day_from,
            cast(trim(cast(time_of_day_to as varchar)) as time) as time_of_day_to
        )
    from {{ ref('price_overrides') }}

),

combined as (

    select
        'override' as price_source,
        1 as price_precedence,
        *
    from override_prices

    union all by name

    select
        'genai-prices' as price_source,
        2 as price_precedence,
        *
    from database_prices

),

normalized as (

    select
        -- ids
        price_source,
        price_precedence,
        lower(trim(provider_id)) as provider_id,
        model_id,
        -- genai-prices compares model references lower-cased; overrides may be typed either way
        lower(trim(model_id)) as model_key,
        coalesce(nullif(trim(variant), ''), 'standard') as variant,

        -- when the price applies
        effective_from,
        effective_to,
        time_of_day_from,
        time_of_day_to,
        input_tokens_above,
        input_tokens_up_to,

        -- list prices, per million tokens (per thousand requests)
        cast(input_usd_per_mtok as decimal(38, 18)) as input_usd_per_mtok,
        cast(cache_read_usd_per_mtok as decimal(38, 18)) as cache_read_usd_per_mtok,
        cast(cache_write_usd_per_mtok as decimal(38, 18)) as cache_write_usd_per_mtok,
        cast(cache_write_5m_usd_per_mtok as decimal(38, 18)) as cache_write_5m_usd_per_mtok,
        cast(cache_write_1h_usd_per_mtok as decimal(38, 18)) as cache_write_1h_usd_per_mtok,
        cast(output_usd_per_mtok as decimal(38, 18)) as output_usd_per_mtok,
        cast(output_reasoning_usd_per_mtok as decimal(38, 18)) as output_reasoning_usd_per_mtok,
        cast(requests_usd_per_k as decimal(38, 18)) as requests_usd_per_k,

        -- the same prices per unit, exact decimals
        {{ usd_per_token('input_usd_per_mtok') }} as input_usd_per_token,
        {{ usd_per_token('cache_read_usd_per_mtok') }} as cache_read_usd_per_token,
        {{ usd_per_token('cache_write_usd_per_mtok') }} as cache_write_usd_per_token,
        {{ usd_per_token('cache_write_5m_usd_per_mtok') }} as cache_write_5m_usd_per_token,
        {{ usd_per_token('cache_write_1h_usd_per_mtok') }} as cache_write_1h_usd_per_token,
        {{ usd_per_token('output_usd_per_mtok') }} as output_usd_per_token,
        {{ usd_per_token('output_reasoning_usd_per_mtok') }} as output_reasoning_usd_per_token,
        cast(requests_usd_per_k * 0.001 as decimal(38, 18)) as usd_per_request

    from combined

)

select * from normalized
