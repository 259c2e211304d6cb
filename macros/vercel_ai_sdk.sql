{#-
    The Vercel AI SDK before v6 leaves some token counts out of its usage and keeps them only in
    its provider metadata, one JSON text attribute (`ai.response.providerMetadata`): Anthropic's
    cache reads (v4) and writes (v4, v5) with their 5 m / 1 h split (v4 to v6), and Bedrock's cache
    reads (v4) and writes. They are read on its text calls only (`vercel_text_call`), whose version
    the usage attributes tell (stg_otel__span_fields). The loader quarantines such a call whose
    count here is not a whole number >= 0 (orchestration/sources/otel/schemas.py,
    PROVIDER_METADATA_TOKEN_COUNTS, kept equal to these paths by a test); text that is not JSON (an
    attribute cut at a length limit) gives none.
-#}

{#- The span of one model call of `generateText` / `streamText` (not their root span, not an object call). -#}
{% macro vercel_text_call(attributes) -%}
    coalesce({{ attributes }}['ai.operationId'] in ('{{ vercel_text_call_operations() | join("', '") }}'), false)
{%- endmacro %}

{% macro vercel_text_call_operations() -%}
    {{ return(['ai.generateText.doGenerate', 'ai.streamText.doStream']) }}
{%- endmacro %}

{% macro vercel_provider_metadata_paths() -%}
    {{ return({
        'cache_read': ['$.anthropic.cacheReadInputTokens', '$.bedrock.usage.cacheReadInputTokens'],
        'cache_write': ['$.anthropic.cacheCreationInputTokens', '$.bedrock.usage.cacheWriteInputTokens'],
        'cache_write_5m': ['$.anthropic.usage.cache_creation.ephemeral_5m_input_tokens'],
        'cache_write_1h': ['$.anthropic.usage.cache_creation.ephemeral_1h_input_tokens'],
    }) }}
{%- endmacro %}


{% macro vercel_provider_metadata_count(attributes, part) -%}
    {%- set metadata = attributes ~ "['ai.response.providerMetadata']" -%}
    case when {{ vercel_text_call(attributes) }} and json_valid({{ metadata }}) then coalesce(
        {%- for path in vercel_provider_metadata_paths()[part] %}
        json_extract_string({{ metadata }}, '{{ path }}'){{ "," if not loop.last }}
        {%- endfor %}
    ) end
{%- endmacro %}


{#- The ARN before a Bedrock model id: staging names the model without it (the account id is no
    part of the model, and genai-prices matches some ids only bare). -#}
{% macro bedrock_arn_prefix_pattern() -%}
    arn:aws[a-z-]*:bedrock:[a-z0-9-]*:[0-9]*:(foundation-model|inference-profile)/
{%- endmacro %}


{#-
    A Bedrock model id: a model vendor's name and a dot, after an optional inference-profile region
    (`us.anthropic.claude-sonnet-4-20250514-v1:0`, `meta.llama3-70b-instruct-v1:0`), itself after
    an optional ARN of a foundation model or inference profile
    (`arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-…`). An
    application inference profile's ARN names no model, so it cannot be told apart.
-#}
{% macro bedrock_model_id_pattern() -%}
    ^({{ bedrock_arn_prefix_pattern() }})?([a-z-]+\.)?(anthropic|amazon|meta|mistral|cohere|ai21|deepseek|openai|qwen|writer)\.
{%- endmacro %}
