"""Parse OTLP/JSON lines inside DuckDB, straight into the set-aside span table.

A day of files is read twice, by two statements:

1. `number_lines`: one serial pass that only numbers each file's lines and hashes them (a line's
   number needs `row_number() over ()`, which runs single-threaded; on the ~60k lines of 10M
   spans this pass is cheap).
2. `insert_spans`: one parallel pass that parses every line once with `json_transform` into a
   declared STRUCT, unnests resources, scopes and spans, strips prompt and completion text,
   validates each span against the raw Pandera model compiled to SQL (`pandera_sql`), takes the
   line number from pass 1 by the line's hash, and inserts the spans into the set-aside table.
   No intermediate table holds the parsed documents or the spans.

Measured on one weekday of the benchmark workload (135k spans, 51 files): pass 1 0.07 s, pass 2
~1.2 s. Two rules found the hard way, both ~5x on that day: list functions must not see
`coalesce(list, [])` (DuckDB then evaluates them over a non-flat vector), and the line-number join
must not live in the parse statement itself (with the serial numbering pass in the same
statement, every list function in it ran several times slower).

Lines that yield no span (corrupt lines, log records, ConsoleSpanExporter output; pass 2 does not
even parse a line without "resourceSpans" in it) are found afterwards by comparing pass 1 with what
was inserted, and only those lines are read again (`parse_spanless_lines`), with the lines pass 2
marked (log records beside spans, a resource or scope whose spans it read as none): they are rare,
except whole files of evaluation log records, which are small.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb

from orchestration import pandera_sql
from orchestration.loading import EXTRACTED_AT_SQL
from orchestration.sources.otel import invalid_utf8
from orchestration.sources.otel.client import LEAD_DAYS
from orchestration.sources.otel.schemas import (
    CACHE_WRITE_1H_ATTRIBUTE,
    CACHE_WRITE_TOTAL_ATTRIBUTES,
    EARLIEST_UNIX_NANOS,
    EVAL_EVENT_ROW_CHECKS_SQL,
    PROVIDER_METADATA_ATTRIBUTE,
    PROVIDER_METADATA_PATHS_BY_PART,
    PROVIDER_METADATA_TOKEN_COUNTS,
    SPAN_COLUMNS,
    SPAN_ROW_CHECKS_SQL,
    TOKEN_COUNT_ATTRIBUTES,
    VERCEL_TEXT_CALL_OPERATIONS,
    OtelEvalEventRaw,
    OtelSpanRaw,
)

# Prompt and completion text: dropped before storage unless AGENTLEDGER_KEEP_CONTENT=1.
CONTENT_ATTRIBUTES = (
    # the legacy event attributes (events `gen_ai.content.prompt` / `gen_ai.content.completion`);
    # the prefixes below need their dot, so they do not match these exact keys
    "gen_ai.prompt",
    "gen_ai.completion",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "traceloop.entity.input",
    "traceloop.entity.output",
    "input.value",
    "output.value",
    # OpenInference: a completions call's prompts (a list), a prompt template and what fills it in
    "llm.prompts",
    "llm.prompt_template.template",
    "llm.prompt_template.variables",
    "reranker.query",
    # the older GenAI events (`gen_ai.user.message`, `gen_ai.choice`, …) recorded as span events put
    # their body here (Azure AI Inference, Semantic Kernel)
    "gen_ai.event.content",
    # an evaluator's reasons for its score: a judge model's free text, which quotes what it judged
    "gen_ai.evaluation.explanation",
    # the Vercel AI SDK: prompt, messages, generated text/object/reasoning, tool calls, embedded values
    "ai.prompt",
    "ai.prompt.messages",
    "ai.response.text",
    "ai.response.object",
    "ai.response.reasoning",
    "ai.response.toolCalls",
    "ai.toolCall.args",
    "ai.toolCall.result",
    "ai.toolCall.input",
    "ai.toolCall.output",
    "ai.value",
    "ai.values",
    # … and the names its versions 3.3 to 4 set beside `ai.response.*`
    "ai.result.text",
    "ai.result.object",
    "ai.result.toolCalls",
    # Pydantic AI (and Logfire): an agent run's messages (`pydantic_ai.all_messages`; its
    # instrumentation version 1 `all_messages_events`, earlier releases `all_messages` beside the
    # run's `prompt`) and output, a chat span's messages as events JSON (version 1), a tool's
    # arguments and response (versions 1-2; version 3 sets the `gen_ai.tool.call.*` above)
    "pydantic_ai.all_messages",
    "all_messages_events",
    "all_messages",
    "prompt",
    "final_result",
    "events",
    "tool_arguments",
    "tool_response",
)
# Content attribute names that are also the name of a field of a span (in OTLP/JSON and in
# ConsoleSpanExporter output), which a quarantined record keeps.
SPAN_FIELD_NAMES = ("events",)
# Indexed attributes (`gen_ai.prompt.0.content`, `llm.input_messages.3.message.content`, OpenInference's
# retrieved, embedded and reranked documents' text); `gen_ai.prompt.name` names a prompt template and
# is kept, and so are a document's id, score and metadata.
CONTENT_PREFIXES = (
    "gen_ai.prompt.", "gen_ai.completion.", "llm.input_messages.", "llm.output_messages.", "llm.prompts.",
    "llm.completions.", "retrieval.documents.", "embedding.embeddings.", "reranker.",
)
CONTENT_PATTERN = (
    r"^(gen_ai\.(prompt|completion)\.[0-9]+\.|llm\.(input|output)_messages\.|llm\.(prompts|completions)\.[0-9]+"
    r"|(retrieval\.documents|reranker\.(input|output)_documents)\.[0-9]+\.document\.content$"
    r"|embedding\.embeddings\.[0-9]+\.embedding\.text$)"
)
_CONTENT_RE = re.compile(CONTENT_PATTERN)
# In the attributes' JSON text (`{"gen_ai.usage.input_tokens":"242",…}`), a token count that is not
# all digits (null, empty, negative, fractional, "abc", or a whole number written "242.0" or "1e3",
# which otlp_bad_token_count then accepts) or too long for a BIGINT, which staging would read as no
# tokens. Nearly every span has none, so the exact check rarely runs.
SUSPECT_TOKEN_COUNT = (
    '"(' + "|".join(re.escape(key) for key in TOKEN_COUNT_ATTRIBUTES) + ')":(null|""|"[^"]*[^0-9"][^"]*"|"[0-9]{19,}")'
)
# A Vercel AI SDK text call, in the attributes' JSON text: staging reads its provider metadata
VERCEL_TEXT_CALL_PATTERN = '"ai\\.operationId":"(' + "|".join(map(re.escape, VERCEL_TEXT_CALL_OPERATIONS)) + ')"'
# … or such a call, or a cache write with a 1-hour part (0.5% of the benchmark's spans), which its
# total must not be below
SUSPECT_TOKEN_COUNT_OR_METADATA = (
    SUSPECT_TOKEN_COUNT + "|" + VERCEL_TEXT_CALL_PATTERN + '|"' + re.escape(CACHE_WRITE_1H_ATTRIBUTE) + '":"[1-9]'
)

# Events that carry a message as their body (the older GenAI events) and what of theirs is kept
# unless content is: `gen_ai.*` attributes that are not content, and these.
MESSAGE_EVENT_PATTERN = r"^gen_ai\.((system|user|assistant|tool)\.message|choice)$"
MESSAGE_EVENT_KEPT = ("role", "index", "finish_reason", "id")
_MESSAGE_EVENT_RE = re.compile(MESSAGE_EVENT_PATTERN)
# The first segments of every content key (CONTENT_ATTRIBUTES and CONTENT_PATTERN's prefixes): a
# nested key-value list naming none of them holds no content attribute.
NESTED_CONTENT_STARTS = (
    r"gen_ai\.|llm\.|input\.value|output\.value|traceloop\.entity|retrieval\.|embedding\.|reranker\.|ai\."
    r'|pydantic_ai\.|all_messages|prompt"|final_result"|events"|tool_arguments"|tool_response"'
)

# What a quarantined record shows in place of a content attribute's value when content is not kept.
WITHHELD = "[withheld: prompt/completion text; AGENTLEDGER_KEEP_CONTENT=1 keeps it]"
# What the provider metadata keeps in place of a token count that is not a number (text or an
# object could be anything): the loader's check then quarantines the span, naming the count.
NOT_A_COUNT = "[withheld: not a number]"
_NUMBER_TEXT = re.compile(r"[0-9.eE+-]+")

_ANY_VALUE = (
    '{"stringValue":"VARCHAR","intValue":"VARCHAR","doubleValue":"VARCHAR","boolValue":"VARCHAR",'
    '"arrayValue":"JSON","kvlistValue":"JSON","bytesValue":"VARCHAR"}'
)
_ATTRIBUTES = '[{"key":"VARCHAR","value":' + _ANY_VALUE + "}]"
# A span's events are read as JSON first and typed only when there are some: a declared list type
# would read events given as one object as quietly as events left out, losing its evaluations.
SPAN_EVENTS_TYPE = '[{"timeUnixNano":"VARCHAR","name":"VARCHAR","attributes":' + _ATTRIBUTES + "}]"
_SPAN = (
    '{"traceId":"VARCHAR","spanId":"VARCHAR","parentSpanId":"VARCHAR","name":"VARCHAR","kind":"VARCHAR",'
    '"startTimeUnixNano":"VARCHAR","endTimeUnixNano":"VARCHAR","attributes":' + _ATTRIBUTES + ","
    '"events":"JSON","status":{"code":"VARCHAR","message":"VARCHAR"}}'
)
_LOG_RECORD = (
    '{"timeUnixNano":"VARCHAR","observedTimeUnixNano":"VARCHAR","eventName":"VARCHAR",'
    '"traceId":"VARCHAR","spanId":"VARCHAR","attributes":' + _ATTRIBUTES + "}"
)
TRACES_LINE_TYPE = (
    '{"resourceSpans":[{"resource":{"attributes":' + _ATTRIBUTES + '},'
    '"scopeSpans":[{"scope":{"name":"VARCHAR","version":"VARCHAR"},"spans":[' + _SPAN + "]}]}]}"
)
LOGS_LINE_TYPE = (
    '{"resourceLogs":[{"resource":{"attributes":' + _ATTRIBUTES + '},'
    '"scopeLogs":[{"scope":{"name":"VARCHAR"},"logRecords":[' + _LOG_RECORD + "]}]}]}"
)

EVALUATION_EVENT = "gen_ai.evaluation.result"

# A provisional reject reason: the span's or its resource's attributes read as absent, which they
# are when left out (an empty list) and also when they are not a list at all (`{"key": "value"}`,
# which loses every attribute). `check_absent_attributes` tells the two apart from the line.
ATTRIBUTES_UNCHECKED = "(attributes to check)"

# The longest line DuckDB's reader accepts. A Collector export batch (8,192 spans by default) of
# ~2 KB spans is ~16 MiB; the benchmark's lines are ~175 KB. The reader's buffer is set to the same
# size: left to its default (16 lines' worth, 1 GiB) it ran out of DuckDB's memory limit as soon
# as two files were read at once.
MAX_LINE_BYTES = 64 * 1024 * 1024

# Columns the set-aside table carries beyond the raw table's, dropped when it is published.
LOADING_EXTRA_COLUMNS: dict[str, str] = {
    "_chunk": "integer",
    "_line_hash": "ubigint",
    "_line_copies": "integer",
    "_line_read_again": "boolean",
    "_resource_index": "integer",
    "_scope_index": "integer",
    "_span_index": "integer",
    "_reject_reason": "varchar",
}


def reader(files_parameter: str, skip_invalid: bool = False) -> str:
    """`read_csv` of whole lines, one value per line, gzip detected per file.

    The delimiter is the ASCII record separator, which valid JSON cannot contain unescaped. With
    `skip_invalid`, lines DuckDB cannot read are skipped and recorded (`invalid_utf8`): only for
    files known to hold lines that are not UTF-8, and checked after the read.
    """
    skipping = f", {invalid_utf8.skipping_options()}" if skip_invalid else ""
    return f"""read_csv(
            {files_parameter}, columns = {{'line': 'VARCHAR'}}, header = false, delim = '\x1e', quote = '',
            escape = '', filename = true, auto_detect = false, strict_mode = false,
            max_line_size = {MAX_LINE_BYTES}, buffer_size = {MAX_LINE_BYTES}, compression = 'auto'{skipping}
        )"""


def _renumbered(numbered: str) -> str:
    """SQL of `numbered`'s rows with each line number counting the invalid lines skipped before it.

    The i-th skipped line of a file (line r) comes after r - i lines that were read, so a line read
    as the p-th of its file is line p + (the largest i with r - i < p): an ASOF join on that.
    """
    return f"""(
            with skipped as (
                select source_file, line_number - row_number() over same_file as read_before,
                    row_number() over same_file as skipped_before
                from _otel_invalid_lines
                window same_file as (partition by source_file order by line_number)
            ),

            thresholds as (
                select source_file, read_before, max(skipped_before) as skipped_before
                from skipped
                group by all
            )

            select {numbered}.* replace ({numbered}.line_number + coalesce(thresholds.skipped_before, 0) as line_number)
            from {numbered}
            asof left join thresholds
                on thresholds.source_file = {numbered}.source_file and {numbered}.line_number > thresholds.read_before
        )"""


def numbered_lines(files_parameter: str, skip_invalid: bool = False) -> str:
    """CTEs ending in `numbered(source_file, line, line_number)`: every line of the files, numbered per file.

    `row_number() over ()` keeps the reader's order (one file after another, each in order), and
    runs serially: for reading again the few files that hold a quarantined line, not for a load.
    With `skip_invalid`, lines that are not UTF-8 are skipped but still counted.
    """
    return f"""lines as (
            select filename as source_file, line, row_number() over () as ordinal
            from {reader(files_parameter, skip_invalid)}
        ),

        read_numbered as (
            select source_file, line, ordinal - min(ordinal) over (partition by source_file) + 1 as line_number
            from lines
        ),

        numbered as (
            select * from {_renumbered("read_numbered") if skip_invalid else "read_numbered"}
        )"""


def _sql_strings(values: Sequence[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def is_content_key(key: str) -> bool:
    """Whether an attribute key holds prompt or completion text (the Python twin of `otlp_is_content`)."""
    return key in CONTENT_ATTRIBUTES or _CONTENT_RE.match(key) is not None


def provider_metadata_counts(text: object) -> str | None:
    """The Vercel AI SDK's provider metadata (JSON text) cut to the token counts staging reads; None if not JSON.

    The rest of it can hold completion text (OpenAI's logprobs) or text made from the prompt
    (Google's grounding search queries), so it is not stored unless content is kept. The Python
    twin of `otlp_provider_metadata_counts`, for quarantined records; absent counts are left out.
    """
    if not isinstance(text, str):
        return None
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    counts: dict = {}
    for path in PROVIDER_METADATA_TOKEN_COUNTS:
        steps = path.removeprefix("$.").split(".")
        found: object = document
        for step in steps:
            found = found.get(step) if isinstance(found, dict) else None
        if found is None:
            continue
        branch = counts
        for step in steps[:-1]:
            branch = branch.setdefault(step, {})
        is_number = isinstance(found, (int, float)) and not isinstance(found, bool)
        is_number_text = isinstance(found, str) and _NUMBER_TEXT.fullmatch(found) is not None
        branch[steps[-1]] = found if is_number or is_number_text else NOT_A_COUNT
    return json.dumps(counts, ensure_ascii=False, separators=(",", ":"))


def _cut_provider_metadata(value: object) -> object:
    """The provider metadata attribute's value in any form (an OTLP AnyValue, bare text), cut to its token counts."""
    if isinstance(value, dict):
        return {"stringValue": provider_metadata_counts(value.get("stringValue"))}
    return provider_metadata_counts(value)


def _withhold_content(value: object) -> object:
    """`value` with the value of every content attribute replaced by `WITHHELD`, at any depth.

    Attributes come as OTLP key-value lists (`[{"key": …, "value": {…}}]`, also nested in a
    kvlistValue) or, in ConsoleSpanExporter output, as plain objects: both are covered. The key is
    kept, so a record quarantined for, say, a duplicated content key still shows why. The Vercel AI
    SDK's provider metadata is cut to its token counts (`provider_metadata_counts`).
    """
    if isinstance(value, dict):
        if isinstance(value.get("key"), str) and is_content_key(value["key"]) and "value" in value:
            # one key-value pair where a list was due (`"attributes": {"key": …, "value": …}`)
            return {**value, "value": {"stringValue": WITHHELD}}
        if value.get("key") == PROVIDER_METADATA_ATTRIBUTE and "value" in value:
            rest = _withhold_content({k: v for k, v in value.items() if k != "value"})
            return {**rest, "value": _cut_provider_metadata(value["value"])}
        if _is_message_event(value):
            value = {**value, "attributes": [_withhold_message_field(item) for item in value["attributes"]]}
        return {
            # `events` is also a span's own field (a list): as an attribute, its value is text
            k: WITHHELD if is_content_key(k) and (k not in SPAN_FIELD_NAMES or isinstance(v, str))
            else _cut_provider_metadata(v) if k == PROVIDER_METADATA_ATTRIBUTE
            else _withhold_content(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            {**item, "value": {"stringValue": WITHHELD}}
            if isinstance(item, dict) and isinstance(item.get("key"), str) and is_content_key(item["key"])
            else _withhold_content(item)
            for item in value
        ]
    return value


def _is_message_event(value: dict) -> bool:
    """Whether `value` is a span event of the older GenAI message events, with its attribute list."""
    name = value.get("name")
    is_message = isinstance(name, str) and _MESSAGE_EVENT_RE.match(name) is not None
    return is_message and isinstance(value.get("attributes"), list)


def _withhold_message_field(item: object) -> object:
    """A message event's attribute with its value withheld unless the loader keeps it (`otlp_event_attributes`)."""
    if not isinstance(item, dict):
        return _withhold_content(item)
    key = item.get("key")
    kept = isinstance(key, str) and (
        key in MESSAGE_EVENT_KEPT or (key.startswith("gen_ai.") and not is_content_key(key))
    )
    return item if kept or "value" not in item else {**item, "value": {"stringValue": WITHHELD}}


def withhold_content_json(text: str | None) -> str | None:
    """A quarantined record's JSON text with its content attributes withheld; None if it is not JSON.

    Runs in Python (a DuckDB function, `otlp_withhold_content`) on quarantined records only, which
    are rare: attributes can sit at any depth of a record that failed its checks, which a SQL
    filter over the declared shape would miss.
    """
    if text is None:
        return None
    try:
        return json.dumps(_withhold_content(json.loads(text)), ensure_ascii=False, separators=(",", ":"))
    except (ValueError, RecursionError):
        return None


# What a quarantined line shows instead of its text when content is not kept.
LINE_WITHHELD = (
    "the line is not an OTLP document whose prompt and completion text can be told apart from the rest: "
    "none of its text is stored (AGENTLEDGER_KEEP_CONTENT=1 stores it); find it by file and line, "
    "compare by sha256"
)
# A quarantined line's shape lists this many items of each list, then how many more there were.
SHAPE_LIST_ITEMS = 3
# A name as fields and attributes are named (`resourceSpans`, `gen_ai.request.model`), kept in a
# line's shape; any other object key or `"key"` value (a sentence, an address) is withheld too.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")


def _shape(value: object) -> object:
    """`value` with every string replaced by "…", except names of fields and attributes; lists cut short."""
    if isinstance(value, dict):
        return {
            (k if _NAME.fullmatch(k) else f"…{index}"): (
                v if k == "key" and isinstance(v, str) and _NAME.fullmatch(v) else _shape(v)
            )
            for index, (k, v) in enumerate(value.items(), start=1)
        }
    if isinstance(value, list):
        shown = [_shape(item) for item in value[:SHAPE_LIST_ITEMS]]
        more = len(value) - SHAPE_LIST_ITEMS
        return shown + [f"[{more} more]"] if more > 0 else shown
    return "…" if isinstance(value, str) else value


def line_shape_json(line: str | None) -> str | None:
    """A quarantined line as stored when content is not kept: size, hash and its shape; None if not JSON.

    A line is quarantined whole when it is not an OTLP document (a JSON array, ConsoleSpanExporter
    output, a log record's body where a list was due …): what holds prompt text in it is unknown,
    so no string of it is stored. Its numbers, and its keys and attribute names where they look
    like names, are: that tells why it failed; `bytes` and `sha256` find it again in the file.
    """
    if line is None:
        return None
    try:
        shape = _shape(json.loads(line))
    except (ValueError, RecursionError):
        return None
    encoded = line.encode()
    record = {"withheld": LINE_WITHHELD, "bytes": len(encoded), "sha256": hashlib.sha256(encoded).hexdigest(),
              "shape": shape}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _register_withhold_content(conn: duckdb.DuckDBPyConnection) -> None:
    """Register `otlp_withhold_content` and `otlp_line_shape` once per connection (a second load finds them)."""
    registered = conn.execute(
        "select count(*) from duckdb_functions() where function_name = 'otlp_withhold_content'"
    ).fetchone()[0]
    if registered:
        return
    conn.create_function(
        "otlp_withhold_content", withhold_content_json, ["VARCHAR"], "VARCHAR", null_handling="special"
    )
    conn.create_function("otlp_line_shape", line_shape_json, ["VARCHAR"], "VARCHAR", null_handling="special")


def _json_object_of_paths(document: str, paths: Sequence[str]) -> str:
    """SQL: a JSON object holding only the numbers at `paths` (`$.a.b`) of the JSON text `document`, nested as there.

    A value there that is not a number, or the text of one, becomes `NOT_A_COUNT`.
    """
    tree: dict = {}
    for path in paths:
        steps = path.removeprefix("$.").split(".")
        branch = tree
        for step in steps[:-1]:
            branch = branch.setdefault(step, {})
        branch[steps[-1]] = path

    def leaf(path: str) -> str:
        # a number (or its text) or JSON null as it is; anything else could be any text: a marker
        value = f"json_extract({document}, '{path}')"
        return f"""case when {value} is null then null
            when regexp_full_match({value}::varchar, '"?[0-9.eE+-]+"?|null') then {value}
            else to_json('{NOT_A_COUNT}') end"""

    def build(node: dict) -> str:
        fields = ", ".join(
            f"'{name}', " + (leaf(child) if isinstance(child, str) else build(child)) for name, child in node.items()
        )
        return f"json_object({fields})"

    return build(tree)


def _cache_split_reason(attributes: str) -> str:
    """SQL: why a span's cache write total is below its 1-hour part, naming both; NULL when it is not."""
    metadata = f"otlp_text_call_metadata({attributes})"
    details = f"""{attributes} ->> '$."gen_ai.usage.input_token_details"'"""
    totals = [(key, f"""{attributes} ->> '$."{key}"'""") for key in CACHE_WRITE_TOTAL_ATTRIBUTES]
    totals.append((
        "gen_ai.usage.input_token_details cache_creation",
        f"""nullif(regexp_extract({details}, '[''"]cache_creation[''"]\\s*:\\s*([0-9]+)', 1), '')""",
    ))
    totals += [
        (f"{PROVIDER_METADATA_ATTRIBUTE} {path}", f"{metadata} ->> '{path}'")
        for path in PROVIDER_METADATA_PATHS_BY_PART["cache_write"]
    ]
    hours = [f"""{attributes} ->> '$."{CACHE_WRITE_1H_ATTRIBUTE}"'"""]
    hours += [f"{metadata} ->> '{path}'" for path in PROVIDER_METADATA_PATHS_BY_PART["cache_write_1h"]]
    listed = ", ".join(f"{{'name': '{name}', 'value': try_cast({expr} as double)}}" for name, expr in totals)
    hour = "list_max([" + ", ".join(f"try_cast({expr} as double)" for expr in hours) + "])"
    present = f"list_filter([{listed}], lambda t: t.value is not null)"
    return f"""case when {hour} > list_min(list_transform({present}, lambda t: t.value))
        then 'cache write total is less than its 1-hour part (' || {hour}::bigint || '): '
            || array_to_string(list_transform({present}, lambda t: t.name || ' ' || t.value::bigint), ', ')
        end"""


def _first_bad_count(document: str, paths: dict[str, str], null_is_absent: bool = False) -> str:
    """SQL: `name (got value)` for the first of `paths` in the JSON text `document` that is not a whole number >= 0.

    NULL when every one present is (or none is). JSON null is a bad count, unless `null_is_absent`.
    """
    reasons = ", ".join(
        f"""case when json_exists({document}, '{path}')
                 {f"and json_type({document}, '{path}') <> 'NULL'" if null_is_absent else ""}
                 and not otlp_token_count_is_whole(json_extract_string({document}, '{path}'))
            then '{name} (got ' || coalesce(left(json_extract_string({document}, '{path}'), 40), 'no value') || ')'
            end"""
        for name, path in paths.items()
    )
    return f"list_filter([{reasons}], lambda reason: reason is not null)[1]"


def create_macros(conn: duckdb.DuckDBPyConnection, keep_content: bool) -> None:
    """Define the temp macros the parse statements use (attribute lists, content filter, times).

    The content filter runs per attribute only on spans whose keys may hold content (an exact
    key or one of four prefixes): a full per-key test on every attribute was a quarter of the
    parse. Quarantined records go through `otlp_raw_record` / `otlp_raw_line`, which withhold
    content the same way unless it is kept.
    """
    _register_withhold_content(conn)
    if keep_content:
        raw_record = "record"
        raw_line = "left(line, 100000)"
    else:
        raw_record = "otlp_withhold_content(record)"
        # A quarantined line cannot be told apart into content and the rest: none of its text is
        # stored (not even its first bytes: a pretty-printed ConsoleSpanExporter line can be one
        # prompt), only its shape if it is JSON (`line_shape_json`) and what finds it again.
        raw_line = f"""coalesce(left(otlp_line_shape(line), 100000), json_object(
            'withheld', '{LINE_WITHHELD}', 'bytes', strlen(line), 'sha256', sha256(line))::varchar)"""
    may_hold = (
        "false"
        if keep_content
        else f"list_has_any(keys, [{_sql_strings((*CONTENT_ATTRIBUTES, PROVIDER_METADATA_ATTRIBUTE))}]) "
        "or list_bool_or(list_transform(keys, "
        f"lambda k: {' or '.join(f'starts_with(k, {chr(39)}{p}{chr(39)})' for p in CONTENT_PREFIXES)}))"
    )
    # Python only for a nested list that names a key with content's first segment; a list of plain
    # values (`finish_reasons`, on most LLM spans) stops at the `contains`
    nested = "j" if keep_content else (
        f"""case when contains(j, '"key"') and regexp_matches(j, '"key" *: *"({NESTED_CONTENT_STARTS})')
            then otlp_withhold_content(j) else j end"""
    )
    # The older GenAI message events carry the message as their body: recorded as a span event, its
    # fields may become attributes of any name (`content`, `message`), so only these are kept.
    event_attributes = (
        "attrs"
        if keep_content
        else f"""case when regexp_matches(coalesce(name, ''), '{MESSAGE_EVENT_PATTERN}')
            then list_filter(attrs, lambda a: starts_with(a.key, 'gen_ai.')
                                              or list_contains([{_sql_strings(MESSAGE_EVENT_KEPT)}], a.key))
            else attrs end"""
    )
    prefixes = " or ".join(f"starts_with(k, '{p}')" for p in CONTENT_PREFIXES)
    statements = [
        f"""create or replace temp macro otlp_is_content(k) as
            list_contains([{_sql_strings(CONTENT_ATTRIBUTES)}], k)
            or (({prefixes}) and regexp_matches(k, '{CONTENT_PATTERN}'))""",
        f"create or replace temp macro otlp_may_hold_content(keys) as {may_hold}",
        # a quarantined record (JSON text) and a quarantined line, as stored in raw.quarantine
        f"create or replace temp macro otlp_raw_record(record) as {raw_record}",
        f"create or replace temp macro otlp_raw_line(line) as {raw_line}",
        # A nested list or key-value list as JSON text: one holding key-value pairs may hold a content
        # attribute (`traceloop.association.properties` → `gen_ai.prompt.0.content`), withheld as in a
        # quarantined record. A list of plain values (`finish_reasons`) costs one `contains`.
        f"create or replace temp macro otlp_nested(j) as {nested}",
        # AnyValue one-of → text; arrays and key-value lists stay JSON text, parsed where used.
        """create or replace temp macro otlp_value(v) as coalesce(
            v.stringValue, v.intValue, v.doubleValue, v.boolValue, otlp_nested(v.arrayValue::varchar),
            otlp_nested(v.kvlistValue::varchar), v.bytesValue)""",
        "create or replace temp macro otlp_keys(attrs) as list_transform(attrs, lambda a: a.key)",
        f"create or replace temp macro otlp_event_attributes(name, attrs) as {event_attributes}",
        # OTLP attributes → one JSON object text, `{"key": "value as text", …}`: dbt staging reads every
        # attribute it needs with one json_transform (0.66 s for 58 keys of 1M spans, against 1.7 s for
        # list lookups), and a string column writes cheaper than a list of pairs. A pair with no key,
        # or a content key, becomes NULL, which array_to_string leaves out.
        """create or replace temp macro otlp_pair(a) as
            to_json(a.key)::varchar || ':' || coalesce(to_json(otlp_value(a.value))::varchar, 'null')""",
        # The Vercel AI SDK's provider metadata, cut to the token counts staging reads unless content
        # is kept (`provider_metadata_counts`): JSON null where a count is absent, NULL if not JSON.
        "create or replace temp macro otlp_provider_metadata_counts(text) as case when json_valid(text) then "
        + _json_object_of_paths("text", PROVIDER_METADATA_TOKEN_COUNTS)
        + "::varchar end",
        # spans that may hold content, and the Vercel AI SDK's with its provider metadata, go key by key
        f"""create or replace temp macro otlp_json(attrs, keys) as
            '{{' || array_to_string(
                case when otlp_may_hold_content(keys)
                    then list_transform(attrs, lambda a: case
                        when a.key = '{PROVIDER_METADATA_ATTRIBUTE}'
                            then to_json(a.key)::varchar || ':' || coalesce(
                                to_json(otlp_provider_metadata_counts(otlp_value(a.value)))::varchar, 'null')
                        when a.key is not null and not otlp_is_content(a.key) then otlp_pair(a)
                    end)
                    else list_transform(attrs, lambda a: case when a.key is not null then otlp_pair(a) end)
                end, ',') || '}}'""",
        # A usage attribute whose value is not a whole number ≥ 0, as `key (got value)`, from the
        # attributes' JSON text; NULL when there is none. Only a span the loader's regular expression
        # picks (a token count that is not all digits: 0.2 s for 447k spans) pays for this.
        """create or replace temp macro otlp_token_count_is_whole(text) as
            coalesce(try_cast(text as double) >= 0 and try_cast(text as double) = floor(try_cast(text as double))
                and try_cast(text as double) < 9.2e18, false)""",
        "create or replace temp macro otlp_bad_token_count(attributes) as "
        + _first_bad_count("attributes", {key: f'$."{key}"' for key in TOKEN_COUNT_ATTRIBUTES}),
        # The same for the token counts inside the provider metadata's JSON text, where JSON null is
        # "not reported" and text that is not JSON holds none (staging reads neither).
        "create or replace temp macro otlp_bad_metadata_token_count(metadata) as case when json_valid(metadata) then "
        + _first_bad_count(
            "metadata", {f"{PROVIDER_METADATA_ATTRIBUTE} {path}": path for path in PROVIDER_METADATA_TOKEN_COUNTS},
            null_is_absent=True,
        )
        + " end",
        # A cache write's total below its 1-hour part (staging's 5-minute part would be negative):
        # any total a span reports against any 1-hour part it reports, the provider metadata's on the
        # Vercel AI SDK's text calls only, as staging reads them
        "create or replace temp macro otlp_text_call_metadata(attributes) as case when "
        + f"regexp_matches(attributes, '{VERCEL_TEXT_CALL_PATTERN}') "
        + f"""and json_valid(attributes ->> '$."{PROVIDER_METADATA_ATTRIBUTE}"') """
        + f"""then attributes ->> '$."{PROVIDER_METADATA_ATTRIBUTE}"' end""",
        "create or replace temp macro otlp_bad_cache_split(attributes) as " + _cache_split_reason("attributes"),
        # a key named twice: its first position is not its own
        """create or replace temp macro otlp_has_duplicates(keys) as
            list_bool_or(list_transform(keys, lambda k, i: list_position(keys, k) <> i))""",
        "create or replace temp macro otlp_nanos(text) as try_cast(text as bigint)",
        # the UTC day of a time, NULL for one before 2000 (unset, or not nanoseconds): its owner is then
        # the file's day, where the checks quarantine it
        f"""create or replace temp macro otlp_day(nanos) as
            case when nanos >= {EARLIEST_UNIX_NANOS} then try(cast(make_timestamp(nanos // 1000) as date)) end""",
    ]
    for statement in statements:
        conn.execute(statement)


def create_work_tables(conn: duckdb.DuckDBPyConnection, target: str) -> None:
    """(Re)create the set-aside span table `target` and the small tables one load fills."""
    columns = {name: dtype.replace(" not null", "") for name, dtype in SPAN_COLUMNS.items()}
    columns.update(LOADING_EXTRA_COLUMNS)
    listed = ",\n    ".join(f"{name} {dtype}" for name, dtype in columns.items())
    conn.execute(f"create or replace table {target} (\n    {listed}\n)")
    conn.execute(
        """
        create or replace temp table _otel_lines (
            source_file varchar, line_hash ubigint, line_number bigint, line_numbers bigint[], copies integer,
            is_blank boolean, chunk integer, fallback_day date
        )
        """
    )
    conn.execute("create or replace temp sequence _otel_row_ids start 1")
    # lines known not to be UTF-8 (`invalid_utf8`): skipped when read, each quarantined once
    conn.execute("create or replace temp table _otel_invalid_lines (source_file varchar, line_number bigint)")
    conn.execute(
        """
        create or replace temp table _otel_eval_candidates (
            _row_id bigint, trace_id varchar, span_id varchar, response_id varchar, time_unix_nano bigint,
            evaluation_name varchar, origin varchar, attributes varchar,
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


class InvalidUtf8Error(ValueError):
    """A trace file holds a line that is not valid UTF-8 (the load then finds and quarantines such lines)."""

    chunk: int = 1  # the load's chunk whose read stopped on it (1 = the first)


def clean_read_error(error: duckdb.Error, files: Sequence[Path]) -> Exception:
    """An error of reading or parsing trace files, told by file, line and kind, never by the line's text.

    DuckDB's reader quotes the offending line (`Original Line: …`, prompt text included), so its
    message is never passed on: a line too long or not valid UTF-8 becomes a ValueError saying what
    to fix; any other error keeps its class (an IO error stays one) with only its first line, and
    only when it cannot quote data (an IO error is about the file, not its lines).
    """
    message = str(error)
    named = re.search(r"^\s*file = (.+)$", message, re.MULTILINE)
    where = named.group(1).strip() if named else ", ".join(str(f) for f in files)
    line = re.search(r"CSV Error on Line: (\d+)", message)
    at_line = f" line {line.group(1)}" if line else ""
    if "does not support a full read" in message:
        # the reader's other way of meeting a line longer than its buffer
        return ValueError(
            f"{where}: a line exceeds the {MAX_LINE_BYTES:,}-byte limit; export "
            "smaller batches (the Collector's batch processor send_batch_max_size)"
        )
    if "Maximum line size" in message:
        size = re.search(r"Actual Size:\s*(\d+)", message)
        return ValueError(
            f"{where}: a line of {int(size.group(1)) if size else 0:,} bytes exceeds the {MAX_LINE_BYTES:,}-byte "
            "limit; export smaller batches (the Collector's batch processor send_batch_max_size)"
        )
    if "Invalid unicode" in message:
        return InvalidUtf8Error(
            f"{where}{at_line}: the line is not valid UTF-8 (OTLP/JSON must be)"
        )
    first_line = message.splitlines()[0] if message else ""
    detail = (
        first_line[:300]
        if isinstance(error, duckdb.IOException) and "Original Line" not in message
        else "DuckDB's message is withheld: it can quote the line's text"
    )
    return type(error)(f"{where}{at_line}: cannot read the trace file ({type(error).__name__}: {detail})")


def number_lines(conn: duckdb.DuckDBPyConnection, files: Sequence[Path], chunk: int, fallback_day: str) -> int:
    """Pass 1: every line of `files` with its number in its file, keyed by (file, hash of the line).

    Identical lines of one file (a Collector retry can write a batch twice) share a key: their
    numbers are kept in order in `line_numbers`. The chunk's lines go to `_otel_chunk_lines` (what
    pass 2 joins) and are added to `_otel_lines` (the whole load's). Lines known not to be UTF-8
    are skipped but keep their place in the numbering. Returns the lines read.
    """
    with invalid_utf8.skipping_known_lines(conn, [str(f) for f in files]) as skip_invalid:
        conn.execute(
            f"""
            create or replace temp table _otel_chunk_lines as
            with numbered as (
                select
                    filename as source_file,
                    hash(line) as line_hash,
                    line is null or regexp_full_match(line, '\\s*') as is_blank,
                    row_number() over () as ordinal
                from {reader('$files', skip_invalid)}
            ),

            read_numbered as (
                select *, ordinal - min(ordinal) over (partition by source_file) + 1 as line_number
                from numbered
            ),

            in_file as (
                select * from {_renumbered("read_numbered") if skip_invalid else "read_numbered"}
            )

            select
                source_file, line_hash, min(line_number) as line_number,
                list(line_number order by line_number) as line_numbers, count(*)::integer as copies,
                bool_and(is_blank) as is_blank, $chunk as chunk, $fallback_day::date as fallback_day
            from in_file
            group by source_file, line_hash
            """,
            {"files": [str(f) for f in files], "chunk": chunk, "fallback_day": fallback_day},
        )
    _check_every_file_was_read(conn, files)
    conn.execute("insert into _otel_lines select * from _otel_chunk_lines")
    return conn.execute("select coalesce(sum(copies), 0) from _otel_chunk_lines").fetchone()[0]


def _check_every_file_was_read(conn: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> None:
    """Fail on a file that holds data but gave no line.

    DuckDB's reader returns nothing, without an error, for a file whose only line is longer
    than its buffer; a trace file must never vanish silently.
    """
    read = {row[0] for row in conn.execute("select distinct source_file from _otel_chunk_lines").fetchall()}
    # a file whose every line is not UTF-8 gives no line either; the scan that found them checked its lengths
    read |= {row[0] for row in conn.execute("select distinct source_file from _otel_invalid_lines").fetchall()}
    for path in files:
        if str(path) in read:
            continue
        if path.name.endswith(".gz"):
            with gzip.open(path) as stream:
                holds_data = bool(stream.read(1))
        else:
            holds_data = path.stat().st_size > 0
        if holds_data:
            raise ValueError(
                f"{path}: a line exceeds the {MAX_LINE_BYTES:,}-byte limit; export smaller batches "
                "(the Collector's batch processor send_batch_max_size)"
            )


@contextmanager
def _joins_as_written(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Keep a statement's joins as written: the right side of each is its hash join's build side.

    DuckDB picks the build side by estimated rows, and it estimates the unnested spans of a day
    by the lines the files hold: it could build its hash table on a day's spans instead of on
    the day's few hundred lines.
    """
    previous = conn.execute("select current_setting('disabled_optimizers')").fetchone()[0]
    conn.execute("set disabled_optimizers = 'join_order,build_side_probe_side'")
    try:
        yield
    finally:
        conn.execute(f"set disabled_optimizers = '{previous}'")


def insert_spans(
    conn: duckdb.DuckDBPyConnection, target: str, files: Sequence[Path], chunk: int, fallback_day: str
) -> None:
    """Pass 2: parse `files` and insert their spans into `target`, each with its reject reason, if any.

    Args:
        conn: Connection holding the temp macros and `_otel_lines` (pass 1 of this chunk).
        target: The set-aside span table (`create_work_tables`).
        files: The chunk's trace and log files.
        chunk: The chunk's number: the order copies of a span are told apart by.
        fallback_day: ISO day that owns spans without a usable start time.
    """
    schema_reason = pandera_sql.row_reason_sql(OtelSpanRaw, SPAN_ROW_CHECKS_SQL)
    columns = ", ".join([*SPAN_COLUMNS, *LOADING_EXTRA_COLUMNS])
    paths = [str(f) for f in files]
    with invalid_utf8.skipping_known_lines(conn, paths) as skip_invalid, _joins_as_written(conn):
        _insert_spans(conn, target, files, chunk, fallback_day, schema_reason, columns, skip_invalid)


def _insert_spans(
    conn: duckdb.DuckDBPyConnection, target: str, files: Sequence[Path], chunk: int, fallback_day: str,
    schema_reason: str, columns: str, skip_invalid: bool,
) -> None:
    conn.execute(
        f"""
        insert into {target} ({columns})
        with parsed as (
            select
                filename as source_file,
                hash(line) as line_hash,
                -- a line that cannot hold spans (evaluation log records) is not parsed here at all
                case when contains(line, '"resourceSpans"') then try(json_transform(line, '{TRACES_LINE_TYPE}')) end
                    as doc,
                contains(line, '"resourceLogs"') as has_logs
            from {reader('$files', skip_invalid)}
            -- blank lines are skipped (not trim(line) <> '': trim copies every line)
            where line is not null and not regexp_full_match(line, '\\s*')
        ),

        checked as (
            select
                source_file, line_hash, doc,
                -- read again with the few lines that need it (a false hit only costs that line a second
                -- read): log records beside the spans, or a resource or scope whose spans the line type
                -- reads as none (OTLP from before 0.15, a scopeSpans or spans that is not a list), which
                -- would otherwise be lost beside the line's other spans
                has_logs or coalesce(list_bool_or(list_transform(doc.resourceSpans, lambda r: r.scopeSpans is null
                    or list_bool_or(list_transform(r.scopeSpans, lambda s: s.spans is null)))), false) as read_again
            from parsed
        ),

        resources as (
            select
                source_file, line_hash, read_again,
                unnest(doc.resourceSpans) as resource_spans,
                generate_subscripts(doc.resourceSpans, 1) as resource_index
            from checked
        ),

        scopes as (
            select
                source_file, line_hash, read_again, resource_index,
                resource_spans.resource.attributes as raw_resource_attributes,
                otlp_keys(resource_spans.resource.attributes) as resource_keys,
                unnest(resource_spans.scopeSpans) as scope_spans,
                generate_subscripts(resource_spans.scopeSpans, 1) as scope_index
            from resources
        ),

        spans as (
            select
                source_file, line_hash, read_again, resource_index, scope_index,
                coalesce(otlp_json(raw_resource_attributes, resource_keys), '{{}}') as resource_attributes,
                coalesce(otlp_has_duplicates(resource_keys), false) as duplicate_resource_keys,
                raw_resource_attributes is null as resource_attributes_absent,
                scope_spans.scope as scope,
                unnest(scope_spans.spans) as span,
                generate_subscripts(scope_spans.spans, 1) as span_index
            from scopes
        ),

        keyed as (
            select
                *,
                otlp_keys(span.attributes) as attribute_keys,
                -- events are rare: only a span that has some pays for typing them
                case when span.events is not null then json_type(span.events) end as events_type,
                case when span.events is not null then json_transform(span.events, '{SPAN_EVENTS_TYPE}') end
                    as span_events
            from spans
        ),

        typed as (
            select
                lower(span.traceId) as trace_id,
                lower(span.spanId) as span_id,
                nullif(lower(span.parentSpanId), '') as parent_span_id,
                -- proto3 JSON leaves an empty name out
                coalesce(span.name, '') as name,
                case when span.kind is null then 0 else try_cast(span.kind as integer) end as kind,
                otlp_nanos(span.startTimeUnixNano) as start_time_unix_nano,
                otlp_nanos(span.endTimeUnixNano) as end_time_unix_nano,
                case when span.status.code is null then 0 else try_cast(span.status.code as integer) end as status_code,
                nullif(span.status.message, '') as status_message,
                coalesce(otlp_json(span.attributes, attribute_keys), '{{}}') as attributes,
                resource_attributes,
                scope.name as scope_name,
                scope.version as scope_version,
                case when len(span_events) > 0 then list_transform(span_events, lambda e: {{
                    'time_unix_nano': otlp_nanos(e.timeUnixNano),
                    'name': e.name,
                    'attributes': coalesce(otlp_json(otlp_event_attributes(e.name, e.attributes),
                                                     otlp_keys(otlp_event_attributes(e.name, e.attributes))), '{{}}')
                }}) else [] end as events,
                case
                    when coalesce(otlp_has_duplicates(attribute_keys), false)
                        then 'duplicate attribute key in span attributes'
                    when duplicate_resource_keys then 'duplicate attribute key in resource attributes'
                    when len(span_events) > 0 and list_bool_or(list_transform(span_events,
                        lambda e: coalesce(otlp_has_duplicates(otlp_keys(e.attributes)), false)))
                        then 'duplicate attribute key in a span event'
                    when events_type not in ('ARRAY', 'NULL')
                        then 'span events are a JSON ' || lower(events_type) || ', not a list of Events '
                            || '(OTLP/JSON): its evaluations would be lost'
                end as source_reason,
                span.attributes is null or resource_attributes_absent as attributes_absent,
                source_file, line_hash, read_again, resource_index, scope_index, span_index
            from keyed
        )

        select
            typed.trace_id, typed.span_id, typed.parent_span_id, typed.name, typed.kind,
            typed.start_time_unix_nano, typed.end_time_unix_nano, typed.status_code, typed.status_message,
            typed.attributes, typed.resource_attributes, typed.scope_name, typed.scope_version, typed.events,
            typed.source_file,
            lines.line_number,
            coalesce(otlp_day(typed.start_time_unix_nano), $fallback_day::date),
            {EXTRACTED_AT_SQL},
            $chunk, typed.line_hash, lines.copies, typed.read_again,
            typed.resource_index, typed.scope_index, typed.span_index,
            coalesce(
                typed.source_reason,
                -- one pass of the regular expression picks both (a second `contains` cost 0.15 s per 1.15M spans)
                case when regexp_matches(typed.attributes, '{SUSPECT_TOKEN_COUNT_OR_METADATA}') then coalesce(
                    'token count is not a whole number from 0 to 9.2e18: ' || coalesce(
                        otlp_bad_token_count(typed.attributes),
                        otlp_bad_metadata_token_count(typed.attributes ->> '$."{PROVIDER_METADATA_ATTRIBUTE}"')
                    ),
                    otlp_bad_cache_split(typed.attributes)
                ) end,
                {schema_reason},
                -- left out, or not a list (which the line type reads as left out): told apart afterwards
                case when typed.attributes_absent then '{ATTRIBUTES_UNCHECKED}' end
            )
        from typed
        inner join _otel_chunk_lines as lines
            on lines.source_file = typed.source_file and lines.line_hash = typed.line_hash
        """,
        {"files": [str(f) for f in files], "chunk": chunk, "fallback_day": fallback_day},
    )


def mark_spans_no_load_reads(
    conn: duckdb.DuckDBPyConnection, target: str, chunk: int, files: Sequence[Path], file_day: str,
    lookback_days: int,
) -> int:
    """Quarantine, under the file's own day, the spans of a dated file that no load of their day reads.

    The load of day P reads files dated from P - 1 (`client.LEAD_DAYS`) to P + lookback, so a span
    of P in a file dated after that, or before it, is read by no load of its own day: left under P
    it would be dropped silently. It is moved to the partition of the file that holds it (so
    re-running that partition replaces it, whatever window is run) and quarantined there. Undated
    files are read by every load and are not passed here. Returns the spans marked.

    An older span that `raw.otel_spans` already holds under its own day is left where it is, not
    quarantined: an earlier load read it from another file. The Collector's file exporter rotates
    by size and names the rotated file by the time of rotation, so a file that filled slowly holds
    spans the nights before had loaded from the undated active file; quarantined again, they
    counted twice and a quiet stream's rotation stopped the night at the quarantine share.

    Args:
        conn: Connection holding `target`.
        target: The set-aside span table (or the neighbouring files' temp table).
        chunk: The chunk the files were parsed in.
        files: The chunk's files whose path names `file_day`.
        file_day: ISO day the files are dated.
        lookback_days: Days after a span's start its file may be dated (AGENTLEDGER_TRACE_LOOKBACK_DAYS).
    """
    if not files:
        return 0
    parameters = {
        "chunk": chunk, "files": [str(f) for f in files], "day": file_day, "lookback": lookback_days,
        "lead": LEAD_DAYS,
    }
    older = (
        "_chunk = $chunk and list_contains($files, _source_file) and _partition_date < $day::date - $lookback::integer"
    )
    older_parameters = {name: parameters[name] for name in ("chunk", "files", "day", "lookback")}
    first, last = conn.execute(
        f"select min(_partition_date), max(_partition_date) from {target} where {older}", older_parameters
    ).fetchone()
    # the days as literals, so that the raw table's scan reads those days' row groups only
    loaded = "false" if first is None else f"""exists (
            select 1 from raw.otel_spans as loaded
            where loaded._partition_date between date '{first}' and date '{last}'
                and loaded._partition_date = {target}._partition_date
                and loaded.trace_id = {target}.trace_id and loaded.span_id = {target}.span_id
        )"""
    return conn.execute(
        f"""
        update {target}
        set _reject_reason = coalesce(_reject_reason || '; ', '') || case
                when _partition_date < $day::date
                    then 'span older than the trace lookback (starts ' || _partition_date || ', more than '
                        || $lookback || ' day(s) before its file''s date ' || $day
                        || ', so no load of that day reads it: '
                        || 'raise AGENTLEDGER_TRACE_LOOKBACK_DAYS to load such spans)'
                else 'span starts after its file''s date (starts ' || _partition_date || ', more than '
                    || $lead || ' day(s) after the date ' || $day || ' its file is named by, so no load of that day '
                    || 'reads it: date files by the UTC day their spans start, or a later one)'
            end,
            _partition_date = $day::date
        where _chunk = $chunk and list_contains($files, _source_file)
            and (_partition_date < $day::date - $lookback::integer or _partition_date > $day::date + $lead::integer)
            and not {loaded}
        """,
        parameters,
    ).fetchone()[0]


def check_absent_attributes(conn: duckdb.DuckDBPyConnection, target: str) -> int:
    """Settle `ATTRIBUTES_UNCHECKED`: a span whose attributes are not a list is quarantined, the rest pass.

    The parse reads attributes with a declared list type, which turns an object or a string into
    NULL as quietly as it reads a list left out, so a span whose attributes came as
    `{"gen_ai.usage.input_tokens": 1000}` would load with none: no model, no tokens, no cost. Only
    the lines of the few spans whose attributes read as absent are looked at again (no span of a
    Collector export has none: the SDK always sets the resource's `service.name`). Returns the
    spans quarantined.
    """
    conn.execute(
        f"""
        create or replace temp table _otel_absent_attributes as
        select distinct _source_file, _line_number, _resource_index, _scope_index, _span_index
        from {target}
        where starts_with(_reject_reason, '{ATTRIBUTES_UNCHECKED}')
        """
    )
    files = [row[0] for row in conn.execute("select distinct _source_file from _otel_absent_attributes").fetchall()]
    if not files:
        return 0
    with invalid_utf8.skipping_known_lines(conn, files) as skip_invalid:
        conn.execute(
            f"""
            create or replace temp table _otel_absent_attributes as
            with {numbered_lines('$files', skip_invalid)},

            paths as (
                select
                    a.*, n.line,
                    '$.resourceSpans[' || (a._resource_index - 1) || ']' as resource_path,
                    '.scopeSpans[' || (a._scope_index - 1) || '].spans[' || (a._span_index - 1) || ']' as span_path
                from _otel_absent_attributes as a
                join numbered as n on n.source_file = a._source_file and n.line_number = a._line_number
            ),

            typed as (
                select
                    *,
                    json_type(json_extract(line, resource_path || '.resource.attributes')) as resource_type,
                    json_type(json_extract(line, resource_path || span_path || '.attributes')) as span_type
                from paths
            )

            select
                _source_file, _line_number, _resource_index, _scope_index, _span_index,
                case
                    when coalesce(span_type, 'NULL') not in ('NULL', 'ARRAY')
                        then 'span attributes are a JSON ' || lower(span_type) || ', not a list of {{"key", "value"}} '
                            || 'pairs (OTLP/JSON): every attribute would be lost'
                    when coalesce(resource_type, 'NULL') not in ('NULL', 'ARRAY')
                        then 'resource attributes are a JSON ' || lower(resource_type) || ', not a list of '
                            || '{{"key", "value"}} pairs (OTLP/JSON): every attribute would be lost'
                end as reason
            from typed
            """,
            {"files": files},
        )
    # the provisional reason is the last of a span's reasons, and the only one when it has no other
    conn.execute(
        f"""
        update {target} t
        set _reject_reason = nullif(
            replace(replace(t._reject_reason, '{ATTRIBUTES_UNCHECKED}; ', coalesce(a.reason || '; ', '')),
                    '{ATTRIBUTES_UNCHECKED}', coalesce(a.reason, '')),
            '')
        from _otel_absent_attributes as a
        where starts_with(t._reject_reason, '{ATTRIBUTES_UNCHECKED}')
            and a._source_file = t._source_file and a._line_number = t._line_number
            and a._resource_index = t._resource_index and a._scope_index = t._scope_index
            and a._span_index = t._span_index
        """
    )
    return conn.execute("select count(*) from _otel_absent_attributes where reason is not null").fetchone()[0]


def number_duplicate_lines(conn: duckdb.DuckDBPyConnection, target: str) -> None:
    """Give the spans of a line written twice in one file each copy's own line number.

    Both copies hash alike, so pass 2 gave every span the first copy's number; the copies of a
    span are told apart by their order of insertion (their content is identical, so which one
    is called the first does not matter).
    """
    conn.execute(
        f"""
        update {target} t
        set _line_number = lines.line_numbers[numbered.copy_number]
        from (
            select rowid as row_ref, _chunk, _source_file, _line_hash,
                row_number() over (
                    partition by _chunk, _source_file, _line_hash, _resource_index, _scope_index, _span_index
                    order by rowid
                ) as copy_number
            from {target}
            where _line_copies > 1
        ) as numbered
        join _otel_lines as lines
            on lines.chunk = numbered._chunk and lines.source_file = numbered._source_file
            and lines.line_hash = numbered._line_hash
        where t.rowid = numbered.row_ref
        """
    )


def mark_duplicate_spans(conn: duckdb.DuckDBPyConnection, target: str) -> int:
    """Quarantine a span exported twice (Collector retries), keeping its first occurrence.

    Both copies of a span start at the same moment, so they share a partition day. Candidates are
    found by a hash of the ids over every span (a hash aggregate of 10M 12-byte keys), then only
    the candidates are compared exactly. Returns the number of spans marked.
    """
    return conn.execute(
        f"""
        update {target} t
        set _reject_reason = 'duplicate export of span ' || t.span_id || ' (first seen in '
            || copies.first_file || ' line ' || copies.first_line || ')'
        from (
            with candidate_keys as (
                select _partition_date, hash(trace_id, span_id) as span_hash
                from {target}
                where _reject_reason is null
                group by all
                having count(*) > 1
            ),

            candidates as (
                select rowid as row_ref, *
                from {target}
                semi join candidate_keys
                    on candidate_keys._partition_date = {target}._partition_date
                    and candidate_keys.span_hash = hash({target}.trace_id, {target}.span_id)
                where _reject_reason is null
            )

            select
                row_ref,
                row_number() over same_span as copy_number,
                first_value(_source_file) over same_span as first_file,
                first_value(_line_number) over same_span as first_line
            from candidates
            window same_span as (
                partition by _partition_date, trace_id, span_id
                order by _chunk, _source_file, _line_number, _resource_index, _scope_index, _span_index
            )
        ) as copies
        where t.rowid = copies.row_ref and copies.copy_number > 1
        """
    ).fetchone()[0]


def spanless_lines(conn: duckdb.DuckDBPyConnection, target: str) -> list[str]:
    """Fill `_otel_lines_to_parse` with the lines to read again; return their files.

    Those are the non-blank lines no span came from (corrupt lines, log records, other JSON) and
    the lines pass 2 marked to read again: log records beside their spans, or spans in a part of
    the line it could not read.
    """
    conn.execute(
        f"""
        create or replace temp table _otel_lines_to_parse as
        with lines_with_spans as (
            select _chunk as chunk, _source_file as source_file, _line_hash as line_hash,
                bool_or(_line_read_again) as read_again
            from {target}
            group by all
        )

        select lines.source_file, lines.line_hash, lines.chunk, lines.fallback_day,
            spans.line_hash is null as spanless
        from _otel_lines as lines
        left join lines_with_spans as spans
            on spans.chunk = lines.chunk and spans.source_file = lines.source_file
            and spans.line_hash = lines.line_hash
        where not lines.is_blank and (spans.line_hash is null or spans.read_again)
        """
    )
    files = conn.execute("select distinct source_file from _otel_lines_to_parse order by 1").fetchall()
    return [row[0] for row in files]


def parse_spanless_lines(
    conn: duckdb.DuckDBPyConnection, files: Sequence[str], dated_files: Sequence[str], lookback_days: int
) -> dict[str, int]:
    """Read the lines of `_otel_lines_to_parse` again: quarantine bad ones, keep evaluation log records.

    A line some of whose spans were loaded is quarantined too when others sat where the line type
    cannot read them, its reason saying that the rest were loaded.

    An evaluation record belongs to the day it was made, except one in a dated file that it
    precedes by more than `lookback_days`: no load of its own day reads that file, so it belongs to
    the file's day (a re-run of that day replaces it). Unlike such a span, it is not quarantined:
    dbt reads evaluations by when they were made, from a run's window on, whatever their partition.

    Returns counts: bad lines, other (non-evaluation) log records.
    """
    if not files:
        return {"bad_lines": 0, "other_log_records": 0}
    with invalid_utf8.skipping_known_lines(conn, files) as skip_invalid:
        conn.execute(
            f"""
            create or replace temp table _otel_line_docs as
            with {numbered_lines('$files', skip_invalid)},

            wanted as (
                select numbered.*, wanted.fallback_day, wanted.spanless
                from numbered
                inner join _otel_lines_to_parse as wanted
                    on wanted.source_file = numbered.source_file and wanted.line_hash = hash(numbered.line)
            ),

            parsed as (
                select
                    *,
                    try(json_transform(line, '{LOGS_LINE_TYPE}')) as doc,
                    case when spanless then try(json_transform(line, '{TRACES_LINE_TYPE}')) end as traces_doc
                from wanted
            )

            select
                source_file, line_number, fallback_day, doc, reason, part_reason,
                -- a line's text is kept only to quarantine it
                case when coalesce(reason, part_reason) is not null then line end as line
            from (select *, case
                    when not spanless then null
                    when not json_valid(line) then 'line is not valid JSON (truncated or corrupt)'
                    when json_type(line) <> 'OBJECT'
                        then 'line is a JSON ' || lower(json_type(line)) || ', not an OTLP object'
                    when json_exists(line, '$.resourceSpans') and traces_doc.resourceSpans is null
                        then 'resourceSpans is not a list of ResourceSpans'
                    when unread_spans is not null then unread_spans
                    when json_exists(line, '$.resourceLogs') and doc.resourceLogs is null
                        then 'resourceLogs is not a list of ResourceLogs'
                    when json_exists(line, '$.resourceSpans') or json_exists(line, '$.resourceLogs') then null
                    when json_exists(line, '$.context') and json_exists(line, '$.kind')
                        then 'ConsoleSpanExporter output, not OTLP/JSON: export with the Collector file exporter'
                    else 'valid JSON but not OTLP: no resourceSpans or resourceLogs'
                end as reason,
                -- the same beside spans that were read: those stay loaded, the line is quarantined for the rest
                case when not spanless and unread_spans is not null
                    then unread_spans || ' (in part of the line: its other spans were read)'
                end as part_reason
            from (select *, case
                    when not json_valid(line) or json_type(line) <> 'OBJECT' then null
                    -- spans held in a form the line type cannot read would be lost without a trace (a
                    -- list left empty or null holds nothing: proto3 JSON reads null as empty)
                    when list_bool_or(json_exists(line, '$.resourceSpans[*].instrumentationLibrarySpans[*].spans[*]'))
                        then 'instrumentationLibrarySpans in place of scopeSpans: OTLP/JSON from before '
                            || 'OTLP 0.15 is not read; export with a current Collector or SDK'
                    when len(list_filter(json_type(line, '$.resourceSpans[*].scopeSpans'),
                                         lambda t: t not in ('ARRAY', 'NULL'))) > 0
                        then 'scopeSpans is not a list of ScopeSpans'
                    when len(list_filter(json_type(line, '$.resourceSpans[*].scopeSpans[*].spans'),
                                         lambda t: t not in ('ARRAY', 'NULL'))) > 0
                        then 'spans is not a list of Spans'
                    -- any other key holding spans (`scope_spans`, a misspelling): more spans under the
                    -- resources than under their scopeSpans
                    when len(json_extract(line, '$.resourceSpans[*].*[*].spans[*]'))
                        > len(json_extract(line, '$.resourceSpans[*].scopeSpans[*].spans[*]'))
                        then 'spans under a resource key other than scopeSpans (OTLP/JSON names it scopeSpans)'
                end as unread_spans
            from parsed))
            """,
            {"files": list(files)},
        )
    bad_lines = conn.execute(
        """
        insert into _otel_rejected_lines
        select fallback_day, source_file, line_number, 'line', otlp_raw_line(line), coalesce(reason, part_reason)
        from _otel_line_docs
        where coalesce(reason, part_reason) is not null
        """
    ).fetchone()[0]

    evaluations_before = conn.execute(
        "select count(*) from _otel_eval_candidates where origin = 'log_record'"
    ).fetchone()[0]
    eval_reason = pandera_sql.row_reason_sql(OtelEvalEventRaw, EVAL_EVENT_ROW_CHECKS_SQL)
    conn.execute(
        f"""
        insert into _otel_eval_candidates
        with resources as (
            select source_file, line_number, fallback_day, unnest(doc.resourceLogs) as resource_logs
            from _otel_line_docs
            where reason is null
        ),

        scopes as (
            select source_file, line_number, fallback_day, unnest(resource_logs.scopeLogs) as scope_logs
            from resources
        ),

        records as (
            select source_file, line_number, fallback_day, unnest(scope_logs.logRecords) as record
            from scopes
        ),

        evaluations as (
            select
                *,
                otlp_keys(record.attributes) as keys,
                -- a time of 0 is unset (OTLP): the collector's observed time stands in for it
                coalesce(nullif(otlp_nanos(record.timeUnixNano), 0), otlp_nanos(record.observedTimeUnixNano)) as nanos
            from records
            where coalesce(record.eventName, '') = '{EVALUATION_EVENT}'
                or coalesce(list_contains(
                    list_transform(record.attributes, lambda a: a.key || '=' || coalesce(a.value.stringValue, '')),
                    'event.name={EVALUATION_EVENT}'
                ), false)
        ),

        typed as (
            select
                nullif(lower(record.traceId), '') as trace_id,
                nullif(lower(record.spanId), '') as span_id,
                coalesce(otlp_json(record.attributes, keys), '{{}}') as attributes,
                nanos as time_unix_nano,
                'log_record' as origin,
                coalesce(otlp_has_duplicates(keys), false) as duplicate_keys,
                *
            from evaluations
        ),

        named as (
            select
                *,
                attributes ->> '$."gen_ai.response.id"' as response_id,
                attributes ->> '$."gen_ai.evaluation.name"' as evaluation_name
            from typed
        ),

        checked as (
            select
                *,
                case when duplicate_keys then 'duplicate attribute key in log record' else {eval_reason} end as reason
            from named
        )

        select
            nextval('_otel_row_ids'), trace_id, span_id, response_id, time_unix_nano, evaluation_name, origin,
            attributes, source_file, line_number,
            -- a dated file's chunk day is its date
            case when list_contains($dated, source_file) and otlp_day(nanos) < fallback_day - $lookback::integer
                then fallback_day
                else coalesce(otlp_day(nanos), fallback_day)
            end,
            reason,
            -- the record as received, for the quarantine only
            case when reason is not null then otlp_raw_record(to_json(record)::varchar) end
        from checked
        """,
        {"dated": list(dated_files), "lookback": lookback_days},
    )
    evaluations_after = conn.execute(
        "select count(*) from _otel_eval_candidates where origin = 'log_record'"
    ).fetchone()[0]
    log_records = conn.execute(
        """
        select coalesce(sum(len(scope_logs.logRecords)), 0) from (
            select unnest(resource_logs.scopeLogs) as scope_logs from (
                select unnest(doc.resourceLogs) as resource_logs from _otel_line_docs where reason is null
            )
        )
        """
    ).fetchone()[0]
    conn.execute("drop table _otel_line_docs")
    return {"bad_lines": bad_lines, "other_log_records": int(log_records) - (evaluations_after - evaluations_before)}


def stage_span_events(conn: duckdb.DuckDBPyConnection, target: str, first: date, last: date) -> None:
    """Copy `gen_ai.evaluation.result` span events of the window's valid spans into the evaluation candidates."""
    eval_reason = pandera_sql.row_reason_sql(OtelEvalEventRaw, EVAL_EVENT_ROW_CHECKS_SQL)
    conn.execute(
        f"""
        insert into _otel_eval_candidates
        with events as (
            select trace_id, span_id, _source_file, _line_number, _partition_date, unnest(events) as event
            from {target}
            where _reject_reason is null and len(events) > 0
                and _partition_date between date '{first}' and date '{last}'
        ),

        typed as (
            select
                *,
                event.attributes as attributes,
                event.time_unix_nano as time_unix_nano,
                'span_event' as origin
            from events
            where event.name = '{EVALUATION_EVENT}'
        ),

        named as (
            select
                *,
                attributes ->> '$."gen_ai.response.id"' as response_id,
                attributes ->> '$."gen_ai.evaluation.name"' as evaluation_name
            from typed
        )

        select
            nextval('_otel_row_ids'), trace_id, span_id, response_id, time_unix_nano, evaluation_name, origin,
            attributes, _source_file, _line_number, coalesce(otlp_day(time_unix_nano), _partition_date),
            reason, case when reason is not null then to_json(event)::varchar end
        from (select *, {eval_reason} as reason from named)
        """
    )


def rejected_spans(conn: duckdb.DuckDBPyConnection, target: str, first: date, last: date) -> None:
    """Fill `_otel_rejected_spans` with the window's quarantined spans, each as it was received.

    Keeping every span's JSON text during the load would double its memory for the rare bad span;
    re-reading only the affected lines costs nothing when nothing is wrong. The text is taken from
    the line again, so content attributes are withheld from it here (`otlp_raw_record`) unless kept.
    """
    conn.execute(
        f"""
        create or replace temp table _otel_rejected_spans as
        select
            _partition_date, _source_file, _line_number, _resource_index, _scope_index, _span_index,
            _reject_reason as reason, null::varchar as raw_record
        from {target}
        where _reject_reason is not null and _partition_date between date '{first}' and date '{last}'
        """
    )
    affected = [
        row[0] for row in conn.execute("select distinct _source_file from _otel_rejected_spans").fetchall()
    ]
    if not affected:
        return
    with invalid_utf8.skipping_known_lines(conn, affected) as skip_invalid:
        conn.execute(
            f"""
            update _otel_rejected_spans r
            set raw_record = lines.raw_record
            from (
                with {numbered_lines('$files', skip_invalid)}

                select
                    r._source_file, r._line_number, r._resource_index, r._scope_index, r._span_index,
                    otlp_raw_record(json_extract(
                        n.line,
                        '$.resourceSpans[' || (r._resource_index - 1) || '].scopeSpans[' || (r._scope_index - 1)
                        || '].spans[' || (r._span_index - 1) || ']'
                    )::varchar) as raw_record
                from _otel_rejected_spans as r
                join numbered as n on n.source_file = r._source_file and n.line_number = r._line_number
            ) as lines
            where lines._source_file = r._source_file and lines._line_number = r._line_number
                and lines._resource_index = r._resource_index and lines._scope_index = r._scope_index
                and lines._span_index = r._span_index
            """,
            {"files": affected},
        )
