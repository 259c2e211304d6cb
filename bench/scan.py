"""Bare DuckDB scans of the trace files: what ingest is measured against.

Each scan reads the same files the nightly job reads and only extracts the usage fields of each
span (ids, start, model, token counts) into a table: no validation, no quarantine, no content
filtering, no attribute maps, no idempotent partition write. Two methods:

- `reference`: the issue's method (issue 7, "measured fact"): `read_ndjson_objects` +
  `json_extract(json, '$.resourceSpans[*].scopeSpans[*].spans[*]')` + `json_transform` of the
  attributes. The acceptance ratio is computed against this one.
- `fastest`: the fastest scan written here: each line read as text (`read_csv` with a delimiter
  JSON cannot contain) and `json_transform`-ed once into a STRUCT that declares only the fields
  extracted, then unnested.

And one bare load, to show what part of the ingest ratio no loader of this raw table can remove:

- `raw_floor`: every field `raw.otel_spans` keeps, parsed and written as the loader parses and
  writes them (the loader's line type, its attribute JSON with prompt and completion text
  stripped, its events), but nothing else: no validation, line numbers, duplicate marking,
  evaluation records, quarantine or idempotent partition write, and no staging.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import duckdb

from orchestration.sources.otel.parse import (
    MAX_LINE_BYTES,
    SPAN_EVENTS_TYPE,
    TRACES_LINE_TYPE,
    create_macros,
    reader,
)

# Usage attributes across the conventions the demo writes (GenAI semconv, OpenLLMetry legacy,
# OpenInference, OpenAI v2 legacy): the first key present wins.
MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model", "llm.model_name")
INPUT_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt")
OUTPUT_KEYS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion")
CACHE_READ_KEYS = (
    "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens",
    "llm.token_count.prompt_details.cache_read",
)
_ATTRIBUTES_TYPE = '[{"key":"VARCHAR","value":{"stringValue":"VARCHAR","intValue":"VARCHAR"}}]'


def _first(attributes: str, keys: Sequence[str], kind: str) -> str:
    """SQL: the value of the first of `keys` present in the attribute list."""
    listed = ", ".join(f"'{k}'" for k in keys)
    return (
        f"list_filter({attributes}, lambda a: list_contains([{listed}], a.key))[1].value.{kind}"
    )


def _usage_columns(span: str, attributes: str) -> str:
    return f"""
        {span}.trace_id as trace_id,
        {span}.span_id as span_id,
        try_cast({span}.start_ns as bigint) as start_time_unix_nano,
        {_first(attributes, MODEL_KEYS, 'stringValue')} as model,
        try_cast({_first(attributes, INPUT_KEYS, 'intValue')} as bigint) as input_tokens,
        try_cast({_first(attributes, OUTPUT_KEYS, 'intValue')} as bigint) as output_tokens,
        try_cast({_first(attributes, CACHE_READ_KEYS, 'intValue')} as bigint) as cache_read_tokens"""


REFERENCE_SQL = f"""
create or replace table scan_reference as
with docs as (
    select json
    from read_ndjson_objects(?, compression = 'auto_detect', maximum_object_size = {MAX_LINE_BYTES},
                             ignore_errors = true)
),

spans as (
    select unnest(json_extract(json, '$.resourceSpans[*].scopeSpans[*].spans[*]')) as span
    from docs
),

typed as (
    select
        {{
            'trace_id': span ->> '$.traceId',
            'span_id': span ->> '$.spanId',
            'start_ns': span ->> '$.startTimeUnixNano'
        }} as s,
        json_transform(span -> '$.attributes', '{_ATTRIBUTES_TYPE}') as attributes
    from spans
)

select {_usage_columns('s', 'attributes')}
from typed
"""

_NARROW_LINE_TYPE = (
    '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"VARCHAR","spanId":"VARCHAR",'
    '"startTimeUnixNano":"VARCHAR","attributes":' + _ATTRIBUTES_TYPE + "}]}]}]}"
)

FASTEST_SQL = f"""
create or replace table scan_fastest as
with docs as (
    select try(json_transform(line, '{_NARROW_LINE_TYPE}')) as doc
    from read_csv(
        ?, columns = {{'line': 'VARCHAR'}}, header = false, delim = '\x1e', quote = '', escape = '',
        auto_detect = false, strict_mode = false, max_line_size = {MAX_LINE_BYTES}, compression = 'auto'
    )
),

