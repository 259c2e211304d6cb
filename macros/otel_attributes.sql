{#-
    Raw OTLP attributes are one JSON object of text values per span (`{"gen_ai.system": "openai", …}`,
    orchestration/sources/otel/schemas.py). A model reads the attributes it needs with ONE
    json_transform into a STRUCT of them (0.66 s for 58 keys of 1M spans), then refers to each as
    `<struct>['key']`; a json_extract per key would parse the object once per key.
-#}

{% macro otel_attributes_struct(column, keys) -%}
    json_transform({{ column }}, '{
        {%- for key in keys | unique -%}
            "{{ key }}":"VARCHAR"{{ "," if not loop.last }}
        {%- endfor -%}
    }')
{%- endmacro %}


{#- Every span attribute stg_otel__spans reads (the model lists what it does with each). -#}
{% macro otel_span_attribute_keys() -%}
    {{ return([
    'error.type',
    'gen_ai.provider.name', 'gen_ai.system', 'llm.provider', 'llm.system',
    'gen_ai.operation.name', 'llm.request.type', 'openinference.span.kind', 'traceloop.span.kind',
    'gen_ai.request.model', 'llm.request.model_name', 'llm.model_name', 'gen_ai.response.model',
    'llm.response.model_name', 'gen_ai.response.id',
    'openai.response.service_tier', 'gen_ai.openai.response.service_tier', 'gen_ai.response.service_tier',
    'openai.request.service_tier',
    'gen_ai.openai.request.service_tier', 'gen_ai.request.service_tier',
    'gen_ai.tool.name', 'tool.name', 'gen_ai.prompt.name', 'gen_ai.request.system_hash',
    'gen_ai.system_instructions.hash',
    'gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens', 'llm.token_count.prompt',
    'gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens', 'llm.token_count.completion',
    'gen_ai.usage.cache_read.input_tokens', 'gen_ai.usage.cache_read_input_tokens',
    'llm.token_count.prompt_details.cache_read', 'gen_ai.usage.details.cache_read_tokens',
    'ai.usage.inputTokenDetails.cacheReadTokens',
    'gen_ai.usage.cache_creation.input_tokens', 'gen_ai.usage.cache_creation_input_tokens',
    'gen_ai.usage.cache_write_input_tokens', 'llm.token_count.prompt_details.cache_write',
    'gen_ai.usage.details.cache_write_tokens', 'ai.usage.inputTokenDetails.cacheWriteTokens',
    'gen_ai.usage.input_token_details',
    'gen_ai.usage.cache_creation.ephemeral_5m_input_tokens', 'gen_ai.usage.cache_creation.ephemeral_1h_input_tokens',
    'gen_ai.usage.reasoning.output_tokens', 'gen_ai.usage.reasoning_tokens', 'llm.usage.reasoning_tokens',
    'llm.token_count.completion_details.reasoning', 'gen_ai.usage.details.reasoning_tokens',
    'ai.usage.outputTokenDetails.reasoningTokens', 'ai.usage.cachedInputTokens', 'ai.usage.reasoningTokens',
    'ai.usage.inputTokenDetails.noCacheTokens', 'ai.response.providerMetadata', 'ai.operationId',
    'langsmith.span.kind',
    var('run_id_attribute'), 'traceloop.association.properties.run_id',
    'workflow.name', 'gen_ai.workflow.name', 'traceloop.workflow.name',
    'client.account_id', 'traceloop.association.properties.account_id',
    'gen_ai.request.reasoning_effort', 'gen_ai.openai.request.reasoning_effort',
    'openai.request.reasoning_effort', 'workflow.reasoning_effort',
    'gen_ai.agent.name', 'agent.name', 'traceloop.entity.name',
    'workflow.retry_of_run_id'
    ]) }}
{%- endmacro %}
