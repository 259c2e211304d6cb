{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_window('usage_date') }}",
    )
}}

{#-
    The traced side of the provider reconciliation: one row per provider, day and model (the price
    book's id, else the traced name lower-cased) with the calls' tokens and rack cost, usage a
    provider bills outside its cost report (Anthropic Priority Tier) left out, as
    mart_provider_reconciliation compares it with the providers' reports.

    Incremental: the days int_llm_calls_priced rewrites (the window and the lookback) are
    recomputed from their calls; other days' rows stay, so a night reads a few days of calls, not
    all history's. The providers' side is re-read whole by the mart (their reports restate past days).
-#}

with

calls as (

    select * from {{ ref('int_llm_calls_priced') }}
    where has_usage
    {% if is_incremental() %}
        and {{ in_window('started_at') }}
    {% endif %}

),

traced_calls as (

    select
        -- a span naming no provider, on a model no price book knows: '(unknown)' (a provider the
        -- aliases do not know keeps the name the span gives it)
        coalesce(provider, price_provider_id, '(unknown)') as provider,
        cast(started_at as date) as usage_date,
        coalesce(price_model_id, lower(model), '(no model)') as model,
        model as traced_model,
        {{ billed_outside_cost_report('coalesce(provider, price_provider_id)', 'service_tier') }} as is_outside,
        coalesce(uncached_input_tokens, 0) as uncached_input_tokens,
        coalesce(cache_read_tokens, 0) as cache_read_tokens,
        coalesce(cache_write_tokens, 0) as cache_write_tokens,
        coalesce(output_tokens, 0) as output_tokens,
        cost_usd,
        needs_price
    from calls

),

final as (

    select
        provider,
        usage_date,
        model,
        count(*) filter (where not is_outside) as traced_calls,
        count(*) filter (where not is_outside and needs_price) as unpriced_calls,
        coalesce(sum(uncached_input_tokens) filter (where not is_outside), 0) as uncached_input_tokens,
        coalesce(sum(cache_read_tokens) filter (where not is_outside), 0) as cache_read_tokens,
        coalesce(sum(cache_write_tokens) filter (where not is_outside), 0) as cache_write_tokens,
        coalesce(sum(output_tokens) filter (where not is_outside), 0) as output_tokens,
        {{ money('coalesce(sum(cost_usd) filter (where not is_outside), 0)') }} as rack_cost_usd,
        string_agg(distinct traced_model, ', ' order by traced_model) as traced_models
    from traced_calls
    group by all

)

select * from final
