{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_window('started_at') }}",
    )
}}

-- Every LLM call priced at the price in force when it started, the way genai-prices prices it
-- (tests/integration/test_pricing_parity.py holds the two equal to 1e-8 USD). The model lookup
-- runs once per distinct (provider, model) reference; only the final price join touches every call.

with

spans as (

    select * from {{ ref('stg_otel__spans') }}
    where is_llm_call
    {% if is_incremental() %}
        and {{ in_window('started_at') }}
    {% endif %}

),

prices as (

    select * from {{ ref('stg_prices__model_prices') }}

),

match_rules as (

    select * from {{ ref('model_match_rules') }}

),

reported_refs as (

    -- genai-prices lower-cases the model reference, and lower-cases and trims the provider id
    select distinct
        provider,
        model,
        lower(trim(provider)) as provider_ref,
        lower(model) as model_ref
    from spans
    where model is not null

),

litellm_prefixes as (

    -- a LiteLLM reference names its provider before a slash (`openai/gpt-4.1`): genai-prices prices
    -- it as that provider's model when the prefix is a provider it knows
    select
        provider,
        model,
        split_part(model_ref, '/', 1) as prefix_ref,
        substr(model_ref, strpos(model_ref, '/') + 1) as unprefixed_model_ref
    from reported_refs
    where provider_ref = 'litellm' and contains(model_ref, '/')

),

provider_refs as (

    select provider_ref
    from reported_refs
    where provider_ref is not null
    union
    select prefix_ref
    from litellm_prefixes
    where prefix_ref <> ''

),

provider_id_hits as (

    select
        provider_refs.provider_ref,
        match_rules.lookup_provider_id,
        match_rules.match_order,
        match_rules.rule_no,
        bool_and(
            {{ match_clause('match_rules.clause_kind', 'match_rules.clause_value', 'provider_refs.provider_ref') }}
        ) as is_match
    from provider_refs
    inner join match_rules
        on match_rules.rule_scope = 'provider_by_id'
    group by all

),

providers_by_id as (

    -- exact genai-prices id first, then the first provider whose aliases match (bedrock → aws)
    select
        provider_ref,
        lookup_provider_id
    from provider_id_hits
    where is_match
    qualify row_number() over (partition by provider_ref order by match_order) = 1

),

model_refs as (

    -- LiteLLM names no provider of its own: a known prefix is the provider, else the provider is
    -- guessed from the model, as for a span that names none
    select
        reported_refs.provider,
        reported_refs.model,
        case
            when prefix_providers.provider_ref is not null then prefix_providers.provider_ref
            when reported_refs.provider_ref <> 'litellm' then reported_refs.provider_ref
        end as provider_ref,
        case
            when prefix_providers.provider_ref is not null then litellm_prefixes.unprefixed_model_ref
            else reported_refs.model_ref
        end as model_ref
    from reported_refs
    left join litellm_prefixes
        on
            reported_refs.provider is not distinct from litellm_prefixes.provider
            and reported_refs.model = litellm_prefixes.model
    left join providers_by_id as prefix_providers
        on litellm_prefixes.prefix_ref = prefix_providers.provider_ref

),

dashed_model_refs as (

    {{ dashed_model_refs('model_refs') }}

),

model_refs_dashed as (

    select
        model_refs.*,
        dashed_model_refs.model_ref_dashed
    from model_refs
    inner join dashed_model_refs
        on model_refs.model_ref = dashed_model_refs.model_ref

),

unnamed_provider_refs as (

    select distinct model_ref
    from model_refs
    where provider_ref is null

),

provider_model_hits as (

    select
        unnamed_provider_refs.model_ref,
        match_rules.lookup_provider_id,
        match_rules.match_order,
        match_rules.rule_no,
        bool_and(
            {{ match_clause('match_rules.clause_kind', 'match_rules.clause_value', 'unnamed_provider_refs.model_ref') }}
        ) as is_match
    from unnamed_provider_refs
    inner join match_rules
        on match_rules.rule_scope = 'provider_by_model'
    group by all

),

