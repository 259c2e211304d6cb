{{ config(materialized='view') }}

with

runs as (

    select * from {{ ref('int_runs_rolled_up') }}

),

run_costs as (

    select * from {{ ref('int_run_provider_day_costs') }}

),

reconciliation as (

    select * from {{ ref('mart_provider_reconciliation') }}

),

provider_day_factors as (

    -- what the provider billed per rack dollar of traced usage that day, over the models it billed
    -- whose traced calls all have a price: an unpriced model's bill has no rack cost to weigh, and
    -- would be spread over the other models' runs
    select
        provider,
        usage_date,
        {{ divide_exact(
            'sum(billed_cost_usd - coalesce(untraced_spend_usd, 0)) filter (where unpriced_calls = 0)',
            'sum(rack_cost_usd) filter (where unpriced_calls = 0)'
        ) }} as billed_factor
    from reconciliation
    where billed_cost_usd is not null
    group by all

),

costs_with_factors as (

    select
        run_costs.run_id,
        run_costs.started_at,
        run_costs.run_date,
        run_costs.cost_usd,
        run_costs.costed_calls,
        run_costs.unpriced_calls,
        run_costs.is_billed_outside_cost_report,
        provider_day_factors.provider is not null as has_bill,
        provider_day_factors.billed_factor
    from run_costs
    left join provider_day_factors
        on
            run_costs.provider = provider_day_factors.provider
            and run_costs.usage_date = provider_day_factors.usage_date

),

call_billing as (

    -- each call's rack cost at its provider-day's billed factor (one factor per provider-day, so
    -- summed per provider-day first); a costed call without one (no bill for that provider and
    -- day, or usage billed outside the cost report), or an unpriced call of a provider-day that was
    -- billed (its share of the bill is unknown), leaves the run unbilled
    select
        run_id,
        started_at,
        run_date,
        coalesce(sum(costed_calls) filter (where billed_factor is null or is_billed_outside_cost_report), 0)
        + coalesce(sum(unpriced_calls) filter (where has_bill), 0) as calls_without_bill,
        -- rows summed before int_run_provider_day_costs counted unpriced calls do not say
        coalesce(bool_or(has_bill and unpriced_calls is null), false) as has_uncounted_billed_calls,
        {{ money('coalesce(sum(cost_usd * billed_factor), 0)') }} as billed_cost_usd
    from costs_with_factors
    group by run_id, started_at, run_date

),

final as (

    select
        -- ids
        runs.run_id,
        runs.workflow,
        runs.account_id,
        runs.retry_of_run_id,

        -- time
        runs.started_at,
        runs.run_date,
        runs.ended_at,

        -- outcome
        runs.outcome,
        runs.outcome_source,
        runs.is_retry,
        runs.is_escalated as escalated,
        runs.rework_minutes,
        runs.rework_cost_usd,

        -- shape
        runs.reasoning_effort,
        runs.llm_calls,
        runs.failed_calls,
        runs.unpriced_calls,
        runs.quarantined_spans,
        runs.agents,
        runs.tool_calls,
        cast(runs.total_tokens as bigint) as total_tokens,
        cast(runs.uncached_input_tokens as bigint) as uncached_input_tokens,
        cast(runs.cache_read_tokens as bigint) as cache_read_tokens,
        cast(runs.cache_write_tokens as bigint) as cache_write_tokens,
        cast(runs.output_tokens as bigint) as output_tokens,
        cast(runs.reasoning_tokens as bigint) as reasoning_tokens,

        -- money
        runs.cost_usd,
        case
            when
                coalesce(call_billing.calls_without_bill, 0) = 0
                -- where the day's rows do not count unpriced calls, the run's own flag tells
                and not (coalesce(call_billing.has_uncounted_billed_calls, false) and not runs.fully_priced)
                then coalesce(call_billing.billed_cost_usd, {{ money(0) }})
        end as billed_cost_usd,
        runs.no_cache_cost_usd,
        runs.fully_priced

    from runs
    -- joined on the start and day too: a filter on either reaches int_run_provider_day_costs
    left join call_billing
        on
            runs.run_id = call_billing.run_id
            and runs.started_at = call_billing.started_at
            and runs.run_date = call_billing.run_date

)

select * from final
