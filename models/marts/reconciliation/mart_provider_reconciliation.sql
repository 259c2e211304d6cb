{#-
    Traced vs billed, per provider, day and model (DESIGN §4 "Reconciliation").

    Both sides meet on the price book's model id: traced calls carry the one they were priced by
    (int_llm_calls_priced.price_model_id, e.g. `claude-sonnet-4-5` for a span that answered
    `claude-sonnet-4-5-20250929`), and the providers' own names are matched by the same rules
    (int_provider_model_ids: `gpt-4.1-2025-04-14` → `gpt-4.1`); a model no price book knows meets
    on its name as reported, lower case.

    Token totals count all input (uncached, cache read, cache write) plus output on both sides.
    Untraced spend is the billed cost no trace explains, kind by kind: the bill for a token kind
    times the share of that kind's reported tokens the traces do not hold. The billed factor is
    what the provider charged per rack dollar of the traced usage, once the untraced part is set
    aside: (billed − untraced) ÷ rack. It carries credits, discounts and price-book differences,
    never untraced traffic, so runs' billed cost (rack × factor) and the untraced spend add up to
    the bill instead of counting the untraced part twice.

    Anthropic Priority Tier usage is billed outside the cost report (reference §A.2): it is shown
    as `priority_tier_tokens`, left out of the token totals on both sides, and a row with nothing
    else is `priority_tier`, not a gap.

    The traced side comes summed by provider, day and model (int_traced_usage_daily, incremental:
    a night re-reads the window's calls only); the providers' side is small and re-read whole.
-#}

with

traced as (

    select * from {{ ref('int_traced_usage_daily') }}

),

usage as (

    select * from {{ ref('int_provider_usage_daily') }}

),

costs as (

    select * from {{ ref('int_provider_cost_daily') }}

),

reported as (

    select
        provider,
        usage_date,
        reconciliation_model as model,
        cast(coalesce(sum(uncached_input_tokens) filter (where not is_billed_outside_cost_report), 0) as bigint)
            as uncached_input_tokens,
        cast(coalesce(sum(cache_read_tokens) filter (where not is_billed_outside_cost_report), 0) as bigint)
            as cache_read_tokens,
        cast(coalesce(sum(cache_write_tokens) filter (where not is_billed_outside_cost_report), 0) as bigint)
            as cache_write_tokens,
        cast(coalesce(sum(output_tokens) filter (where not is_billed_outside_cost_report), 0) as bigint)
            as output_tokens,
        cast(coalesce(sum(total_tokens) filter (where is_billed_outside_cost_report), 0) as bigint)
            as priority_tier_tokens,
        cast(sum(requests) filter (where not is_billed_outside_cost_report) as bigint) as requests,
        string_agg(distinct model, ', ' order by model) as reported_models
    from usage
    group by all

),

billed as (

    select
        provider,
        usage_date,
        reconciliation_model as model,
        {{ money('sum(billed_cost_usd)') }} as billed_cost_usd,
        {{ money("coalesce(sum(billed_cost_usd) filter (where token_kind = 'uncached_input'), 0)") }}
            as uncached_input_usd,
        {{ money("coalesce(sum(billed_cost_usd) filter (where token_kind = 'cache_read'), 0)") }} as cache_read_usd,
        {{ money("coalesce(sum(billed_cost_usd) filter (where token_kind = 'cache_write'), 0)") }} as cache_write_usd,
        {{ money("coalesce(sum(billed_cost_usd) filter (where token_kind = 'output'), 0)") }} as output_usd,
        {{ money('coalesce(sum(billed_cost_usd) filter (where token_kind is null), 0)') }} as other_usd
    from costs
    group by all

),

provider_day_sources as (

    select distinct
        provider,
        usage_date,
        true as has_usage_report,
        false as has_cost_report
    from usage

    union all

    select distinct
        provider,
        usage_date,
        false as has_usage_report,
        true as has_cost_report
    from costs

),

provider_days as (

    select
        provider,
        usage_date,
        bool_or(has_usage_report) as has_usage_report,
        bool_or(has_cost_report) as has_cost_report
    from provider_day_sources
    group by all

),

row_keys as (

    select
        provider,
        usage_date,
        model
    from traced

    union

    select
        provider,
        usage_date,
        model
    from reported

    union

    select
        provider,
        usage_date,
        model
    from billed

),

joined as (

    select
        row_keys.provider,
        row_keys.usage_date,
        row_keys.model,
        coalesce(provider_days.has_usage_report, false) as has_usage_report,
        coalesce(provider_days.has_cost_report, false) as has_cost_report,
        traced.traced_models,
        reported.reported_models,
        coalesce(traced.traced_calls, 0) as traced_calls,
        coalesce(traced.unpriced_calls, 0) as unpriced_calls,
        reported.requests as reported_requests,

        -- tokens by kind; a provider-day with a usage report reports 0 for a model it does not list
        cast(coalesce(traced.uncached_input_tokens, 0) as bigint) as traced_uncached_input_tokens,
        cast(coalesce(traced.cache_read_tokens, 0) as bigint) as traced_cache_read_tokens,
        cast(coalesce(traced.cache_write_tokens, 0) as bigint) as traced_cache_write_tokens,
        cast(coalesce(traced.output_tokens, 0) as bigint) as traced_output_tokens,
        case when provider_days.has_usage_report then coalesce(reported.uncached_input_tokens, 0) end
            as reported_uncached_input_tokens,
        case when provider_days.has_usage_report then coalesce(reported.cache_read_tokens, 0) end
            as reported_cache_read_tokens,
        case when provider_days.has_usage_report then coalesce(reported.cache_write_tokens, 0) end
            as reported_cache_write_tokens,
        case when provider_days.has_usage_report then coalesce(reported.output_tokens, 0) end
            as reported_output_tokens,
        coalesce(reported.priority_tier_tokens, 0) as priority_tier_tokens,

        -- money
        -- a model none of whose traced calls has a price has no rack cost to show: NULL, never $0
        case
            when traced.traced_calls > 0 and traced.unpriced_calls = traced.traced_calls then null
            else coalesce(traced.rack_cost_usd, {{ money(0) }})
        end as rack_cost_usd,
        case when provider_days.has_cost_report then coalesce(billed.billed_cost_usd, {{ money(0) }}) end
            as billed_cost_usd,
        coalesce(billed.uncached_input_usd, {{ money(0) }}) as billed_uncached_input_usd,
        coalesce(billed.cache_read_usd, {{ money(0) }}) as billed_cache_read_usd,
        coalesce(billed.cache_write_usd, {{ money(0) }}) as billed_cache_write_usd,
        coalesce(billed.output_usd, {{ money(0) }}) as billed_output_usd,
        coalesce(billed.other_usd, {{ money(0) }}) as billed_other_usd

    from row_keys
    left join provider_days
        on row_keys.provider = provider_days.provider and row_keys.usage_date = provider_days.usage_date
    left join traced
        on
            row_keys.provider = traced.provider
            and row_keys.usage_date = traced.usage_date
            and row_keys.model = traced.model
    left join reported
        on
            row_keys.provider = reported.provider
            and row_keys.usage_date = reported.usage_date
            and row_keys.model = reported.model
    left join billed
        on
            row_keys.provider = billed.provider
            and row_keys.usage_date = billed.usage_date
            and row_keys.model = billed.model

),

totals as (

    select
        *,
        traced_uncached_input_tokens + traced_cache_read_tokens + traced_cache_write_tokens
        + traced_output_tokens as traced_tokens,
        reported_uncached_input_tokens + reported_cache_read_tokens + reported_cache_write_tokens
        + reported_output_tokens as reported_tokens
    from joined

),

unexplained as (

    select
        *,
        case
            when reported_tokens is not null and billed_cost_usd is not null
                then {{ money(
                    unexplained_billed('billed_uncached_input_usd', 'reported_uncached_input_tokens',
                        'traced_uncached_input_tokens', 'reported_tokens', 'traced_tokens')
                    ~ ' + ' ~ unexplained_billed('billed_cache_read_usd', 'reported_cache_read_tokens',
                        'traced_cache_read_tokens', 'reported_tokens', 'traced_tokens')
                    ~ ' + ' ~ unexplained_billed('billed_cache_write_usd', 'reported_cache_write_tokens',
                        'traced_cache_write_tokens', 'reported_tokens', 'traced_tokens')
                    ~ ' + ' ~ unexplained_billed('billed_output_usd', 'reported_output_tokens',
                        'traced_output_tokens', 'reported_tokens', 'traced_tokens')
                    ~ ' + ' ~ unexplained_billed('billed_other_usd', 'reported_tokens',
                        'traced_tokens', 'reported_tokens', 'traced_tokens')
                ) }}
        end as untraced_spend_usd,
        {{ divide_exact('100 * (reported_tokens - traced_tokens)', 'reported_tokens') }} as token_gap_pct
    from totals

),

final as (

    select
        -- ids
        provider,
        usage_date,
        model,

        -- tokens: all input plus output, then by kind
        traced_tokens,
        reported_tokens,
        token_gap_pct,
        traced_uncached_input_tokens,
        reported_uncached_input_tokens,
        traced_cache_read_tokens,
        reported_cache_read_tokens,
        traced_cache_write_tokens,
        reported_cache_write_tokens,
        traced_output_tokens,
        reported_output_tokens,
        priority_tier_tokens,
        traced_calls,
        unpriced_calls,
        reported_requests,

        -- money
        rack_cost_usd,
        billed_cost_usd,
        -- an unpriced call's usage is billed but has no rack cost: the ratio would overstate the factor
        case
            when unpriced_calls = 0
                then {{ divide_exact('billed_cost_usd - coalesce(untraced_spend_usd, 0)', 'rack_cost_usd') }}
        end as billed_factor,
        untraced_spend_usd,

        -- verdict
        case
            when not has_usage_report and not has_cost_report then 'no_provider_data'
            when
                traced_tokens = 0 and coalesce(reported_tokens, 0) = 0
                and coalesce(billed_cost_usd, 0) = 0 and priority_tier_tokens > 0
                then 'priority_tier'
            when reported_tokens > 0 and abs(token_gap_pct) <= {{ var('reconciliation_tolerance_pct') }} then 'ok'
            when reported_tokens > 0 and token_gap_pct > 0 then 'provider_higher'
            when reported_tokens is not null and traced_tokens > 0 then 'traced_higher'
            -- no tokens on either side (or no usage report): compare money
            when billed_cost_usd is null then 'traced_higher'
            -- (a rack cost no call prices counts as nothing against the bill)
            when
                abs(billed_cost_usd - coalesce(rack_cost_usd, 0)) * 100
                <= {{ var('reconciliation_tolerance_pct') }}
                * greatest(abs(billed_cost_usd), abs(coalesce(rack_cost_usd, 0)))
                then 'ok'
            when billed_cost_usd > coalesce(rack_cost_usd, 0) then 'provider_higher'
            else 'traced_higher'
        end as status,

        -- the names each side used
        traced_models,
        reported_models

    from unexplained

)

select * from final