resources as (
    select unnest(doc.resourceSpans) as r from docs where doc.resourceSpans is not null
),

scopes as (
    select unnest(r.scopeSpans) as sc from resources
),

spans as (
    select unnest(sc.spans) as span from scopes
),

flat as (
    select
        {{'trace_id': span.traceId, 'span_id': span.spanId, 'start_ns': span.startTimeUnixNano}} as s,
        span.attributes as attributes
    from spans
)

select {_usage_columns('s', 'attributes')}
from flat
"""


RAW_FLOOR_SQL = f"""
create or replace table scan_raw_floor as
with docs as (
    select filename as source_file, try(json_transform(line, '{TRACES_LINE_TYPE}')) as doc
    from {reader('?')}
    where line is not null
),

resources as (
    select source_file, unnest(doc.resourceSpans) as r from docs where doc.resourceSpans is not null
),

scopes as (
    select
        source_file,
        coalesce(otlp_json(r.resource.attributes, otlp_keys(r.resource.attributes)), '{{}}') as resource_attributes,
        unnest(r.scopeSpans) as sc
    from resources
),

spans as (
    select source_file, resource_attributes, sc.scope as scope, unnest(sc.spans) as span from scopes
),

typed_events as (
    select
        *,
        case when span.events is not null then json_transform(span.events, '{SPAN_EVENTS_TYPE}') end as span_events
    from spans
)

select
    lower(span.traceId) as trace_id,
    lower(span.spanId) as span_id,
    nullif(lower(span.parentSpanId), '') as parent_span_id,
    span.name as name,
    try_cast(span.kind as integer) as kind,
    otlp_nanos(span.startTimeUnixNano) as start_time_unix_nano,
    otlp_nanos(span.endTimeUnixNano) as end_time_unix_nano,
    try_cast(span.status.code as integer) as status_code,
    nullif(span.status.message, '') as status_message,
    coalesce(otlp_json(span.attributes, otlp_keys(span.attributes)), '{{}}') as attributes,
    resource_attributes,
    scope.name as scope_name,
    scope.version as scope_version,
    case when len(span_events) > 0 then list_transform(span_events, lambda e: {{
        'time_unix_nano': otlp_nanos(e.timeUnixNano),
        'name': e.name,
        'attributes': coalesce(otlp_json(e.attributes, otlp_keys(e.attributes)), '{{}}')
    }}) else [] end as events,
    source_file,
    otlp_day(otlp_nanos(span.startTimeUnixNano)) as _partition_date
from typed_events
"""


def run_scan(method: str, files: Sequence[Path], database: Path) -> dict[str, float | int]:
    """Time one scan method over `files` into a fresh DuckDB file; return seconds and row counts."""
    database.unlink(missing_ok=True)
    sql = {"reference": REFERENCE_SQL, "fastest": FASTEST_SQL, "raw_floor": RAW_FLOOR_SQL}[method]
    with duckdb.connect(str(database)) as conn:
        conn.execute("set enable_progress_bar = false")
        if method == "raw_floor":
            create_macros(conn, keep_content=False)  # the loader's attribute JSON, content stripped
        started = time.perf_counter()
        conn.execute(sql, [[str(f) for f in files]])
        seconds = time.perf_counter() - started
        table = f"scan_{method}"
        usage = (
            " or ".join(f"""try_cast(attributes ->> '$."{key}"' as bigint) is not null""" for key in INPUT_KEYS)
            if method == "raw_floor"
            else "input_tokens is not null"
        )
        spans, with_usage = conn.execute(
            f"select count(*), count(*) filter (where {usage}) from {table}"
        ).fetchone()
    database.unlink(missing_ok=True)
    return {"seconds": round(seconds, 3), "spans": spans, "spans_with_usage": with_usage}