providers_by_model as (

    -- a span that names no provider: the first provider whose model pattern matches (claude → anthropic)
    select
        model_ref,
        lookup_provider_id
    from provider_model_hits
    where is_match
    qualify row_number() over (partition by model_ref order by match_order) = 1

),

lookups as (

    -- a span naming a provider genai-prices does not know stays unpriced, as in genai-prices
    select
        model_refs_dashed.*,
        coalesce(providers_by_id.lookup_provider_id, providers_by_model.lookup_provider_id) as lookup_provider_id
    from model_refs_dashed
    left join providers_by_id
        on model_refs_dashed.provider_ref = providers_by_id.provider_ref
    left join providers_by_model
        on
            model_refs_dashed.provider_ref is null
            and model_refs_dashed.model_ref = providers_by_model.model_ref

),

matched_models as (

    {{ matched_price_models('lookups', 'match_rules') }}

),

database_price_keys as (

    select
        provider,
        model,
        'genai-prices' as price_source,
        price_provider_id as key_provider_id,
        lower(price_model_id) as key_model_id,
        is_fallback_model as ignores_variants
    from matched_models

),

override_price_keys as (

    -- a negotiated rate may name the provider as reported or as genai-prices priced it, and the
    -- model by genai-prices' id or as reported (a model genai-prices does not know)
    select distinct
        lookups.provider,
        lookups.model,
        'override' as price_source,
        key_providers.key_provider_id,
        key_models.key_model_id,
        false as ignores_variants
    from lookups
    left join matched_models
        on
            lookups.provider is not distinct from matched_models.provider
            and lookups.model = matched_models.model
    cross join
        unnest(list_distinct([lookups.provider_ref, matched_models.price_provider_id]))
            as key_providers (key_provider_id)
    cross join
        unnest(list_distinct([lookups.model_ref, lower(matched_models.price_model_id)]))
            as key_models (key_model_id)

),

price_keys as (

    select * from database_price_keys
    union all
    select * from override_price_keys

),

key_prices as materialized (

    -- every price row each reference may pay; materialized so the call join below is an equi-join
    -- on (provider, model) and the period and tier conditions only filter its few matches
    select
        price_keys.provider as reference_provider,
        price_keys.model as reference_model,
        price_keys.ignores_variants,
        prices.*
    from price_keys
    inner join prices
        on
            price_keys.price_source = prices.price_source
            and price_keys.key_provider_id = prices.provider_id
            and price_keys.key_model_id = prices.model_key

),

call_price_candidates as (

    select
        spans.call_id,
        key_prices.*
    from spans
    inner join key_prices
        on
            spans.provider is not distinct from key_prices.reference_provider
            and spans.model = key_prices.reference_model
    where
        (key_prices.effective_from is null or spans.started_at >= key_prices.effective_from)
        and (key_prices.effective_to is null or spans.started_at < key_prices.effective_to)
        and {{ time_of_day_between('spans.started_at', 'key_prices.time_of_day_from', 'key_prices.time_of_day_to') }}
        -- long-context tier from the call's total input; a call without usage pays the base tier
        and coalesce(spans.input_tokens, 0) > coalesce(key_prices.input_tokens_above, -1)
        and (key_prices.input_tokens_up_to is null or coalesce(spans.input_tokens, 0) <= key_prices.input_tokens_up_to)
        and (
            key_prices.variant = 'standard'
            or (key_prices.variant = spans.service_tier and not key_prices.ignores_variants)
        )

),

call_prices as (

    -- overrides first; a service tier's own price before the standard one
    select * from call_price_candidates
    qualify row_number() over (
        partition by call_id
        order by
            price_precedence asc,
            variant = 'standard' asc,
            effective_from desc nulls last,
            input_tokens_above desc nulls last
    ) = 1

),

