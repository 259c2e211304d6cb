"""Parse OTLP/JSON lines inside DuckDB into candidate span and evaluation rows.

Every line is parsed once, by `json_transform` into a declared STRUCT type: measured here on 200k
spans (265 MB) it took 1.3 s, against 4.0 s for a bare `json_extract` of the span arrays and 6.1 s
for nested `json_extract` + per-span transforms. Lines that do not parse are classified (corrupt,
not an object, not OTLP, ConsoleSpanExporter output) and kept with their file and line number.

Line numbers come from `row_number() over ()` over a single `read_csv` scan that returns each file's
lines in order (DuckDB preserves insertion order for scans); the delimiter is the ASCII record
separator, which valid JSON cannot contain unescaped, so one line is one value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import duckdb

# Prompt and completion text: dropped before storage unless AGENTLEDGER_KEEP_CONTENT=1.
CONTENT_ATTRIBUTES = (
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "traceloop.entity.input",
    "traceloop.entity.output",
    "input.value",
    "output.value",
)
# Indexed message attributes (`gen_ai.prompt.0.content`, `llm.input_messages.3.message.content`);
# `gen_ai.prompt.name` names a prompt template and is kept.
CONTENT_PATTERN = r"^(gen_ai\.(prompt|completion)\.[0-9]+\.|llm\.(input|output)_messages\.)"

_ANY_VALUE = (
    '{"stringValue":"VARCHAR","intValue":"VARCHAR","doubleValue":"VARCHAR","boolValue":"VARCHAR",'
    '"arrayValue":"JSON","kvlistValue":"JSON","bytesValue":"VARCHAR"}'
)
_ATTRIBUTES = '[{"key":"VARCHAR","value":' + _ANY_VALUE + "}]"
_SPAN = (
    '{"traceId":"VARCHAR","spanId":"VARCHAR","parentSpanId":"VARCHAR","name":"VARCHAR","kind":"VARCHAR",'
    '"startTimeUnixNano":"VARCHAR","endTimeUnixNano":"VARCHAR","attributes":' + _ATTRIBUTES + ","
    '"events":[{"timeUnixNano":"VARCHAR","name":"VARCHAR","attributes":' + _ATTRIBUTES + "}],"
    '"status":{"code":"VARCHAR","message":"VARCHAR"}}'
)
_LOG_RECORD = (
    '{"timeUnixNano":"VARCHAR","observedTimeUnixNano":"VARCHAR","eventName":"VARCHAR",'
    '"traceId":"VARCHAR","spanId":"VARCHAR","attributes":' + _ATTRIBUTES + "}"
)
OTLP_LINE_TYPE = (
    '{"resourceSpans":[{"resource":{"attributes":' + _ATTRIBUTES + '},'
    '"scopeSpans":[{"scope":{"name":"VARCHAR","version":"VARCHAR"},"spans":[' + _SPAN + "]}]}],"
    '"resourceLogs":[{"resource":{"attributes":' + _ATTRIBUTES + '},'
    '"scopeLogs":[{"scope":{"name":"VARCHAR"},"logRecords":[' + _LOG_RECORD + "]}]}]}"
)

EVALUATION_EVENT = "gen_ai.evaluation.result"

# The longest line DuckDB's reader accepts. A Collector export batch (8,192 spans by default) of
# ~2 KB spans is ~16 MiB; the demo's longest line is 216 KB. The reader reserves buffers sized from
# this for every file it has open: at 512 MiB it asked for 8 GiB blocks and ran out of memory on
# 900 files, at 64 MiB a 135 MB day peaks at 181 MB RSS.
MAX_LINE_BYTES = 64 * 1024 * 1024


# The lines of the files bound to `?`, numbered per file: `numbered(source_file, line_number, line)`.
NUMBERED_LINES = f"""
        lines as (
            select filename as source_file, line, row_number() over () as ordinal
            from read_csv(
                ?, columns = {{'line': 'VARCHAR'}}, header = false, delim = '\x1e', quote = '',
                escape = '', filename = true, auto_detect = false, strict_mode = false,
                max_line_size = {MAX_LINE_BYTES}, compression = 'auto'
            )
        ),

        numbered as (
            select
                source_file,
                ordinal - min(ordinal) over (partition by source_file) + 1 as line_number,
                line
            from lines
        )"""


def _sql_strings(values: Sequence[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def create_macros(conn: duckdb.DuckDBPyConnection, keep_content: bool) -> None:
    """Define the temp macros the parse statements use (attribute maps, content filter, times).

    Measured on 31k spans: filtering content with a regex on every key, three times per attribute
    (macros inline), was half the parse time. The regex now runs only on keys that start like
    indexed prompt attributes, and a span's attributes are filtered once (`otlp_kept` in a CTE).
    """
    conn.execute(
        f"""
        create or replace temp macro otlp_is_content(k) as
            k in ({_sql_strings(CONTENT_ATTRIBUTES)})
            or starts_with(k, 'llm.input_messages.')
            or starts_with(k, 'llm.output_messages.')
            or (
                (starts_with(k, 'gen_ai.prompt.') or starts_with(k, 'gen_ai.completion.'))
                and regexp_matches(k, '{CONTENT_PATTERN}')
            )
        """
    )
    keep = "true" if keep_content else "false"
    conn.execute(
        f"""
        create or replace temp macro otlp_kept(attrs) as
            list_filter(coalesce(attrs, []), lambda a: a.key is not null and ({keep} or not otlp_is_content(a.key)))
        """
    )
    # AnyValue one-of → text; arrays and key-value lists stay JSON text, parsed where used.
    # Duplicate keys make map_from_entries fail: try() turns that into NULL for the row alone,
    # which the caller reports as a reason (an empty attribute list maps to {}, never NULL).
    conn.execute(
        """
        create or replace temp macro otlp_map(kept) as
            try(map_from_entries(list_transform(kept, lambda a: {
                'k': a.key,
                'v': coalesce(
                    a.value.stringValue, a.value.intValue, a.value.doubleValue, a.value.boolValue,
                    a.value.arrayValue::varchar, a.value.kvlistValue::varchar, a.value.bytesValue
                )
            })))
        """
    )
    conn.execute(
        """
        create or replace temp macro otlp_nanos(text) as try_cast(text as bigint)
        """
    )
    conn.execute(
        """
        create or replace temp macro otlp_day(nanos) as
            cast(make_timestamp(nanos // 1000) as date)
        """
    )


def create_staging_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the temp tables one load fills chunk by chunk."""
    conn.execute("create or replace temp sequence _otel_row_ids start 1")
    conn.execute(
        """
        create or replace temp table _otel_span_candidates (
            _row_id bigint, trace_id varchar, span_id varchar, parent_span_id varchar, name varchar,
            kind integer, start_time_unix_nano bigint, end_time_unix_nano bigint, status_code integer,
            status_message varchar, attributes map(varchar, varchar), resource_attributes map(varchar, varchar),
            scope_name varchar, scope_version varchar,
            events struct(time_unix_nano bigint, name varchar, attributes map(varchar, varchar))[],
            _source_file varchar, _line_number bigint, _resource_index integer, _scope_index integer,
            _span_index integer, _partition_date date, _reject_reason varchar
        )
        """
    )
    conn.execute(
        """
        create or replace temp table _otel_eval_candidates (
            _row_id bigint, trace_id varchar, span_id varchar, response_id varchar, time_unix_nano bigint,
            evaluation_name varchar, origin varchar, attributes map(varchar, varchar),
            _source_file varchar, _line_number bigint, _partition_date date, _reject_reason varchar,
            _raw_record varchar
        )
        """
    )
    conn.execute(
        """
        create or replace temp table _otel_rejected_lines (
            _partition_date date, _source_file varchar, _line_number bigint, record_key varchar,
            raw_record varchar, reason varchar
        )
        """
    )


def stage_files(conn: duckdb.DuckDBPyConnection, files: Sequence[Path], fallback_day: str) -> dict[str, int]:
    """Parse `files` and append their spans, evaluation events and bad lines to the temp tables.

    Args:
        conn: Connection holding the temp tables and macros.
        files: Trace and log files, parsed in one scan.
        fallback_day: ISO day that owns the chunk's bad lines and spans without a usable start
            time: the files' own date when they have one, else the last day of the load.

    Returns:
        Counts of this chunk: lines, bad lines, other (non-evaluation) log records.
    """
    if not files:
        return {"lines": 0, "bad_lines": 0, "other_log_records": 0}
    try:
        _create_docs(conn, files)
    except duckdb.InvalidInputException as error:
        raise _line_too_long(error) from None
    return _stage_docs(conn, fallback_day)


def _line_too_long(error: duckdb.InvalidInputException) -> Exception:
    """DuckDB's message quotes the whole line (prompt text included): keep only file and sizes."""
    message = str(error)
    if "Maximum line size" not in message:
        return error
    file = re.search(r"file = (.+)", message)
    size = re.search(r"Actual Size:\s*(\d+)", message)
    return ValueError(
        f"{file.group(1).strip() if file else 'a trace file'}: a line of "
        f"{int(size.group(1)) if size else 0:,} bytes exceeds the {MAX_LINE_BYTES:,}-byte limit; "
        "export smaller batches (the Collector's batch processor send_batch_max_size)"
    )


def _create_docs(conn: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> None:
    """Parse every line of `files` once into `_otel_docs` (the OTLP struct, or why it is not one)."""
    conn.execute(
        f"""
        create or replace temp table _otel_docs as
        with {NUMBERED_LINES},

        parsed as (
            select
                source_file,
                line_number,
                line,
                try(json_transform(line, '{OTLP_LINE_TYPE}')) as doc
            from numbered
            -- blank lines are skipped. Not trim(line) <> '': trim copies every line (40% of this
            -- statement); the anchored regex stops at a line's first character
            where line is not null and not regexp_full_match(line, '\\s*')
        ),

        classified as (
            select
                source_file,
                line_number,
                doc,
                line,
                case
                    when doc.resourceSpans is not null or doc.resourceLogs is not null then null
                    when doc is null or not json_valid(line) then 'line is not valid JSON (truncated or corrupt)'
                    when json_type(line) <> 'OBJECT'
                        then 'line is a JSON ' || lower(json_type(line)) || ', not an OTLP object'
                    when json_exists(line, '$.resourceSpans') then 'resourceSpans is not a list of ResourceSpans'
                    when json_exists(line, '$.resourceLogs') then 'resourceLogs is not a list of ResourceLogs'
                    when json_exists(line, '$.context') and json_exists(line, '$.kind')
                        then 'ConsoleSpanExporter output, not OTLP/JSON: export with the Collector file exporter'
                    else 'valid JSON but not OTLP: no resourceSpans or resourceLogs'
                end as reason
            from parsed
        )

        -- a good line's text is not kept: it is only needed to quarantine a bad one
        select source_file, line_number, doc, reason, case when reason is not null then line end as line
        from classified
        """,
        [[str(f) for f in files]],
    )


def _stage_docs(conn: duckdb.DuckDBPyConnection, fallback_day: str) -> dict[str, int]:
    """Append the parsed lines' spans, evaluation records and bad lines to the candidate tables."""
    counts = {"lines": conn.execute("select count(*) from _otel_docs").fetchone()[0]}

    conn.execute(
        f"""
        insert into _otel_rejected_lines
        select date '{fallback_day}', source_file, line_number, 'line', left(line, 100000), reason
        from _otel_docs
        where reason is not null
        """
    )
    counts["bad_lines"] = conn.execute("select count(*) from _otel_docs where reason is not null").fetchone()[0]

    # Unnest into a table first, then build the attribute maps from it: list functions over the
    # vectors an unnest just produced ran ~5x slower here (4.15 s against 0.76 s for 168k spans).
    conn.execute(
        """
        create or replace temp table _otel_spans_flat as
        with resources as (
            select
                source_file, line_number,
                unnest(doc.resourceSpans) as resource_spans,
                generate_subscripts(doc.resourceSpans, 1) as resource_index
            from _otel_docs
            where reason is null and doc.resourceSpans is not null
        ),

        scopes as (
            select
                source_file, line_number, resource_index,
                otlp_map(otlp_kept(resource_spans.resource.attributes)) as resource_attributes,
                unnest(resource_spans.scopeSpans) as scope_spans,
                generate_subscripts(resource_spans.scopeSpans, 1) as scope_index
            from resources
        )

        select
            source_file, line_number, resource_index, scope_index, resource_attributes,
            scope_spans.scope as scope,
            unnest(scope_spans.spans) as span,
            generate_subscripts(scope_spans.spans, 1) as span_index
        from scopes
        """
    )
    conn.execute(
        f"""
        insert into _otel_span_candidates
        with mapped as (
            select
                *,
                otlp_map(otlp_kept(span.attributes)) as attributes,
                list_transform(coalesce(span.events, []), lambda e: {{
                    'time_unix_nano': otlp_nanos(e.timeUnixNano),
                    'name': e.name,
                    'attributes': otlp_map(otlp_kept(e.attributes))
                }}) as events
            from _otel_spans_flat
        )

        select
            nextval('_otel_row_ids'),
            lower(span.traceId),
            lower(span.spanId),
            nullif(lower(span.parentSpanId), ''),
            span.name,
            case when span.kind is null then 0 else try_cast(span.kind as integer) end,
            otlp_nanos(span.startTimeUnixNano),
            otlp_nanos(span.endTimeUnixNano),
            case when span.status.code is null then 0 else try_cast(span.status.code as integer) end,
            nullif(span.status.message, ''),
            attributes,
            resource_attributes,
            scope.name,
            scope.version,
            events,
            source_file, line_number, resource_index, scope_index, span_index,
            coalesce(try(otlp_day(otlp_nanos(span.startTimeUnixNano))), date '{fallback_day}'),
            case
                when attributes is null then 'duplicate attribute key in span attributes'
                when resource_attributes is null then 'duplicate attribute key in resource attributes'
                when list_bool_or(list_transform(events, lambda e: e.attributes is null))
                    then 'duplicate attribute key in a span event'
            end
        from mapped
        """
    )

    evaluations_before = conn.execute(
        "select count(*) from _otel_eval_candidates where origin = 'log_record'"
    ).fetchone()[0]
    conn.execute(
        f"""
        insert into _otel_eval_candidates
        with resources as (
            select source_file, line_number, unnest(doc.resourceLogs) as resource_logs
            from _otel_docs
            where reason is null and doc.resourceLogs is not null
        ),

        scopes as (
            select source_file, line_number, unnest(resource_logs.scopeLogs) as scope_logs
            from resources
        ),

        records as (
            select source_file, line_number, unnest(scope_logs.logRecords) as record
            from scopes
        ),

        evaluations as (
            select
                *,
                otlp_map(otlp_kept(record.attributes)) as attributes,
                coalesce(otlp_nanos(record.timeUnixNano), otlp_nanos(record.observedTimeUnixNano)) as nanos
            from records
            where coalesce(record.eventName, '') = '{EVALUATION_EVENT}'
                or list_contains(
                    list_transform(coalesce(record.attributes, []),
                        lambda a: a.key || '=' || coalesce(a.value.stringValue, '')),
                    'event.name={EVALUATION_EVENT}'
                )
        )

        select
            nextval('_otel_row_ids'),
            nullif(lower(record.traceId), ''),
            nullif(lower(record.spanId), ''),
            attributes['gen_ai.response.id'],
            nanos,
            attributes['gen_ai.evaluation.name'],
            'log_record',
            attributes,
            source_file, line_number,
            coalesce(try(otlp_day(nanos)), date '{fallback_day}'),
            case when attributes is null then 'duplicate attribute key in log record' end,
            to_json(record)::varchar
        from evaluations
        """
    )
    evaluations_after = conn.execute(
        "select count(*) from _otel_eval_candidates where origin = 'log_record'"
    ).fetchone()[0]
    log_records = conn.execute(
        """
        select coalesce(sum(len(scope_logs.logRecords)), 0) from (
            select unnest(resource_logs.scopeLogs) as scope_logs from (
                select unnest(doc.resourceLogs) as resource_logs from _otel_docs
                where reason is null and doc.resourceLogs is not null
            )
        )
        """
    ).fetchone()[0]
    counts["other_log_records"] = int(log_records) - (evaluations_after - evaluations_before)
    conn.execute("drop table _otel_docs")
    conn.execute("drop table _otel_spans_flat")
    return counts


def stage_span_events(conn: duckdb.DuckDBPyConnection) -> None:
    """Copy `gen_ai.evaluation.result` span events of the staged spans into the evaluation candidates."""
    conn.execute(
        f"""
        insert into _otel_eval_candidates
        with events as (
            select trace_id, span_id, _source_file, _line_number, _partition_date, unnest(events) as event
            from _otel_span_candidates
            where _reject_reason is null
        )

        select
            nextval('_otel_row_ids'),
            trace_id,
            span_id,
            event.attributes['gen_ai.response.id'],
            event.time_unix_nano,
            event.attributes['gen_ai.evaluation.name'],
            'span_event',
            event.attributes,
            _source_file,
            _line_number,
            coalesce(try(otlp_day(event.time_unix_nano)), _partition_date),
            null,
            to_json(event)::varchar
        from events
        where event.name = '{EVALUATION_EVENT}'
        """
    )


def mark_duplicate_spans(conn: duckdb.DuckDBPyConnection, written: str, first: date, last: date) -> int:
    """Quarantine a span exported twice (Collector retries), keeping its first occurrence.

    The first copy is either earlier in this chunk or in `written` (this load's spans of
    `first..last` set aside from the earlier chunks). Both copies of a span start at the same moment,
    so only the chunk's own partitions of `written` are searched.
    """
    duplicates = conn.execute(
        """
        update _otel_span_candidates c
        set _reject_reason = 'duplicate export of span ' || c.span_id || ' (first seen in '
            || first_seen._source_file || ' line ' || first_seen._line_number || ')'
        from (
            select
                _row_id,
                first_value(_source_file) over same_span as _source_file,
                first_value(_line_number) over same_span as _line_number,
                row_number() over same_span as copy_number
            from _otel_span_candidates
            where _reject_reason is null
            window same_span as (partition by trace_id, span_id order by _row_id)
        ) as first_seen
        where c._row_id = first_seen._row_id and first_seen.copy_number > 1
            and c.trace_id is not null and c.span_id is not null
        """
    ).fetchone()[0]
    low, high = conn.execute(
        f"""
        select min(_partition_date), max(_partition_date) from _otel_span_candidates
        where _reject_reason is null and _partition_date between date '{first}' and date '{last}'
        """
    ).fetchone()
    if low is None:
        return duplicates
    in_chunk_days = f"_partition_date between date '{low}' and date '{high}'"
    return duplicates + conn.execute(
        f"""
        update _otel_span_candidates c
        set _reject_reason = 'duplicate export of span ' || c.span_id || ' (first seen in '
            || w._source_file || ' line ' || w._line_number || ')'
        from (
            select trace_id, span_id, _partition_date, _source_file, _line_number
            from {written} where {in_chunk_days}
        ) as w
        where c._reject_reason is null and c.{in_chunk_days}
            and w.trace_id = c.trace_id and w.span_id = c.span_id and w._partition_date = c._partition_date
        """
    ).fetchone()[0]


def fill_raw_spans(conn: duckdb.DuckDBPyConnection, rejected: str) -> None:
    """Re-read the lines of quarantined spans to store each span as it was received.

    Keeping every span's JSON text during the load would double its memory for the rare bad span;
    re-reading only the affected lines costs nothing when nothing is wrong.
    """
    affected = conn.execute(
        f"""
        select distinct c._source_file
        from {rejected} r join _otel_span_candidates c using (_row_id)
        """
    ).fetchall()
    if not affected:
        return
    conn.execute(
        f"""
        create or replace temp table _otel_raw_spans as
        with {NUMBERED_LINES}

        select c._row_id,
            json_extract(
                n.line,
                '$.resourceSpans[' || (c._resource_index - 1) || '].scopeSpans[' || (c._scope_index - 1)
                || '].spans[' || (c._span_index - 1) || ']'
            )::varchar as raw_record
        from {rejected} r
        join _otel_span_candidates c using (_row_id)
        join numbered n on n.source_file = c._source_file and n.line_number = c._line_number
        """,
        [[row[0] for row in affected]],
    )
    conn.execute(
        f"""
        update {rejected} r set raw_record = s.raw_record
        from _otel_raw_spans s where s._row_id = r._row_id
        """
    )
