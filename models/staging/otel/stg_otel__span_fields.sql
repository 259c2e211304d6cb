{#-
    One row per raw span, the GenAI conventions normalized (reference §D.7, DESIGN §4), nothing
    read from other spans: provider and operation names, models, token counts made disjoint
    (uncached input, cache read, cache write 5m / 1h, output with reasoning, reasoning as a
    subset), the run attributes each span sets itself, and the span's ids as integers for the
    joins that walk a trace.

    A view: stg_otel__span_lineage and stg_otel__spans each read it once, filtered to their window
    (DuckDB inlines the view, so the filter reaches the raw table's scan); nothing is written twice. Raw attributes are one JSON object per span:
    every attribute read here is taken from it by one json_transform (`otel_attributes_struct`), and
    `attributes['key']` below is a STRUCT field.
-#}

{%- set attribute_keys = otel_span_attribute_keys() -%}
{%- set call_operations = "['chat', 'generate_content', 'text_completion', 'completion', 'embeddings', 'embedding']" -%}

with

raw_spans as (

    select * from {{ source('otel', 'otel_spans') }}

),

provider_aliases as (

    select * from {{ ref('provider_aliases') }}

),

token_conventions as (

    select * from {{ ref('token_conventions') }}

),

parsed as (

    select
        * exclude (attributes, resource_attributes),
        resource_attributes ->> '$."service.name"' as service_name,
        {{ otel_attributes_struct('attributes', attribute_keys) }} as attributes
    from raw_spans

),

extracted as (

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
            -- LangSmith names a prompt template's and a retriever's step `chat` and `embeddings`
            case attributes['langsmith.span.kind'] when 'prompt' then 'prompt' when 'retriever' then 'retrieval' end,
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
            -- the tier that served the call, by any provider (LangSmith's OTel export: an Anthropic
            -- call asks for `auto` and is served `priority`, billed outside the cost report)
            attributes['gen_ai.response.service_tier'],
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
        -- cache parts: semconv, OpenLLMetry and Anthropic's names, OpenInference, pydantic-ai /
        -- Logfire's `details`, the Vercel AI SDK's `inputTokenDetails` (v6) and `cachedInputTokens`
        -- (v5), Strands' cache write, LangSmith's `input_token_details` (a Python dict as text, read
        -- by pattern), and last the Vercel AI SDK's provider metadata (JSON text), where its v4 and
        -- v5 keep Anthropic's and Bedrock's cache parts that their usage leaves out
        try_cast(coalesce(
            attributes['gen_ai.usage.cache_read.input_tokens'],
            attributes['gen_ai.usage.cache_read_input_tokens'],
            attributes['llm.token_count.prompt_details.cache_read'],
            attributes['gen_ai.usage.details.cache_read_tokens'],
            attributes['ai.usage.inputTokenDetails.cacheReadTokens'],
            case when {{ vercel_text_call('attributes') }} then attributes['ai.usage.cachedInputTokens'] end,
            nullif(regexp_extract(
                attributes['gen_ai.usage.input_token_details'], '[''"]cache_read[''"]\s*:\s*([0-9]+)', 1
            ), ''),
            {{ vercel_provider_metadata_count('attributes', 'cache_read') }}
        ) as bigint) as reported_cache_read_tokens,
        try_cast(coalesce(
            attributes['gen_ai.usage.cache_creation.input_tokens'],
            attributes['gen_ai.usage.cache_creation_input_tokens'],
            attributes['gen_ai.usage.cache_write_input_tokens'],
            attributes['llm.token_count.prompt_details.cache_write'],
            attributes['gen_ai.usage.details.cache_write_tokens'],
            attributes['ai.usage.inputTokenDetails.cacheWriteTokens'],
            nullif(regexp_extract(
                attributes['gen_ai.usage.input_token_details'], '[''"]cache_creation[''"]\s*:\s*([0-9]+)', 1
            ), ''),
            {{ vercel_provider_metadata_count('attributes', 'cache_write') }}
        ) as bigint) as reported_cache_write_tokens,
        try_cast(coalesce(
            attributes['gen_ai.usage.cache_creation.ephemeral_5m_input_tokens'],
            {{ vercel_provider_metadata_count('attributes', 'cache_write_5m') }}
        ) as bigint) as reported_cache_write_5m_tokens,
        try_cast(coalesce(
            attributes['gen_ai.usage.cache_creation.ephemeral_1h_input_tokens'],
            {{ vercel_provider_metadata_count('attributes', 'cache_write_1h') }}
        ) as bigint) as reported_cache_write_1h_tokens,
        try_cast(coalesce(
            attributes['gen_ai.usage.reasoning.output_tokens'],
            attributes['gen_ai.usage.reasoning_tokens'],
            attributes['llm.usage.reasoning_tokens'],
            attributes['llm.token_count.completion_details.reasoning'],
            attributes['gen_ai.usage.details.reasoning_tokens'],
            attributes['ai.usage.outputTokenDetails.reasoningTokens'],
            case when {{ vercel_text_call('attributes') }} then attributes['ai.usage.reasoningTokens'] end
        ) as bigint) as reported_reasoning_tokens,
        -- The Vercel AI SDK's text calls before v6 (no `ai.usage.*TokenDetails`) report each
        -- provider's own counts: Anthropic's and Bedrock's input leaves cache reads and writes out,
        -- Google's output leaves reasoning (thoughts, billed as output) out. v6 counts both in, as
        -- the conventions do. Its object calls (`generateObject`) carry no details in v6 either, so
        -- they cannot be told apart by version and keep the conventions.
        (
            {{ vercel_text_call('attributes') }}
            and attributes['ai.usage.inputTokenDetails.noCacheTokens'] is null
            and attributes['ai.usage.inputTokenDetails.cacheReadTokens'] is null
            and attributes['ai.usage.inputTokenDetails.cacheWriteTokens'] is null
            and attributes['ai.usage.outputTokenDetails.reasoningTokens'] is null
        ) as is_vercel_before_v6,

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

cache_parts as (

    select
        extracted.*,
        coalesce(extracted.reported_cache_read_tokens, 0) as cache_read,
        coalesce(
            extracted.reported_cache_write_tokens,
            coalesce(extracted.reported_cache_write_5m_tokens, 0)
            + coalesce(extracted.reported_cache_write_1h_tokens, 0)
        ) as cache_write,
        case
            when extracted.is_vercel_before_v6 and regexp_matches(extracted.provider_name, 'anthropic|bedrock')
                then false
            -- Strands reports the usage of its model provider as that provider counts it: Bedrock's
            -- input (a Bedrock model id, `us.anthropic.claude-sonnet-4-20250514-v1:0`) leaves cache out
            when
                extracted.provider_name = 'strands-agents'
                and regexp_matches(
                    lower(coalesce(extracted.response_model, extracted.request_model)),
                    '{{ bedrock_model_id_pattern() }}'
                )
                then false
            else token_conventions.input_includes_cache
        end as scope_input_includes_cache,
        -- reasoning is a part of output in every convention, so an output smaller than its reasoning
        -- leaves it out, as the Vercel AI SDK's text calls on Google do before v6 whatever the sizes
        coalesce(extracted.is_vercel_before_v6 and starts_with(extracted.provider_name, 'google'), false)
        or coalesce(extracted.reported_output_tokens, 0) < coalesce(extracted.reported_reasoning_tokens, 0)
            as output_excludes_reasoning
    from extracted
    left join token_conventions on extracted.scope_name = token_conventions.scope_name

),

tokens as (

    select
        * exclude (scope_input_includes_cache),
        -- Semconv, OpenInference and OpenAI count cache reads and writes inside input tokens; the raw
        -- Anthropic API does not. The span's source decides (seeds/token_conventions.csv); a source
        -- not listed follows the conventions, unless its input is smaller than its cache parts,
        -- which only the raw way can be.
        coalesce(not scope_input_includes_cache, false)
        or coalesce(reported_input_tokens, 0) < cache_read + cache_write as input_excludes_cache,
        coalesce(
            reported_input_tokens, reported_output_tokens, reported_cache_read_tokens,
            reported_cache_write_tokens, reported_cache_write_5m_tokens, reported_cache_write_1h_tokens
        ) is not null as has_usage
    from cache_parts

),

normalized as (

    select
        * exclude (cache_read, cache_write, input_excludes_cache, is_vercel_before_v6, output_excludes_reasoning),
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
        case
            when has_usage
                then
                    coalesce(reported_output_tokens, 0)
                    + case when output_excludes_reasoning then coalesce(reported_reasoning_tokens, 0) else 0 end
        end as output_tokens,
        case when has_usage then coalesce(reported_reasoning_tokens, 0) end as reasoning_tokens,
        case
            when input_excludes_cache then 'input_excludes_cache'
            when has_usage then 'input_includes_cache'
        end as token_convention,
        coalesce(
            list_contains({{ call_operations }}, operation)
            or list_contains(['LLM', 'EMBEDDING'], openinference_kind)
            -- a model and usage on a span of no known operation: a call
            or (operation is null and coalesce(response_model, request_model) is not null and has_usage),
            false
        ) as is_llm_call,
        -- an agent, workflow or chain span that carries a model and usage: it may roll up the calls
        -- made under it (counted through them) or be the only record of a call (a remote agent);
        -- stg_otel__span_lineage counts it as a call only when no call or such span is under it
        coalesce(
            operation is not null
            and not list_contains({{ call_operations }}, operation)
            and operation <> 'execute_tool'
            and not list_contains(['LLM', 'EMBEDDING'], coalesce(openinference_kind, ''))
            and coalesce(response_model, request_model) is not null
            and has_usage,
            false
        ) as is_usage_rollup
    from tokens

)

select
    normalized.*,
    normalized.uncached_input_tokens + normalized.cache_read_tokens + normalized.cache_write_tokens as input_tokens,
    -- a name the aliases do not know is kept as it is: the call is priced under that provider (and
    -- stays unpriced when genai-prices does not know it), never under one guessed from the model;
    -- an alias with no provider is an agent framework's name (`strands-agents`), which names none:
    -- a Bedrock model id (`us.anthropic.claude-sonnet-4-20250514-v1:0`) is then AWS's, any other
    -- model is priced under the provider its name gives (as for a span that names no provider)
    case
        when provider_aliases.alias is null then normalized.provider_name
        when provider_aliases.provider is not null then provider_aliases.provider
        when regexp_matches(
            lower(coalesce(normalized.response_model, normalized.request_model)), '{{ bedrock_model_id_pattern() }}'
        ) then 'aws'
    end as provider,
    -- a Bedrock model id given as its ARN is named bare: `us.anthropic.claude-…`, not the account's ARN
    regexp_replace(
        coalesce(normalized.response_model, normalized.request_model), '^{{ bedrock_arn_prefix_pattern() }}', '', 'i'
    ) as model,
    {{ trace_key('normalized.trace_id') }} as trace_key,
    {{ span_key('normalized.span_id') }} as span_key,
    {{ span_key('normalized.parent_span_id') }} as parent_key
from normalized
left join provider_aliases on normalized.provider_name = provider_aliases.alias