calls_with_prices as (

    -- a token kind without its own price is charged at its parent's, as genai-prices decomposes
    -- usage: cache reads and writes at the input price, 5 m / 1 h writes at the cache-write price
    select
        spans.*,
        call_prices.call_id is not null as is_priced,
        call_prices.provider_id as price_provider_id,
        call_prices.model_id as price_model_id,
        call_prices.price_source,
        call_prices.variant as price_variant,
        coalesce(call_prices.input_tokens_above is not null, false) as is_long_context,
        call_prices.input_usd_per_token,
        coalesce(call_prices.cache_read_usd_per_token, call_prices.input_usd_per_token)
            as cache_read_usd_per_token,
        coalesce(
            call_prices.cache_write_5m_usd_per_token,
            call_prices.cache_write_usd_per_token,
            call_prices.input_usd_per_token
        ) as cache_write_5m_usd_per_token,
        coalesce(
            call_prices.cache_write_1h_usd_per_token,
            call_prices.cache_write_usd_per_token,
            call_prices.input_usd_per_token
        ) as cache_write_1h_usd_per_token,
        call_prices.output_usd_per_token,
        call_prices.output_reasoning_usd_per_token,
        call_prices.usd_per_request
    from spans
    left join call_prices
        on spans.call_id = call_prices.call_id

),

component_costs as (

    select
        *,
        {{ token_cost('uncached_input_tokens', 'input_usd_per_token') }} as uncached_input_usd,
        {{ token_cost('cache_read_tokens', 'cache_read_usd_per_token') }} as cache_read_usd,
        {{ token_cost('cache_write_5m_tokens', 'cache_write_5m_usd_per_token') }}
        + {{ token_cost('cache_write_1h_tokens', 'cache_write_1h_usd_per_token') }} as cache_write_usd,
        case
            when output_reasoning_usd_per_token is null
                then {{ token_cost('output_tokens', 'output_usd_per_token') }}
            else
                {{ token_cost('output_tokens - coalesce(reasoning_tokens, 0)', 'output_usd_per_token') }}
                + {{ token_cost('reasoning_tokens', 'output_reasoning_usd_per_token') }}
        end as output_usd,
        cast(coalesce(usd_per_request, 0) as decimal(38, 10)) as request_usd,
        -- the same call with no prompt cache: every input token at the uncached input price
        {{ token_cost(
            'coalesce(uncached_input_tokens, 0) + coalesce(cache_read_tokens, 0)'
            ~ ' + coalesce(cache_write_5m_tokens, 0) + coalesce(cache_write_1h_tokens, 0)',
            'input_usd_per_token'
        ) }} as all_input_at_uncached_usd
    from calls_with_prices

),

final as (

    select
        -- ids
        call_id,
        trace_id,
        span_id,
        run_id,
        workflow,
        account_id,
        agent_name,

        -- the call
        reasoning_effort,
        operation,
        -- LiteLLM is no provider: its calls are the priced provider's (price_provider_id), as a span's
        -- that names none, so the provider's bill and reports meet them
        case when lower(trim(provider)) <> 'litellm' then provider end as provider,
        request_model,
        response_model,
        model,
        service_tier,
        prompt_name,
        system_prompt_hash,
        started_at,
        ended_at,
        status,
        is_llm_call,
        has_usage,

        -- tokens
        uncached_input_tokens,
        cache_read_tokens,
        cache_write_5m_tokens,
        cache_write_1h_tokens,
        cache_write_tokens,
        output_tokens,
        reasoning_tokens,
        input_tokens,

        -- the price applied
        price_provider_id,
        price_model_id,
        price_source,
        price_variant,
        is_priced,
        {{ call_needs_price() }} as needs_price,
        is_long_context,

        -- money: 0 for a failed call without usage, NULL (never 0) when the cost is unknown
        {{ call_money('uncached_input_usd') }} as uncached_input_cost_usd,
        {{ call_money('cache_read_usd') }} as cache_read_cost_usd,
        {{ call_money('cache_write_usd') }} as cache_write_cost_usd,
        {{ call_money('output_usd') }} as output_cost_usd,
        {{ call_money('request_usd') }} as request_cost_usd,
        {{ call_money('uncached_input_usd + cache_read_usd + cache_write_usd + output_usd + request_usd') }} as cost_usd,
        {{ call_money('all_input_at_uncached_usd + output_usd + request_usd') }} as no_cache_cost_usd,

        _partition_date

    from component_costs

)

-- rows in start order: the next runs' window filters on started_at then skip every other row group
-- (DuckDB zone maps), so a night reads a day's rows, not all history's
select * from final
order by started_at
