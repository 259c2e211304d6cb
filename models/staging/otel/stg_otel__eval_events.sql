{%- set attribute_keys = [
    'gen_ai.evaluation.score.label', 'gen_ai.evaluation.score.value', 'gen_ai.evaluation.explanation', 'error.type',
] -%}

with

events as (

    select
        * exclude (attributes),
        {{ otel_attributes_struct('attributes', attribute_keys) }} as attributes
    from {{ source('otel', 'otel_eval_events') }}

),

renamed as (

    select
        -- ids
        trace_id,
        span_id,
        response_id,

        -- evaluation
        lower(evaluation_name) as evaluation_name,
        lower(attributes['gen_ai.evaluation.score.label']) as score_label,
        try_cast(attributes['gen_ai.evaluation.score.value'] as double) as score_value,
        attributes['gen_ai.evaluation.explanation'] as explanation,
        attributes['error.type'] as error_type,
        origin,

        -- time
        make_timestamp(time_unix_nano // 1000) as evaluated_at,

        -- lineage
        _partition_date,
        _source_file

    from events

)

select * from renamed
