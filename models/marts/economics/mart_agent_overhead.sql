{#-
    What multi-agent runs spend on coordination rather than work, by workflow and month.

    A run is multi-agent when at least two worker agents ran in it. Agents are read from the span
    tree: every `invoke_agent` span names one; an agent whose span is the parent of another agent's
    span supervises, every other agent is a worker. An LLM call of a multi-agent run is coordination
    when it is made outside every worker agent (by the workflow root or a supervisor: the call
    carries no agent, or an agent that is no worker of the run, such as the `orchestrator` that
    routes and hands off), or when its `gen_ai.prompt.name` is one of `coordination_prompt_kinds`
    (a worker summarizing its work for the next agent). Its kind comes from that var (routing,
    hand_off, summarization), else `unclassified`. Every other call is work.
    Tokens are all input and output tokens of a call; money excludes calls without a price. A call
    counts in its run's workflow, even under a nested span that names another one.

    Incremental: a run recomputes the months its window touched, whole (macros/period_window.sql).
-#}

{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_touched_months() }}",
    )
}}

{%- set prompt_kinds = var('coordination_prompt_kinds') %}

with

spans as (

    select * from {{ ref('stg_otel__spans') }}
    where {{ in_touched_months_input('started_at') }}

),

calls as (

    select * from {{ ref('int_llm_calls_priced') }}
    where {{ in_touched_months_input('started_at') }}

),

runs as (

    select * from {{ ref('int_runs_rolled_up') }}
    where {{ in_touched_months_input('run_date') }}

),

prompt_kinds as (

    select
        kinds.prompt_name,
        kinds.coordination_kind
    from (
        values
        {%- for prompt, kind in prompt_kinds.items() %}
            ('{{ prompt }}', '{{ kind }}'){{ "," if not loop.last }}
        {%- endfor %}
    ) as kinds (prompt_name, coordination_kind)

),

invoke_agent_spans as (

    select
        trace_id,
        parent_span_id,
        run_id,
        agent_name
    from spans
    where operation = 'invoke_agent' and agent_name is not null

),

agent_parents as (

    -- only the spans that parent an agent span: the join below then never hashes every span
    select
        spans.trace_id,
        spans.span_id,
        spans.agent_name
    from spans
    where exists (
        select 1
        from invoke_agent_spans
        where
            invoke_agent_spans.trace_id = spans.trace_id
            and invoke_agent_spans.parent_span_id = spans.span_id
    )

),

agent_spans as (

    select
        invoke_agent_spans.run_id,
        invoke_agent_spans.agent_name,
        agent_parents.agent_name as parent_agent_name
    from invoke_agent_spans
    left join agent_parents
        on
            invoke_agent_spans.trace_id = agent_parents.trace_id
            and invoke_agent_spans.parent_span_id = agent_parents.span_id

),

supervisors as (

    select distinct
        run_id,
        parent_agent_name as agent_name
    from agent_spans
    where parent_agent_name is not null and parent_agent_name <> agent_name

),

workers as (

    select distinct
        agent_spans.run_id,
        agent_spans.agent_name
    from agent_spans
    where not exists (
        select 1
        from supervisors
        where supervisors.run_id = agent_spans.run_id and supervisors.agent_name = agent_spans.agent_name
    )

),

multi_agent_runs as (

    select
        run_id,
        count(*) as worker_agents
    from workers
    group by run_id
    having count(*) >= 2

),

classified_calls as (

    select
        calls.run_id,
        runs.workflow,
        cast(date_trunc('month', runs.run_date) as date) as month,
        multi_agent_runs.worker_agents,
        case
            when prompt_kinds.coordination_kind is not null then prompt_kinds.coordination_kind
            when workers.agent_name is null then 'unclassified'
        end as coordination_kind,
        coalesce(calls.uncached_input_tokens, 0) + coalesce(calls.cache_read_tokens, 0)
        + coalesce(calls.cache_write_tokens, 0) + coalesce(calls.output_tokens, 0) as total_tokens,
        calls.cost_usd
    from calls
    inner join multi_agent_runs on calls.run_id = multi_agent_runs.run_id
    inner join runs on calls.run_id = runs.run_id
    left join workers on calls.run_id = workers.run_id and calls.agent_name = workers.agent_name
    left join prompt_kinds on calls.prompt_name = prompt_kinds.prompt_name

),

aggregated as (

    select
        workflow,
        month,
        count(distinct run_id) as multi_agent_runs,
        count(*) filter (where coordination_kind is not null) as coordination_calls,
        count(*) filter (where coordination_kind = 'routing') as routing_calls,
        count(*) filter (where coordination_kind = 'hand_off') as hand_off_calls,
        count(*) filter (where coordination_kind = 'summarization') as summarization_calls,
        count(*) filter (where coordination_kind = 'unclassified') as unclassified_coordination_calls,
        count(*) filter (where coordination_kind is null) as work_calls,
        cast(coalesce(sum(total_tokens) filter (where coordination_kind is not null), 0) as bigint)
            as coordination_tokens,
        cast(coalesce(sum(total_tokens) filter (where coordination_kind = 'routing'), 0) as bigint) as routing_tokens,
        cast(coalesce(sum(total_tokens) filter (where coordination_kind = 'hand_off'), 0) as bigint)
            as hand_off_tokens,
        cast(coalesce(sum(total_tokens) filter (where coordination_kind = 'summarization'), 0) as bigint)
            as summarization_tokens,
        cast(coalesce(sum(total_tokens) filter (where coordination_kind is null), 0) as bigint) as work_tokens,
        {{ money('coalesce(sum(cost_usd) filter (where coordination_kind is not null), 0)') }}
            as coordination_cost_usd,
        {{ money('coalesce(sum(cost_usd) filter (where coordination_kind is null), 0)') }} as work_cost_usd
    from classified_calls
    group by workflow, month

),

final as (

    select
        -- grain
        workflow,
        month,

        -- runs and calls
        multi_agent_runs,
        coordination_calls,
        routing_calls,
        hand_off_calls,
        summarization_calls,
        unclassified_coordination_calls,
        work_calls,

        -- tokens
        coordination_tokens,
        routing_tokens,
        hand_off_tokens,
        summarization_tokens,
        work_tokens,
        {{ divide_exact('coordination_tokens', 'coordination_tokens + work_tokens') }} as coordination_token_share,
        {{ divide_exact('coordination_tokens', 'multi_agent_runs') }} as coordination_tokens_per_run,
        {{ divide_exact('routing_tokens', 'routing_calls') }} as tokens_per_routing_decision,
        {{ divide_exact('hand_off_tokens', 'hand_off_calls') }} as tokens_per_hand_off,
        {{ divide_exact('summarization_tokens', 'summarization_calls') }} as tokens_per_summarization,

        -- money
        coordination_cost_usd,
        work_cost_usd,
        {{ divide_exact('coordination_cost_usd', 'coordination_cost_usd + work_cost_usd') }} as coordination_cost_share,
        {{ divide_exact('coordination_cost_usd', 'work_cost_usd') }} as coordination_to_work_cost_ratio,
        {{ divide_exact('coordination_cost_usd', 'multi_agent_runs') }} as coordination_cost_per_run_usd

    from aggregated

)

select * from final
-- the months that start before the touched ones were not read whole: they are not rewritten
where {{ in_touched_months() }}
