{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_window('started_at') }}",
    )
}}

{#-
    One row per span, conventions normalized (reference §D.7, DESIGN §4):
    - provider names aliased to one id (seeds/provider_aliases.csv);
    - token counts made disjoint: uncached input, cache read, cache write 5m / 1h, output
      (reasoning included) and reasoning as a subset;
    - run attributes (run id, workflow, account, reasoning effort, agent) inherited from the
      nearest ancestor that sets them;
    - one LLM call exported twice (provider SDK + instrumentation library sharing
      gen_ai.response.id in a trace) kept once, with the richer usage.

    Incremental: the window's spans are recomputed, reading one extra day before and after so
    ancestors of runs that cross midnight are found.

    Raw attributes are one JSON object per span: every attribute read here is taken from it by one
    json_transform (`otel_attributes_struct`), and `attributes['key']` below is a STRUCT field.
-#}

{%- set attribute_keys = otel_span_attribute_keys() -%}

with recursive

raw_spans as not materialized (

    select * from {{ source('otel', 'otel_spans') }}
    {% if is_incremental() %}
        where {{ in_window('_partition_date', pad_days=1) }}
    {% endif %}

),

provider_aliases as (

    select * from {{ ref('provider_aliases') }}

),

parsed as not materialized (

    select
        * exclude (attributes, resource_attributes),
        resource_attributes ->> '$."service.name"' as service_name,
        {{ otel_attributes_struct('attributes', attribute_keys) }} as attributes
    from raw_spans

),

extracted as not materialized (

    select
        -- ids
        trace_id,
        span_id,
        parent_span_id,

        -- span
        name as span_name,
        kind as span_kind,
        make_timestamp(start_time_unix_nano // 1000) as started_at,
        make_timestamp(end_time_unix_nano // 1000) as ended_at,
        (end_time_unix_nano - start_time_unix_nano) // 1000000 as duration_ms,
        case status_code when 2 then 'error' when 1 then 'ok' else 'unset' end as status,
        coalesce(attributes['error.type'], case when status_code = 2 then status_message end) as error_type,
        service_name,
        scope_name,

        -- what the span is
        lower(coalesce(
            attributes['gen_ai.provider.name'],
            attributes['gen_ai.system'],
            attributes['llm.provider'],
            attributes['llm.system']
        )) as provider_name,
        lower(coalesce(
            attributes['gen_ai.operation.name'],
            attributes['llm.request.type'],
            case attributes['openinference.span.kind']
                when 'LLM' then 'chat'
                when 'EMBEDDING' then 'embeddings'
                when 'TOOL' then 'execute_tool'
                when 'AGENT' then 'invoke_agent'
                when 'RETRIEVER' then 'retrieval'
                when 'CHAIN' then 'chain'
            end,
            case attributes['traceloop.span.kind']
                when 'workflow' then 'invoke_workflow'
                when 'agent' then 'invoke_agent'
                when 'tool' then 'execute_tool'
                when 'task' then 'task'
            end
        )) as operation,
        attributes['openinference.span.kind'] as openinference_kind,
        coalesce(
            attributes['gen_ai.request.model'], attributes['llm.request.model_name'], attributes['llm.model_name']
        ) as request_model,
        coalesce(attributes['gen_ai.response.model'], attributes['llm.response.model_name']) as response_model,
        attributes['gen_ai.response.id'] as response_id,
        lower(coalesce(
            attributes['openai.response.service_tier'],
            attributes['gen_ai.openai.response.service_tier'],
            attributes['openai.request.service_tier'],
            attributes['gen_ai.openai.request.service_tier'],
            attributes['gen_ai.request.service_tier']
        )) as service_tier,
        coalesce(attributes['gen_ai.tool.name'], attributes['tool.name']) as tool_name,
        attributes['gen_ai.prompt.name'] as prompt_name,
        coalesce(attributes['gen_ai.request.system_hash'], attributes['gen_ai.system_instructions.hash'])
            as system_prompt_hash,

        -- usage as reported (conventions differ on what "input" includes)
        try_cast(coalesce(
            attributes['gen_ai.usage.input_tokens'],
            attributes['gen_ai.usage.prompt_tokens'],
            attributes['llm.token_count.prompt']
        ) as bigint) as reported_input_tokens,
        try_cast(coalesce(
            attributes['gen_ai.usage.output_tokens'],
            attributes['gen_ai.usage.completion_tokens'],
            attributes['llm.token_count.completion']
        ) as bigint) as reported_output_tokens,
        try_cast(coalesce(
            attributes['gen_ai.usage.cache_read.input_tokens'],
            attributes['gen_ai.usage.cache_read_input_tokens'],
            attributes['llm.token_count.prompt_details.cache_read']
        ) as bigint) as reported_cache_read_tokens,
        try_cast(coalesce(
            attributes['gen_ai.usage.cache_creation.input_tokens'],
            attributes['gen_ai.usage.cache_creation_input_tokens'],
            attributes['llm.token_count.prompt_details.cache_write']
        ) as bigint) as reported_cache_write_tokens,
        try_cast(attributes['gen_ai.usage.cache_creation.ephemeral_5m_input_tokens'] as bigint)
            as reported_cache_write_5m_tokens,
        try_cast(attributes['gen_ai.usage.cache_creation.ephemeral_1h_input_tokens'] as bigint)
            as reported_cache_write_1h_tokens,
        try_cast(coalesce(
            attributes['gen_ai.usage.reasoning.output_tokens'],
            attributes['gen_ai.usage.reasoning_tokens'],
            attributes['llm.usage.reasoning_tokens'],
            attributes['llm.token_count.completion_details.reasoning']
        ) as bigint) as reported_reasoning_tokens,

        -- run-level attributes set on this span (inherited by descendants below)
        coalesce(
            attributes['{{ var("run_id_attribute") }}'],
            attributes['traceloop.association.properties.run_id']
        ) as own_run_id,
        coalesce(
            attributes['workflow.name'],
            attributes['gen_ai.workflow.name'],
            attributes['traceloop.workflow.name']
        ) as own_workflow,
        coalesce(
            attributes['client.account_id'],
            attributes['traceloop.association.properties.account_id']
        ) as own_account_id,
        lower(coalesce(
            attributes['gen_ai.request.reasoning_effort'],
            attributes['gen_ai.openai.request.reasoning_effort'],
            attributes['openai.request.reasoning_effort'],
            attributes['workflow.reasoning_effort']
        )) as own_reasoning_effort,
        coalesce(
            attributes['gen_ai.agent.name'],
            attributes['agent.name'],
            case when attributes['traceloop.span.kind'] = 'agent' then attributes['traceloop.entity.name'] end
        ) as own_agent_name,
        attributes['workflow.retry_of_run_id'] as retry_of_run_id,

        -- lineage
        _partition_date,
        _source_file

    from parsed

),

tokens as not materialized (

    select
        *,
        coalesce(reported_cache_read_tokens, 0) as cache_read,
        coalesce(
            reported_cache_write_tokens,
            coalesce(reported_cache_write_5m_tokens, 0) + coalesce(reported_cache_write_1h_tokens, 0)
        ) as cache_write,
        -- Semconv, OpenInference and OpenAI count cache reads and writes inside input tokens; the raw
        -- Anthropic API does not. An input smaller than its cache parts can only be the latter.
        coalesce(reported_input_tokens, 0) < cache_read + cache_write as input_excludes_cache,
        coalesce(
            reported_input_tokens, reported_output_tokens, reported_cache_read_tokens,
            reported_cache_write_tokens, reported_cache_write_5m_tokens, reported_cache_write_1h_tokens
        ) is not null as has_usage
    from extracted

),

normalized as not materialized (

    select
        * exclude (cache_read, cache_write, input_excludes_cache),
        case
            when not has_usage then null
            when input_excludes_cache then coalesce(reported_input_tokens, 0)
            else coalesce(reported_input_tokens, 0) - cache_read - cache_write
        end as uncached_input_tokens,
        case when has_usage then cache_read end as cache_read_tokens,
        -- A write whose 5m / 1h split is not reported is priced as 5 m (DESIGN §4).
        case when has_usage then cache_write - coalesce(reported_cache_write_1h_tokens, 0) end
            as cache_write_5m_tokens,
        case when has_usage then coalesce(reported_cache_write_1h_tokens, 0) end as cache_write_1h_tokens,
        case when has_usage then cache_write end as cache_write_tokens,
        case when has_usage then coalesce(reported_output_tokens, 0) end as output_tokens,
        case when has_usage then coalesce(reported_reasoning_tokens, 0) end as reasoning_tokens,
        case
            when input_excludes_cache then 'input_excludes_cache'
            when has_usage then 'input_includes_cache'
        end as token_convention,
        coalesce(
            list_contains(['chat', 'generate_content', 'text_completion', 'completion', 'embeddings', 'embedding'], operation)
            or list_contains(['LLM', 'EMBEDDING'], openinference_kind)
            or (coalesce(response_model, request_model) is not null and has_usage),
            false
        ) as is_llm_call
    from tokens

),

span_context as (

    -- what the run windows and the call de-duplication read, narrow: sorting whole normalized
    -- rows for three windows was most of this model's time on 10M spans
    select
        {{ trace_key('trace_id') }} as trace_key,
        {{ span_key('span_id') }} as span_key,
        {{ span_key('parent_span_id') }} as parent_key,
        trace_id,
        span_id,
        started_at,
        response_id,
        is_llm_call,
        prompt_name,
        system_prompt_hash,
        own_run_id,
        own_workflow,
        own_account_id,
        own_reasoning_effort,
        own_agent_name,
        -- the same call exported by two libraries: the copy that reports the most usage kinds wins
        (reported_cache_read_tokens is not null)::int
        + (reported_cache_write_tokens is not null or reported_cache_write_5m_tokens is not null)::int
        -- the 5m / 1h split prices 1-hour writes right: a copy that reports it wins a tie
        + (reported_cache_write_5m_tokens is not null or reported_cache_write_1h_tokens is not null)::int
        + (reported_reasoning_tokens is not null)::int
        + (reported_input_tokens is not null)::int
        + (reported_output_tokens is not null)::int as usage_kinds,
        coalesce(uncached_input_tokens, 0) + coalesce(cache_read_tokens, 0)
        + coalesce(cache_write_tokens, 0) + coalesce(output_tokens, 0) as usage_total
    from normalized

),

span_tree as (

    -- the narrow tree the ancestry walk reads (four scans of it at depth 4), ids as integers
    select
        trace_key,
        span_key,
        parent_key,
        own_run_id,
        own_workflow,
        own_account_id,
        own_reasoning_effort,
        own_agent_name
    from span_context

),

roots as (

    select child.*
    from span_tree as child
    where
        child.parent_key is null
        or not exists (
            select 1 from span_tree as parent
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
        parent.depth + 1 as depth
    from span_tree as child
    inner join lineage as parent
        on child.trace_key = parent.trace_key and child.parent_key = parent.span_key
    -- a parent cycle in malformed data must not recurse forever
    where parent.depth < 64

),

inherited as (

    select
        span_context.*,
        coalesce(lineage.run_id, span_context.own_run_id, span_context.trace_id) as run_id,
        coalesce(lineage.workflow, span_context.own_workflow) as inherited_workflow,
        coalesce(lineage.account_id, span_context.own_account_id) as inherited_account_id,
        coalesce(lineage.reasoning_effort, span_context.own_reasoning_effort) as reasoning_effort,
        coalesce(lineage.agent_name, span_context.own_agent_name) as agent_name,
        coalesce(lineage.depth, 0) as depth
    from span_context
    left join lineage
        on span_context.trace_key = lineage.trace_key and span_context.span_key = lineage.span_key

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
            copy order by span_context.usage_kinds desc, span_context.usage_total desc, span_context.span_id asc
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
        inherited.run_id,
        inherited.reasoning_effort,
        inherited.agent_name,
        inherited.depth,
        coalesce(inherited.inherited_workflow, run_defaults.workflow, 'unassigned') as workflow,
        coalesce(inherited.inherited_account_id, run_defaults.account_id) as account_id,
        coalesce(inherited.prompt_name, copies.any_prompt_name) as prompt_name,
        coalesce(inherited.system_prompt_hash, copies.any_system_prompt_hash) as system_prompt_hash,
        coalesce(copies.is_kept_copy, true) as is_kept_copy
    from inherited
    left join run_defaults on inherited.run_id = run_defaults.run_id
    left join copies on inherited.trace_key = copies.trace_key and inherited.span_key = copies.span_key

),

deduplicated as (

    select
        normalized.* replace (
            span_facts.prompt_name as prompt_name, span_facts.system_prompt_hash as system_prompt_hash
        ),
        span_facts.run_id,
        span_facts.workflow,
        span_facts.account_id,
        span_facts.reasoning_effort,
        span_facts.agent_name,
        span_facts.depth,
        provider_aliases.provider,
        coalesce(normalized.response_model, normalized.request_model) as model
    from normalized
    inner join span_facts
        on
            {{ trace_key('normalized.trace_id') }} = span_facts.trace_key
            and {{ span_key('normalized.span_id') }} = span_facts.span_key
    left join provider_aliases on normalized.provider_name = provider_aliases.alias
    where span_facts.is_kept_copy

),

final as (

    select
        -- ids
        span_id as call_id,
        span_id,
        trace_id,
        parent_span_id,
        run_id,
        response_id,

        -- run context (inherited)
        workflow,
        account_id,
        reasoning_effort,
        agent_name,
        retry_of_run_id,

        -- what the span is
        span_name,
        span_kind,
        operation,
        is_llm_call,
        provider,
        provider_name as provider_reported,
        request_model,
        response_model,
        model,
        service_tier,
        tool_name,
        prompt_name,
        system_prompt_hash,
        service_name,
        scope_name,

        -- time and status
        started_at,
        ended_at,
        started_at::date as started_date,
        duration_ms,
        status,
        error_type,

        -- usage, disjoint kinds
        has_usage,
        token_convention,
        uncached_input_tokens,
        cache_read_tokens,
        cache_write_5m_tokens,
        cache_write_1h_tokens,
        cache_write_tokens,
        output_tokens,
        reasoning_tokens,
        uncached_input_tokens + cache_read_tokens + cache_write_tokens as input_tokens,

        -- lineage
        depth,
        _partition_date,
        _source_file

    from deduplicated
    {% if is_incremental() %}
        where {{ in_window('started_at') }}
    {% endif %}

)

-- rows in the raw table's order, which is by day (its partitions are written day by day): a night's
-- window on started_at then skips every other day's row groups (DuckDB zone maps). Sorting 10M rows
-- here by started_at was a quarter of this model's time.
select * from final
order by _partition_date
