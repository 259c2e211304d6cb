{{
    config(
        schema='intermediate',
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_evaluated_days() }}",
    )
}}

{#-
    cache_unused_on_repeated_context: a workflow whose calls repeat a large stable input and almost
    never read it from the prompt cache. Calls are grouped by the context they repeat: the system
    prompt hash where the spans carry one, else the agent and requested model. Over the
    `anomaly_cache_window_days` (7) days to the evaluated day, a group of `anomaly_cache_min_calls`
    calls is a finding when its input is stable and large, every call (5th percentile) carrying at
    least `anomaly_cache_min_stable_share` (85%; domain.md: "cache hit near zero where 80% of the
    input is stable", measured conservatively) of the typical call's input (median) and at least
    `anomaly_cache_min_context_tokens`, and when at most `anomaly_cache_max_read_share` of its
    input was read from cache. Unique inputs that merely vary little stay below (seo_audit's report
    drafts reach 74% on the demo; the uncached playbook calls 92-94%). Per workflow-day the group that paid most for uncached input is reported.
    A lasting finding (an episode).
    Reads: calls of the evaluated days and the 6 days before.
-#}

{%- set window_days = var('anomaly_cache_window_days') | int %}

with

calls as (

    select
        workflow,
        cast(started_at as date) as call_date,
        case
            when system_prompt_hash is not null then 'system prompt ' || system_prompt_hash
            else
                'a stable input (agent ' || coalesce(agent_name, 'none') || ' on '
                || coalesce(request_model, model, 'no model') || ')'
        end as context_key,
        input_tokens,
        coalesce(cache_read_tokens, 0) as cache_read_tokens,
        coalesce(uncached_input_cost_usd, 0) as uncached_input_cost_usd
    from {{ ref('int_llm_calls_priced') }}
    where has_usage and input_tokens > 0 and {{ anomaly_window('started_at', window_days - 1) }}

),

evaluation_days as (

    {{ evaluation_days('calls', 'call_date') }}

),

windowed as (

    select
        evaluation_days.evaluated_on,
        calls.*
    from evaluation_days
    inner join calls
        on
            evaluation_days.workflow = calls.workflow
            and calls.call_date between evaluation_days.evaluated_on - {{ window_days - 1 }}
            and evaluation_days.evaluated_on

),

contexts as (

    select
        workflow,
        evaluated_on,
        context_key,
        count(*) as calls,
        median(input_tokens) as median_input_tokens,
        quantile_cont(input_tokens, 0.05) as floor_input_tokens,
        sum(cache_read_tokens) / sum(input_tokens) as cache_read_share,
        sum(uncached_input_cost_usd) as uncached_input_cost_usd
    from windowed
    group by all
    having
        count(*) >= {{ var('anomaly_cache_min_calls') }}
        and quantile_cont(input_tokens, 0.05) >= {{ var('anomaly_cache_min_context_tokens') }}
        and quantile_cont(input_tokens, 0.05) >= {{ var('anomaly_cache_min_stable_share') }} * median(input_tokens)
        and sum(cache_read_tokens) / sum(input_tokens) <= {{ var('anomaly_cache_max_read_share') }}

),

repeated as (

    select * from contexts
    qualify row_number() over (
        partition by workflow, evaluated_on
        order by uncached_input_cost_usd desc, context_key asc
    ) = 1

),

final as (

    select
        {{ workflow_episode("'cache_unused_on_repeated_context'", "'cost_bloat'", 'evaluated_on - ' ~ (window_days - 1)) }},
        case when cache_read_share = 0 then 'high' else 'medium' end as severity,
        'cache_read_share' as measure,
        {{ money('cache_read_share') }} as observed,
        -- the share that repeats and could be read from cache: what every call carries ÷ the typical call
        {{ money('floor_input_tokens / median_input_tokens') }} as expected,
        workflow || ' sent ' || {{ fmt_int('calls') }} || ' LLM calls repeating ' || context_key
        || ' in the {{ window_days }} days to ' || strftime(evaluated_on, '%Y-%m-%d') || ', each with at least '
        || {{ fmt_int('floor_input_tokens') }} || ' input tokens (median ' || {{ fmt_int('median_input_tokens') }}
        || '), and read ' || {{ fmt_pct('cache_read_share') }} || ' of that input from the prompt cache ('
        || {{ fmt_usd('uncached_input_cost_usd') }} || ' paid for uncached input)' as explanation
    from repeated

)

select * from final
