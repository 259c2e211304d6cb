{{
    config(
        schema='intermediate',
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_evaluated_days(cooldowns=2) }}",
    )
}}

{#-
    context_bloat: input tokens per call of a workflow growing day over day, the "gradual daily
    increase" of prompts that accumulate history. Each day is a point (the median input tokens of
    its calls, when it has `anomaly_trend_min_per_day` calls); over the `anomaly_bloat_window_days`
    (14) days to the evaluated day, the Theil–Sen slope's lower confidence bound must add up to
    `anomaly_bloat_min_growth` (30%) of the line's level at the window's start, from at least
    `anomaly_bloat_min_days` points. Medians and a rank-based slope: a day of odd calls or one
    looping run does not make a trend. A lasting finding (an episode) that explains a cost rise
    (mart_cost_anomalies' `precedence`), so it evaluates two cooldowns before the window.
    Reads: calls of the evaluated days and the 13 days before.
-#}

{%- set window_days = var('anomaly_bloat_window_days') | int %}

with

calls as (

    select
        workflow,
        cast(started_at as date) as call_date,
        input_tokens
    from {{ ref('int_llm_calls_priced') }}
    where has_usage and {{ anomaly_window('started_at', window_days - 1, cooldowns=2) }}

),

daily as (

    select
        workflow,
        call_date,
        count(*) as calls,
        median(input_tokens) as median_input_tokens
    from calls
    group by all
    having count(*) >= {{ var('anomaly_trend_min_per_day') }}

),

evaluation_days as (

    {{ evaluation_days('calls', 'call_date', cooldowns=2) }}

),

points as (

    -- x = days since the window's first day, so the line at x = 0 is the level the growth is measured from
    select
        evaluation_days.workflow,
        evaluation_days.evaluated_on,
        daily.call_date - (evaluation_days.evaluated_on - {{ window_days - 1 }}) as x,
        daily.median_input_tokens as y
    from evaluation_days
    inner join daily
        on
            evaluation_days.workflow = daily.workflow
            and daily.call_date between evaluation_days.evaluated_on - {{ window_days - 1 }}
            and evaluation_days.evaluated_on

),

trends as (

    {{ theil_sen('points', ['workflow', 'evaluated_on'], var('anomaly_confidence_z')) }}

),

growth as (

    {{ trend_growth('trends', window_days, var('anomaly_bloat_min_days')) }}

),

bloating as (

    select * from growth
    where growth_lower >= {{ var('anomaly_bloat_min_growth') }}

),

final as (

    select
        {{ workflow_episode("'context_bloat'", "'anomaly'", 'evaluated_on - ' ~ (window_days - 1)) }},
        case when growth_lower >= 2 * {{ var('anomaly_bloat_min_growth') }} then 'high' else 'medium' end as severity,
        'input_tokens_per_call' as measure,
        {{ money('end_level') }} as observed,
        {{ money('start_level') }} as expected,
        workflow || '''s input per LLM call grew from ' || {{ fmt_int('start_level') }} || ' to '
        || {{ fmt_int('end_level') }} || ' tokens over the {{ window_days }} days to '
        || strftime(evaluated_on, '%Y-%m-%d') || ' (+' || {{ fmt_int('slope') }} || ' a day, +'
        || {{ fmt_pct('growth', 0) }} || '; at least +' || {{ fmt_pct('growth_lower', 0) }}
        || ' at the confidence bound): prompts are accumulating history' as explanation
    from bloating

)

select * from final
