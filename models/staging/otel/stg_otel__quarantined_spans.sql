{#-
    One row per span the raw gate quarantined for a bad field, with the trace it belonged to (not
    the second copy of a span exported twice: its first copy loaded).

    The run that span was part of is published without it: its cost and calls are short of what it
    spent. int_runs_rolled_up counts these spans per run and takes such a run's cost for a lower
    bound, as it does a run with an unpriced call. A line that is not JSON at all (truncated or
    corrupt, record_key `line`) names no trace: its spans are counted by the gate's quarantine
    share only.
-#}

with

quarantined as (

    select * from {{ source('otel', 'otel_quarantined_spans') }}
    where
        record_key <> 'line'
        -- a second copy of a span the run holds (a Collector retry) takes nothing from it
        and not starts_with(reason, 'duplicate export of span ')

),

renamed as (

    select
        -- ids: as the loader keys spans (lower-case hex); a malformed id names no trace
        nullif(lower(json_extract_string(raw_record, '$.traceId')), '') as trace_id,
        record_key,

        -- why
        reason,

        -- lineage
        _partition_date,
        _source_file,
        _line_number

    from quarantined

)

select * from renamed
