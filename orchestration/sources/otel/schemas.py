"""Pandera models of the raw OTLP tables: what a span must be to be stored at all.

Wrong types in a span's required fields (a `kind` of "CLIENT", a start time of "abc") reach these
checks as nulls or malformed strings, so they are caught here and the span is quarantined with the
field named, instead of loading half a span.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

HEX_TRACE_ID = r"^[0-9a-f]{32}$"
HEX_SPAN_ID = r"^[0-9a-f]{16}$"
ZERO_TRACE_ID = "0" * 32
# 2000-01-01T00:00Z in unix nanoseconds. An earlier time is 0 (OTLP's "unset"), negative, or not in
# nanoseconds at all (1795176000000 is a time in milliseconds): it names no day a load could own,
# so the span or evaluation is quarantined under its file's day instead of waiting for 1970's.
EARLIEST_UNIX_NANOS = 946_684_800 * 10**9


class OtelSpanRaw(pa.DataFrameModel):
    """One span as the Collector exported it; attributes and events are carried, not checked here."""

    trace_id: str = pa.Field(str_matches=HEX_TRACE_ID, ne=ZERO_TRACE_ID)
    span_id: str = pa.Field(str_matches=HEX_SPAN_ID)
    parent_span_id: str = pa.Field(nullable=True, str_matches=HEX_SPAN_ID)
    name: str = pa.Field()
    kind: int = pa.Field(isin=[0, 1, 2, 3, 4, 5])
    start_time_unix_nano: int = pa.Field(ge=EARLIEST_UNIX_NANOS)
    end_time_unix_nano: int = pa.Field(ge=EARLIEST_UNIX_NANOS)
    status_code: int = pa.Field(isin=[0, 1, 2])

    @pa.dataframe_check
    def ends_after_it_starts(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A span cannot end before it starts (clock skew is not a license for negative latency)."""
        return data.lazyframe.select(pl.col("end_time_unix_nano") >= pl.col("start_time_unix_nano"))

    @pa.dataframe_check
    def is_not_its_own_parent(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A span that is its own parent would make run inheritance loop forever."""
        return data.lazyframe.select(
            pl.col("parent_span_id").is_null() | (pl.col("parent_span_id") != pl.col("span_id"))
        )

    class Config:
        coerce = True


# The dataframe checks above in SQL, for validating millions of spans inside DuckDB
# (orchestration/pandera_sql.py; tests/unit/test_pandera_sql.py holds both forms equal).
SPAN_ROW_CHECKS_SQL = {
    "ends_after_it_starts": "end_time_unix_nano >= start_time_unix_nano",
    "is_not_its_own_parent": "parent_span_id is null or parent_span_id <> span_id",
}


# The usage attributes staging reads token counts from (macros/otel_attributes.sql lists the same
# keys; tests/unit/test_otel_load.py holds the two lists equal). A span carrying one that is
# not a whole number ≥ 0 is quarantined by the loader: staging would read "abc" as no tokens (a call
# priced on what is left, its run still "fully priced") and "-50" would stop the night at a dbt test.
TOKEN_COUNT_ATTRIBUTES = (
    "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt",
    "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion",
    "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens",
    "llm.token_count.prompt_details.cache_read",
    "gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens",
    "llm.token_count.prompt_details.cache_write",
    "gen_ai.usage.cache_creation.ephemeral_5m_input_tokens", "gen_ai.usage.cache_creation.ephemeral_1h_input_tokens",
    "gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens", "llm.usage.reasoning_tokens",
    "llm.token_count.completion_details.reasoning",
    # other emitters' names for the same parts: pydantic-ai / Logfire, Strands, the Vercel AI SDK v6
    "gen_ai.usage.details.cache_read_tokens", "gen_ai.usage.details.cache_write_tokens",
    "gen_ai.usage.details.reasoning_tokens", "gen_ai.usage.cache_write_input_tokens",
    "ai.usage.inputTokenDetails.cacheReadTokens", "ai.usage.inputTokenDetails.cacheWriteTokens",
    "ai.usage.outputTokenDetails.reasoningTokens",
    # … and its v5: cache reads and reasoning beside usage (read by provider: stg_otel__span_fields)
    "ai.usage.cachedInputTokens", "ai.usage.reasoningTokens", "ai.usage.inputTokenDetails.noCacheTokens",
)
# A cache write split by duration: its 1-hour part, and the keys that report the write's total (as
# stg_otel__span_fields reads them, and the provider metadata's, PROVIDER_METADATA_TOKEN_COUNTS). A
# total smaller than its 1-hour part is quarantined: staging's 5-minute part would be negative.
CACHE_WRITE_1H_ATTRIBUTE = "gen_ai.usage.cache_creation.ephemeral_1h_input_tokens"
CACHE_WRITE_TOTAL_ATTRIBUTES = (
    "gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens",
    "gen_ai.usage.cache_write_input_tokens", "llm.token_count.prompt_details.cache_write",
    "gen_ai.usage.details.cache_write_tokens", "ai.usage.inputTokenDetails.cacheWriteTokens",
)
# Token counts inside one attribute's JSON text: the Vercel AI SDK's provider metadata, where its v4
# and v5 keep Anthropic's and Bedrock's cache parts that their usage leaves out, read on its text
# calls only (the same operations and paths as macros/vercel_ai_sdk.sql). JSON null there is "not
# reported"; text that is not JSON has none.
PROVIDER_METADATA_ATTRIBUTE = "ai.response.providerMetadata"
VERCEL_TEXT_CALL_OPERATIONS = ("ai.generateText.doGenerate", "ai.streamText.doStream")
# The same paths by the part of usage each reports (macros/vercel_ai_sdk.sql's
# vercel_provider_metadata_paths), and all of them
PROVIDER_METADATA_PATHS_BY_PART = {
    "cache_read": ("$.anthropic.cacheReadInputTokens", "$.bedrock.usage.cacheReadInputTokens"),
    "cache_write": ("$.anthropic.cacheCreationInputTokens", "$.bedrock.usage.cacheWriteInputTokens"),
    "cache_write_5m": ("$.anthropic.usage.cache_creation.ephemeral_5m_input_tokens",),
    "cache_write_1h": ("$.anthropic.usage.cache_creation.ephemeral_1h_input_tokens",),
}
PROVIDER_METADATA_TOKEN_COUNTS = tuple(path for paths in PROVIDER_METADATA_PATHS_BY_PART.values() for path in paths)


class OtelEvalEventRaw(pa.DataFrameModel):
    """One `gen_ai.evaluation.result` event; the evaluated span is optional (reference §D.3)."""

    trace_id: str = pa.Field(nullable=True, str_matches=HEX_TRACE_ID)
    span_id: str = pa.Field(nullable=True, str_matches=HEX_SPAN_ID)
    time_unix_nano: int = pa.Field(ge=EARLIEST_UNIX_NANOS)
    evaluation_name: str = pa.Field()
    origin: str = pa.Field(isin=["span_event", "log_record"])
    response_id: str = pa.Field(nullable=True)

    @pa.dataframe_check
    def can_be_tied_to_a_call(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Without a trace id or a response id an evaluation cannot be tied to any run."""
        return data.lazyframe.select(pl.col("trace_id").is_not_null() | pl.col("response_id").is_not_null())

    class Config:
        coerce = True


EVAL_EVENT_ROW_CHECKS_SQL = {
    "can_be_tied_to_a_call": "trace_id is not null or response_id is not null",
}

# OTLP attributes as one JSON object of text values, `{"gen_ai.usage.input_tokens": "242", …}`
# (query with `attributes ->> '$."gen_ai.usage.input_tokens"'`). Measured on 1M spans: a MAP cost
# ~2 s to build, a list of key/value pairs ~3.5 s to write; the JSON text is one string column
# and dbt reads every attribute it needs from it with a single json_transform.
ATTRIBUTES = "varchar"

SPAN_COLUMNS: dict[str, str] = {
    "trace_id": "varchar not null",
    "span_id": "varchar not null",
    "parent_span_id": "varchar",
    "name": "varchar not null",
    "kind": "integer not null",
    "start_time_unix_nano": "bigint not null",
    "end_time_unix_nano": "bigint not null",
    "status_code": "integer not null",
    "status_message": "varchar",
    "attributes": ATTRIBUTES,
    "resource_attributes": ATTRIBUTES,
    "scope_name": "varchar",
    "scope_version": "varchar",
    "events": f"struct(time_unix_nano bigint, name varchar, attributes {ATTRIBUTES})[]",
    "_source_file": "varchar not null",
    "_line_number": "bigint not null",
    "_partition_date": "date not null",
    "_extracted_at": "timestamp not null",
}

EVAL_EVENT_COLUMNS: dict[str, str] = {
    "trace_id": "varchar",
    "span_id": "varchar",
    "response_id": "varchar",
    "time_unix_nano": "bigint not null",
    "evaluation_name": "varchar not null",
    "origin": "varchar not null",
    "attributes": ATTRIBUTES,
    "_source_file": "varchar not null",
    "_line_number": "bigint not null",
    "_partition_date": "date not null",
    "_extracted_at": "timestamp not null",
}
