{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_window('started_at') }}",
    )
}}

{#-
    One row per span: what it inherits from the rest of its trace and run (DESIGN §4).
    - run attributes (run id, workflow, account, reasoning effort, agent) from the nearest ancestor
      that sets them; a run's workflow and account from any of its spans when no ancestor has one;
    - one LLM call exported twice (provider SDK + instrumentation library sharing
      gen_ai.response.id in a trace) kept once, with the richer usage (`is_kept_copy`).

    Narrow on purpose: stg_otel__spans joins it to the spans' own fields. In one model with the
    wide rows, the walk's intermediate results were materialized beside them and the output had to
    be sorted to keep day order: on 10M spans, 107 s against the two models' (bench/RESULTS.md).

    Incremental: the window's spans, reading `lookback_days` more before and after (run_pad_days)
    so that the ancestors of a run that lasts up to that long are found.
-#}

with recursive

fields as (

    select * from {{ ref('stg_otel__span_fields') }}
    {% if is_incremental() %}
        where {{ in_window('_partition_date', pad_days=run_pad_days()) }}
    {% endif %}

),

span_context as (

    -- what the run windows and the call de-duplication read, narrow: sorting whole normalized
    -- rows for three windows was most of this model's time on 10M spans
    select
        trace_key,
        span_key,
        parent_key,
        trace_id,
        span_id,
        started_at,
        response_id,
        is_llm_call,
        is_usage_rollup,
        prompt_name,
        system_prompt_hash,
        own_run_id,
        own_workflow,
        own_account_id,
        own_reasoning_effort,
        own_agent_name,
        -- the same call exported by two libraries: the copy that reports the most of the usage kinds
        -- that are priced wins (a copy without the cache detail prices cache reads as plain input)
        (reported_cache_read_tokens is not null)::int
        + (reported_cache_write_tokens is not null or reported_cache_write_5m_tokens is not null)::int
        -- the 5m / 1h split prices 1-hour writes right: a copy that reports it wins a tie
        + (reported_cache_write_5m_tokens is not null or reported_cache_write_1h_tokens is not null)::int
        + (reported_input_tokens is not null)::int
        + (reported_output_tokens is not null)::int as usage_kinds,
        -- reasoning is a part of output, priced with it: it only breaks a tie
        reported_reasoning_tokens is not null as reports_reasoning,
        coalesce(uncached_input_tokens, 0) + coalesce(cache_read_tokens, 0)
        + coalesce(cache_write_tokens, 0) + coalesce(output_tokens, 0) as usage_total
    from fields

),

span_tree as (

    -- the narrow tree the ancestry walk reads, ids as integers
    select
        trace_key,
        span_key,
        parent_key,
        own_run_id,
        own_workflow,
        own_account_id,
        own_reasoning_effort,
        own_agent_name,
        is_usage_rollup
    from span_context

),

parent_keys as (

    select distinct
        trace_key,
        parent_key as span_key
    from span_tree
    where parent_key is not null

),

inner_spans as (

    -- spans with children, the only ones the walk visits: LLM and tool calls are leaves, and
    -- walking only the inner spans (root and agents, ~4 of a run's ~12) took the model from 44.9 s
    -- to 33.1 s on 10M spans, with identical rows
    select span_tree.*
    from span_tree
    semi join parent_keys
        on span_tree.trace_key = parent_keys.trace_key and span_tree.span_key = parent_keys.span_key

),

roots as (

    -- a span's parent, when present, has a child: it is an inner span too
    select child.*
    from inner_spans as child
    where
        child.parent_key is null
        or not exists (
            select 1 from inner_spans as parent
            where parent.trace_key = child.trace_key and parent.span_key = child.parent_key
        )

),

lineage as (

    select
        trace_key,
        span_key,
        own_run_id as run_id,
        own_workflow as workflow,
        own_account_id as account_id,
        own_reasoning_effort as reasoning_effort,
        own_agent_name as agent_name,
        case when is_usage_rollup then span_key end as rollup_key,
        0 as depth
    from roots

    union all

    select
        child.trace_key,
        child.span_key,
        coalesce(child.own_run_id, parent.run_id) as run_id,
        coalesce(child.own_workflow, parent.workflow) as workflow,
        coalesce(child.own_account_id, parent.account_id) as account_id,
        coalesce(child.own_reasoning_effort, parent.reasoning_effort) as reasoning_effort,
        coalesce(child.own_agent_name, parent.agent_name) as agent_name,
        coalesce(case when child.is_usage_rollup then child.span_key end, parent.rollup_key) as rollup_key,
        parent.depth + 1 as depth
    from inner_spans as child
    inner join lineage as parent
        on child.trace_key = parent.trace_key and child.parent_key = parent.span_key
    -- a parent cycle in malformed data must not recurse forever
    where parent.depth < 64

),

inherited as (

    -- every span, inner or leaf, takes what its parent inherited (a span whose parent is missing,
    -- or on a cycle, keeps its own values at depth 0)
    select
        span_context.*,
        coalesce(span_context.own_run_id, parent.run_id, span_context.trace_id) as run_id,
        coalesce(span_context.own_workflow, parent.workflow) as inherited_workflow,
        coalesce(span_context.own_account_id, parent.account_id) as inherited_account_id,
        coalesce(span_context.own_reasoning_effort, parent.reasoning_effort) as reasoning_effort,
        coalesce(span_context.own_agent_name, parent.agent_name) as agent_name,
        -- the nearest agent or workflow span above that carries usage (stg_otel__span_fields)
        parent.rollup_key as rollup_above,
        coalesce(parent.depth + 1, 0) as depth
    from span_context
    left join lineage as parent
        on span_context.trace_key = parent.trace_key and span_context.parent_key = parent.span_key

),

run_defaults as (

    -- a run's workflow and account hold for all of its spans, even where set on a sibling: the
    -- value nearest the run's root (then the earliest) fills spans that inherited none
    select
        run_id,
        arg_min(inherited_workflow, struct_pack(depth, started_at)) filter (
            where inherited_workflow is not null
        ) as workflow,
        arg_min(inherited_account_id, struct_pack(depth, started_at)) filter (
            where inherited_account_id is not null
        ) as account_id
    from inherited
    group by run_id

),

rollups_with_calls_under as (

    -- an agent or workflow span with usage that has a call, or another such span, under it: its
    -- usage rolls theirs up, and they are what is counted
    select distinct
        trace_key,
        rollup_above as span_key
    from inherited
    where rollup_above is not null and (is_llm_call or is_usage_rollup)

),

exported_twice as (

    -- calls exported by two libraries (a provider SDK's tracing and an instrumentation library),
    -- sharing gen_ai.response.id in a trace: ~6% of calls, the only rows the copy rules need
    select
        trace_key,
        response_id
    from span_context
    where response_id is not null and is_llm_call
    group by trace_key, response_id
    having count(*) > 1

),

copies as (

    select
        span_context.trace_key,
        span_context.span_key,
        -- the copy that reports the most usage kinds wins
        row_number() over (
            copy order by
                span_context.usage_kinds desc, span_context.usage_total desc, span_context.reports_reasoning desc,
                span_context.span_id asc
        ) = 1 as is_kept_copy,
        -- what one copy says about its prompt holds for the copy that is kept (the provider SDK's
        -- copy often reports richer usage but no gen_ai.prompt.name or system-prompt hash)
        max(span_context.prompt_name) over copy as any_prompt_name,
        max(span_context.system_prompt_hash) over copy as any_system_prompt_hash
    from span_context
    semi join exported_twice
        on
            span_context.trace_key = exported_twice.trace_key
            and span_context.response_id = exported_twice.response_id
    where span_context.is_llm_call
    window copy as (partition by span_context.trace_key, span_context.response_id)

),

span_facts as (

    select
        inherited.trace_key,
        inherited.span_key,
        inherited.started_at,
        inherited.run_id,
        inherited.reasoning_effort,
        inherited.agent_name,
        inherited.depth,
        coalesce(inherited.inherited_workflow, run_defaults.workflow, 'unassigned') as workflow,
        coalesce(inherited.inherited_account_id, run_defaults.account_id) as account_id,
        coalesce(inherited.prompt_name, copies.any_prompt_name) as prompt_name,
        coalesce(inherited.system_prompt_hash, copies.any_system_prompt_hash) as system_prompt_hash,
        coalesce(copies.is_kept_copy, true) as is_kept_copy,
        -- an agent or workflow span with usage and no call under it is the only record of its calls
        coalesce(inherited.is_usage_rollup and rollups_with_calls_under.span_key is null, false) as is_counted_rollup
    from inherited
    left join run_defaults on inherited.run_id = run_defaults.run_id
    left join copies on inherited.trace_key = copies.trace_key and inherited.span_key = copies.span_key
    left join rollups_with_calls_under
        on
            inherited.trace_key = rollups_with_calls_under.trace_key
            and inherited.span_key = rollups_with_calls_under.span_key

)

select * from span_facts
{% if is_incremental() %}
    where {{ in_window('started_at') }}
{% endif %}
