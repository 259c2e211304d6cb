"""The trace loader on real OTLP/JSON files: what is loaded, what is quarantined, and why."""

import ast
import hashlib
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.demo.otlp import LogRecord, Span, SpanEvent, logs_data, traces_data, unix_nanos, write_lines
from orchestration.settings import PROJECT_ROOT
from orchestration.sources.otel.client import date_in_path, discover_trace_files
from orchestration.sources.otel.load import load_traces
from orchestration.sources.otel.parse import NOT_A_COUNT, withhold_content_json
from orchestration.sources.otel.schemas import (
    CACHE_WRITE_TOTAL_ATTRIBUTES,
    PROVIDER_METADATA_ATTRIBUTE,
    PROVIDER_METADATA_PATHS_BY_PART,
    TOKEN_COUNT_ATTRIBUTES,
    VERCEL_TEXT_CALL_OPERATIONS,
)

DAY = date(2026, 11, 20)
T0 = unix_nanos(datetime(2026, 11, 20, 10, 0, tzinfo=UTC))
DAY_NS = 24 * 3600 * 10**9


def span(index: int, trace: str = "a", **overrides) -> Span:
    values = dict(
        trace_id=trace * 32,
        span_id=f"{index:016x}",
        name="chat claude-sonnet-4-5",
        start_ns=T0 + index * 1000,
        end_ns=T0 + index * 1000 + 500,
        kind=3,
        attributes={"gen_ai.usage.input_tokens": 100 + index},
    )
    values.update(overrides)
    return Span(**values)


def with_field(document: dict, **fields) -> dict:
    """A TracesData line whose only span has `fields` overwritten with raw JSON values."""
    document["resourceSpans"][0]["scopeSpans"][0]["spans"][0].update(fields)
    return document


@pytest.fixture
def conn(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def count(conn, sql: str) -> int:
    return conn.execute(sql).fetchone()[0]


def as_dict(attributes: str) -> dict[str, str]:
    """OTLP attributes as the raw tables keep them (a JSON object of text values) as a dict."""
    return json.loads(attributes)


def test_malformed_lines_are_quarantined_and_the_counts_add_up(tmp_path: Path, conn) -> None:
    # given: 4 good spans, 3 unusable lines, 2 spans of the wrong types, 1 duplicate export
    traces = tmp_path / "traces"
    write_lines(
        traces / "2026-11-20" / "traces.jsonl",
        [
            traces_data([span(1), span(2), span(3)]),
            b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"ab',  # truncated mid-write
            with_field(traces_data([span(10, trace="b")]), startTimeUnixNano="not-a-number"),
            b'{"context": {"trace_id": "0x1"}, "kind": "SpanKind.CLIENT", "name": "x"}',  # console exporter
            with_field(traces_data([span(11, trace="c")]), kind="SPAN_KIND_CLIENT"),
            b"[1, 2, 3]",
            traces_data([span(4), span(1)]),  # span 1 exported again by a retrying Collector
        ],
    )

    # when
    spans, _ = load_traces(conn, traces, DAY, DAY)

    # then
    assert (spans.received, spans.loaded, spans.quarantined) == (10, 4, 6)
    assert spans.loaded + spans.quarantined == spans.received
    assert count(conn, "select count(*) from raw.otel_spans") == 4
    quarantined = conn.execute(
        "select _line_number, reason, raw_record from raw.quarantine where entity = 'otel_spans' order by 1"
    ).fetchall()
    reasons = {line: reason for line, reason, _ in quarantined}
    assert reasons[2] == "line is not valid JSON (truncated or corrupt)"
    assert reasons[3] == "start_time_unix_nano: missing or of the wrong type"
    assert reasons[4].startswith("ConsoleSpanExporter output")
    assert reasons[5] == "kind: missing or of the wrong type"
    assert reasons[6] == "line is a JSON array, not an OTLP object"
    assert reasons[7].startswith("duplicate export of span 0000000000000001")
    # the quarantined span is stored as received, with the offending value visible
    raw_of_line_3 = next(raw for line, _, raw in quarantined if line == 3)
    assert '"startTimeUnixNano":"not-a-number"' in raw_of_line_3.replace(" ", "")


def test_blank_and_whitespace_lines_are_skipped_not_quarantined(tmp_path: Path, conn) -> None:
    # given: a blank line, a whitespace-only line and a line of only spaces before a bad one
    traces = tmp_path / "traces"
    write_lines(
        traces / "2026-11-20" / "traces.jsonl",
        [traces_data([span(1)]), b"", b"   \t  ", traces_data([span(2)]), b" " * 40, b"{not json"],
    )

    # when
    spans, _ = load_traces(conn, traces, DAY, DAY)

    # then: only the corrupt line is quarantined, under its own line number (6)
    assert (spans.received, spans.loaded, spans.quarantined) == (3, 2, 1)
    assert conn.execute(
        "select _line_number, reason from raw.quarantine where entity = 'otel_spans'"
    ).fetchall() == [(6, "line is not valid JSON (truncated or corrupt)")]


def test_prompt_and_completion_text_is_dropped_unless_kept(tmp_path: Path, conn) -> None:
    # given
    content = {
        "gen_ai.input.messages": '[{"role": "user", "content": "secret"}]',
        "gen_ai.prompt.0.content": "secret",
        "gen_ai.completion.0.content": "secret",
        "llm.input_messages.0.message.content": "secret",
        "traceloop.entity.input": "secret",
        "llm.prompts": ["secret"],
        "llm.prompt_template.template": "secret {x}",
        "llm.prompt_template.variables": '{"x": "secret"}',
        "retrieval.documents.0.document.content": "secret",
        "embedding.embeddings.0.embedding.text": "secret",
        "reranker.query": "secret",
        "reranker.input_documents.1.document.content": "secret",
        "gen_ai.prompt.name": "route_task",  # a template name, not content
        "retrieval.documents.0.document.id": "doc-7",  # a document's id, not content
        "gen_ai.usage.input_tokens": 12,
        "llm.completions.0.content": "secret",
        "ai.prompt": '{"prompt": "secret"}',
        "ai.prompt.messages": '[{"role": "user", "content": "secret"}]',
        "ai.response.text": "secret",
        "ai.toolCall.args": '{"q": "secret"}',
        "ai.toolCall.result": "secret",
        "ai.result.text": "secret",  # the Vercel AI SDK 3.3 to 4 also sets this one
        "ai.toolCall.input": "secret",
        # Pydantic AI's agent run, chat (instrumentation version 1) and tool spans
        "pydantic_ai.all_messages": '[{"role": "user", "parts": [{"type": "text", "content": "secret"}]}]',
        "all_messages_events": '[{"content": "secret", "role": "user"}]',
        "all_messages": '[{"content": "secret"}]',
        "prompt": "secret",
        "final_result": "secret",
        "events": '[{"event.name": "gen_ai.user.message", "content": "secret"}]',
        "tool_arguments": '{"q": "secret"}',
        "tool_response": "secret",
        # … and nested in a key-value list (Logfire's arguments of a span)
        "logfire.props": {"prompt": "secret", "final_result": "secret", "agent_name": "triage"},
        # a content key nested in a key-value list, beside a value that is not content
        "traceloop.association.properties": {"gen_ai.prompt.0.content": "secret", "session_id": "s-1"},
        # the Vercel AI SDK's provider metadata: completion text (logprobs) beside the cache counts
        PROVIDER_METADATA_ATTRIBUTE: json.dumps(
            {"openai": {"logprobs": [{"token": "secret"}]}, "anthropic": {"cacheCreationInputTokens": 2000}}
        ),
    }
    events = [
        SpanEvent("gen_ai.content.prompt", T0, {"gen_ai.prompt.0.content": "secret", "kept": "yes"}),
        # the older GenAI message events as span events: body under gen_ai.event.content, or flattened
        SpanEvent("gen_ai.user.message", T0, {"content": "secret", "role": "user", "gen_ai.system": "openai"}),
        SpanEvent("gen_ai.choice", T0, {"gen_ai.event.content": '{"message": {"content": "secret"}}',
                                        "index": 0, "finish_reason": "stop"}),
        # a judge's explanation quotes the output it judged, as a span event and as a log record
        SpanEvent("gen_ai.evaluation.result", T0, {"gen_ai.evaluation.name": "relevance",
                                                   "gen_ai.evaluation.explanation": "it said 'secret'"}),
        # the provider metadata on an event is cut as on a span
        SpanEvent(
            "ai.stream.finish", T0, {PROVIDER_METADATA_ATTRIBUTE: json.dumps({"openai": {"logprobs": "secret"}})}
        ),
    ]
    evaluation = LogRecord(T0 + 9, "gen_ai.evaluation.result", {
        "gen_ai.evaluation.name": "task_completion", "gen_ai.evaluation.score.label": "pass",
        "gen_ai.evaluation.explanation": "it said 'secret'",
    }, trace_id="a" * 32, span_id=f"{1:016x}")
    traces = tmp_path / "traces"
    write_lines(traces / "2026-11-20.jsonl", [traces_data([span(1, attributes=content, events=events)])])
    write_lines(traces / "2026-11-20-logs.jsonl", [logs_data([evaluation])])

    # when
    load_traces(conn, traces, DAY, DAY)
    attributes, events = conn.execute("select attributes, events from raw.otel_spans").fetchone()

    # then
    kept = as_dict(attributes)
    properties = json.loads(kept.pop("traceloop.association.properties"))["values"]
    logfire_props = json.loads(kept.pop("logfire.props"))["values"]
    assert logfire_props[2] == {"key": "agent_name", "value": {"stringValue": "triage"}}
    metadata = json.loads(kept.pop(PROVIDER_METADATA_ATTRIBUTE))
    assert set(metadata) == {"anthropic", "bedrock"} and metadata["anthropic"]["cacheCreationInputTokens"] == 2000
    assert kept == {
        "gen_ai.prompt.name": "route_task",
        "retrieval.documents.0.document.id": "doc-7",
        "gen_ai.usage.input_tokens": "12",
    }
    assert properties[1] == {"key": "session_id", "value": {"stringValue": "s-1"}}
    assert [as_dict(event["attributes"]) for event in events[:4]] == [
        {"kept": "yes"}, {"role": "user", "gen_ai.system": "openai"}, {"index": "0", "finish_reason": "stop"},
        {"gen_ai.evaluation.name": "relevance"},
    ]
    assert set(json.loads(as_dict(events[4]["attributes"])[PROVIDER_METADATA_ATTRIBUTE])) == {"anthropic", "bedrock"}
    assert "secret" not in str(conn.execute("select * from raw.otel_spans").fetchall())
    evaluations = conn.execute("select origin, attributes from raw.otel_eval_events order by origin").fetchall()
    assert [(origin, as_dict(attributes)) for origin, attributes in evaluations] == [
        ("log_record", {"gen_ai.evaluation.name": "task_completion", "gen_ai.evaluation.score.label": "pass"}),
        ("span_event", {"gen_ai.evaluation.name": "relevance"}),
    ]

    # when the setting keeps content
    load_traces(conn, traces, DAY, DAY, keep_content=True)
    attributes, events = conn.execute("select attributes, events from raw.otel_spans").fetchone()
    assert as_dict(attributes)["gen_ai.prompt.0.content"] == "secret"
    assert as_dict(attributes)["ai.response.text"] == "secret"
    assert "secret" in as_dict(attributes)["traceloop.association.properties"]
    assert "secret" in as_dict(attributes)[PROVIDER_METADATA_ATTRIBUTE]
    assert as_dict(events[1]["attributes"])["content"] == "secret"
    assert "secret" in str(conn.execute("select attributes from raw.otel_eval_events").fetchall())


def test_reloading_a_day_replaces_it(tmp_path: Path, conn) -> None:
    # given a day loaded once
    traces = tmp_path / "traces"
    path = traces / "2026" / "11" / "20" / "agent.jsonl.gz"
    write_lines(path, [traces_data([span(1), span(2), span(3)])])
    load_traces(conn, traces, DAY, DAY)

    # when it is loaded again, then again after the file lost a span
    load_traces(conn, traces, DAY, DAY)
    assert count(conn, "select count(*) from raw.otel_spans") == 3
    write_lines(path, [traces_data([span(1), span(2)])])
    spans, _ = load_traces(conn, traces, DAY, DAY)

    # then
    assert spans.loaded == 2
    assert count(conn, "select count(*) from raw.otel_spans") == 2


def test_spans_belong_to_the_day_they_started(tmp_path: Path, conn) -> None:
    # given a file dated the 21st holding a span that started late on the 20th, and one of the 21st
    late = unix_nanos(datetime(2026, 11, 20, 23, 59, 59, tzinfo=UTC))
    next_day = unix_nanos(datetime(2026, 11, 21, 0, 0, 1, tzinfo=UTC))
    traces = tmp_path / "traces"
    write_lines(
        traces / "traces-2026-11-21T02-00-00.000.jsonl",
        [traces_data([span(1, start_ns=late, end_ns=late + 10), span(2, start_ns=next_day, end_ns=next_day + 10)])],
    )

    # when the 20th is loaded
    spans, _ = load_traces(conn, traces, DAY, DAY)

    # then only the 20th's span is in its partition; the 21st's waits for its own load
    assert spans.loaded == 1
    assert spans.extra["spans_of_other_days"] == 1
    assert conn.execute("select _partition_date from raw.otel_spans").fetchone()[0] == DAY


def test_evaluations_arrive_as_log_records_and_span_events(tmp_path: Path, conn) -> None:
    # given
    traces = tmp_path / "traces"
    evaluated = span(1, events=[SpanEvent("gen_ai.evaluation.result", T0 + 5, {"gen_ai.evaluation.name": "relevance"})])
    write_lines(traces / "2026-11-20" / "traces.jsonl", [traces_data([evaluated])])
    write_lines(
        traces / "2026-11-20" / "logs.jsonl",
        [
            logs_data(
                [
                    LogRecord(T0 + 9, "gen_ai.evaluation.result", {"gen_ai.evaluation.name": "task_completion",
                              "gen_ai.evaluation.score.label": "pass"}, trace_id="a" * 32, span_id=f"{1:016x}"),
                    LogRecord(T0 + 9, "gen_ai.client.operation.exception", {"exception.type": "Timeout"}),
                ]
            )
        ],
    )

    # when
    _, evaluations = load_traces(conn, traces, DAY, DAY)

    # then
    rows = conn.execute("select origin, evaluation_name from raw.otel_eval_events order by origin").fetchall()
    assert rows == [("log_record", "task_completion"), ("span_event", "relevance")]
    assert evaluations.extra["other_log_records_ignored"] == 1



def test_an_evaluation_older_than_its_files_lookback_is_kept_under_the_files_day(tmp_path: Path, conn) -> None:
    # given evaluations of the 20th exported late: one in the 21st's file (within the 1-day
    # lookback, so the load of the 20th reads it) and one in the 23rd's file (which no load of the
    # 20th reads)
    traces = tmp_path / "traces"

    def evaluation(name: str) -> dict:
        attributes = {"gen_ai.evaluation.name": name, "gen_ai.evaluation.score.label": "pass"}
        return logs_data([LogRecord(T0, "gen_ai.evaluation.result", attributes, trace_id="a" * 32)])

    write_lines(traces / "2026-11-21" / "logs.jsonl", [evaluation("within_lookback")])
    write_lines(traces / "2026-11-23" / "logs.jsonl", [evaluation("days_late")])

    # when each day from the 20th to the 23rd is loaded, the 23rd twice
    reports = {day: load_traces(conn, traces, date(2026, 11, day), date(2026, 11, day))[1] for day in (20, 21, 22, 23)}
    load_traces(conn, traces, date(2026, 11, 23), date(2026, 11, 23))

    # then each is loaded once: the late one under the 23rd, still made on the 20th
    rows = conn.execute(
        "select evaluation_name, _partition_date, make_timestamp(time_unix_nano // 1000)::date "
        "from raw.otel_eval_events order by 1"
    ).fetchall()
    assert rows == [("days_late", date(2026, 11, 23), DAY), ("within_lookback", DAY, DAY)]
    assert [reports[day].loaded for day in (20, 21, 22, 23)] == [1, 0, 0, 1]
    assert reports[23].extra["evaluations_under_file_day"] == 1
    assert count(conn, "select count(*) from raw.quarantine") == 0

def test_a_missing_traces_folder_is_an_error_not_a_quiet_day(tmp_path: Path, conn) -> None:
    with pytest.raises(FileNotFoundError, match="AGENTLEDGER_TRACES_DIR"):
        load_traces(conn, tmp_path / "nowhere", DAY, DAY)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("2026/11/20/agent.jsonl", date(2026, 11, 20), id="folder per day"),
        pytest.param("traces-2026-11-20T02-00-00.123.jsonl", date(2026, 11, 20), id="rotated file"),
        pytest.param("agent_20261120.jsonl.gz", date(2026, 11, 20), id="compact date"),
        pytest.param("traces.jsonl", None, id="undated"),
        pytest.param("span-a1b2c3d4e5f6.jsonl", None, id="hex is not a date"),
        pytest.param("2026-02-30.jsonl", None, id="not a calendar date"),
    ],
)
def test_a_file_is_dated_by_its_path(path: str, expected: date | None) -> None:
    assert date_in_path(path) == expected


def test_a_days_spans_are_read_from_files_dated_a_day_before_it_to_its_lookback_after(tmp_path: Path) -> None:
    # given
    for name in ["2026-11-18.jsonl", "2026-11-19.jsonl", "2026-11-20.jsonl", "2026-11-21.jsonl", "2026-11-22.jsonl",
                 "live.jsonl", "notes.txt"]:
        (tmp_path / name).write_text("{}\n")

    # when
    found = [f.path.name for f in discover_trace_files(tmp_path, DAY, DAY, lookback_days=1)]

    # then
    assert found == ["2026-11-19.jsonl", "2026-11-20.jsonl", "2026-11-21.jsonl", "live.jsonl"]


def test_a_trace_file_whose_suffix_is_not_lower_case_is_named_not_skipped_in_silence(tmp_path: Path, conn) -> None:
    # given a day's file and one exported as .JSONL
    traces = tmp_path / "traces"
    write_lines(traces / "2026-11-20" / "a.jsonl", [traces_data([span(1)])])
    write_lines(traces / "2026-11-20" / "b.JSONL", [traces_data([span(2)])])
    messages: list[str] = []

    # when the day is loaded
    spans, _ = load_traces(conn, traces, DAY, DAY, progress=messages.append)

    # then the other file loads and the run names the one it did not read
    assert spans.loaded == 1
    assert any(m.startswith("1 file(s) not read, their suffix not in lower case") and m.endswith(
        f"e.g. {traces / '2026-11-20' / 'b.JSONL'}: rename them to load them") for m in messages)


def test_a_span_with_a_duplicated_attribute_key_is_quarantined(tmp_path: Path, conn) -> None:
    # given one good span and one whose attribute list names a key twice (a MAP cannot hold it)
    document = traces_data([span(1), span(2)])
    document["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["attributes"] = [
        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "5"}},
        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "7"}},
    ]
    traces = tmp_path / "traces"
    write_lines(traces / "2026-11-20.jsonl", [document])

    # when
    spans, _ = load_traces(conn, traces, DAY, DAY)

    # then the good span loads and the other is kept, with its reason, as received
    assert (spans.received, spans.loaded, spans.quarantined) == (2, 1, 1)
    reason, raw = conn.execute("select reason, raw_record from raw.quarantine").fetchone()
    assert reason == "duplicate attribute key in span attributes"
    assert raw.count("gen_ai.usage.input_tokens") == 2


def test_a_line_longer_than_the_limit_fails_the_load_naming_the_file_not_the_content(
    tmp_path: Path, conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a line over the limit (lowered for the test) that carries prompt text
    from orchestration.sources.otel import parse

    monkeypatch.setattr(parse, "MAX_LINE_BYTES", 4096)

    traces = tmp_path / "traces"
    huge = span(1, attributes={"gen_ai.input.messages": "secret prompt " * 1000})
    write_lines(traces / "2026-11-20.jsonl", [traces_data([huge])])

    # when / then
    expected = r"2026-11-20\.jsonl: a line (of [\d,]+ bytes )?exceeds the 4,096-byte limit"
    with pytest.raises(ValueError, match=expected) as error:
        load_traces(conn, traces, DAY, DAY)
    assert "secret" not in str(error.value)


def test_a_span_exported_again_in_the_next_days_file_is_quarantined_as_a_duplicate(tmp_path: Path, conn) -> None:
    # given span 1 of the 20th in the 20th's file and again (a Collector retry) in the 21st's file,
    # which the load of the 20th reads for late spans; the loader parses and sets aside one day's
    # files at a time, so the first copy is in an earlier chunk than the second
    traces = tmp_path / "traces"
    write_lines(traces / "2026-11-20" / "traces.jsonl", [traces_data([span(1), span(2)])])
    write_lines(traces / "2026-11-21" / "traces.jsonl", [traces_data([span(3), span(1)])])

    # when
    spans, _ = load_traces(conn, traces, DAY, DAY)

    # then
    assert (spans.received, spans.loaded, spans.quarantined) == (4, 3, 1)
    assert spans.extra["duplicate_exports"] == 1
    file, line, reason = conn.execute("select _source_file, _line_number, reason from raw.quarantine").fetchone()
    assert (file.endswith("2026-11-21/traces.jsonl"), line) == (True, 1)
    first_copy = traces / "2026-11-20" / "traces.jsonl"
    assert reason == f"duplicate export of span {1:016x} (first seen in {first_copy} line 1)"


def test_a_file_named_gz_that_is_not_gzip_is_quarantined_and_the_day_loads(tmp_path: Path, conn) -> None:
    # given a day's file, a zero-byte .jsonl.gz (a writer just opened it) and a .jsonl.gz never compressed
    traces = tmp_path / "traces"
    write_lines(traces / "2026-11-20" / "traces.jsonl", [traces_data([span(1), span(2)])])
    (traces / "2026-11-20" / "opened.jsonl.gz").write_bytes(b"")
    (traces / "2026-11-20" / "plain.jsonl.gz").write_bytes(json.dumps(traces_data([span(3)])).encode() + b"\n")

    # when the day is loaded
    spans, _ = load_traces(conn, traces, DAY, DAY)

    # then the day's spans load, the empty file holds nothing and the plain one is quarantined whole
    assert (spans.received, spans.loaded, spans.quarantined) == (3, 2, 1)
    file, line, reason = conn.execute("select _source_file, _line_number, reason from raw.quarantine").fetchone()
    assert (file.endswith("plain.jsonl.gz"), line) == (True, 1)
    assert reason.startswith("file is named .gz but is not gzip-compressed")


def test_a_load_that_fails_on_a_later_day_leaves_the_raw_tables_as_they_were(tmp_path: Path, conn) -> None:
    # given a loaded day, then a reload of two days whose second day's file is not gzip at all
    traces = tmp_path / "traces"
    write_lines(traces / "2026-11-20" / "traces.jsonl", [traces_data([span(1), span(2)])])
    load_traces(conn, traces, DAY, DAY)
    write_lines(traces / "2026-11-20" / "traces.jsonl", [traces_data([span(5)])])
    (traces / "2026-11-21").mkdir()
    (traces / "2026-11-21" / "traces.jsonl.gz").write_bytes(b"\x1f\x8bnot gzip at all" * 100)

    # when
    with pytest.raises(duckdb.Error):
        load_traces(conn, traces, DAY, date(2026, 11, 21))

    # then the first load's rows are untouched and nothing set aside is left behind
    assert conn.execute("select span_id from raw.otel_spans order by 1").fetchall() == [(f"{1:016x}",), (f"{2:016x}",)]
    assert count(conn, "select count(*) from duckdb_tables() where table_name like '_loading_%'") == 0


def test_a_reload_keeps_the_other_days_and_the_raw_table_keeps_its_constraints(tmp_path: Path, conn) -> None:
    # given the 20th and the 21st loaded one by one
    traces = tmp_path / "traces"
    next_day = T0 + 24 * 3600 * 10**9
    write_lines(traces / "2026-11-20" / "traces.jsonl", [traces_data([span(1), span(2)])])
    late_span = span(7, start_ns=next_day, end_ns=next_day + 9)
    write_lines(traces / "2026-11-21" / "traces.jsonl", [traces_data([late_span])])
    load_traces(conn, traces, DAY, DAY)
    load_traces(conn, traces, date(2026, 11, 21), date(2026, 11, 21))

    # when the 21st alone is loaded again (other rows: copied in), then both days (nothing else: swapped in)
    load_traces(conn, traces, date(2026, 11, 21), date(2026, 11, 21))
    by_day = "select _partition_date::varchar, count(*) from raw.otel_spans group by 1 order by 1"
    after_one_day = conn.execute(by_day).fetchall()
    load_traces(conn, traces, DAY, date(2026, 11, 21))

    # then no day is lost or doubled, and the table still refuses a span without a trace id
    assert after_one_day == [("2026-11-20", 2), ("2026-11-21", 1)]
    assert conn.execute(by_day).fetchall() == [("2026-11-20", 2), ("2026-11-21", 1)]
    with pytest.raises(duckdb.ConstraintException):
        conn.execute("insert into raw.otel_spans (trace_id) values (null)")


def test_a_batch_written_twice_in_one_file_is_quarantined_under_its_own_line(tmp_path: Path, conn) -> None:
    # given a retrying Collector that wrote the same batch on lines 1 and 3 of one file
    traces = tmp_path / "traces"
    batch = traces_data([span(1), span(2)])
    write_lines(traces / "2026-11-20.jsonl", [batch, traces_data([span(3)]), batch])

    # when
    spans, _ = load_traces(conn, traces, DAY, DAY)

    # then the second copy's spans are quarantined, each named under line 3, first seen on line 1
    assert (spans.received, spans.loaded, spans.quarantined) == (5, 3, 2)
    quarantined = conn.execute("select _line_number, reason from raw.quarantine order by reason").fetchall()
    assert [line for line, _ in quarantined] == [3, 3]
    assert all(reason.endswith("2026-11-20.jsonl line 1)") for _, reason in quarantined)
    assert conn.execute("select _line_number from raw.otel_spans order by span_id").fetchall() == [(1,), (1,), (2,)]


def test_a_malformed_span_list_and_a_mixed_line_are_told_apart(tmp_path: Path, conn) -> None:
    # given a line whose resourceSpans is not a list, and a line carrying spans and log records together
    traces = tmp_path / "traces"
    mixed = traces_data([span(1)])
    mixed["resourceLogs"] = logs_data(
        [LogRecord(T0 + 9, "gen_ai.evaluation.result", {"gen_ai.evaluation.name": "task_completion"},
                   trace_id="a" * 32, span_id=f"{1:016x}")]
    )["resourceLogs"]
    write_lines(traces / "2026-11-20.jsonl", [b'{"resourceSpans": "not a list"}', mixed])

    # when
    spans, evaluations = load_traces(conn, traces, DAY, DAY)

    # then
    assert (spans.loaded, spans.quarantined) == (1, 1)
    assert conn.execute("select _line_number, reason from raw.quarantine").fetchall() == [
        (1, "resourceSpans is not a list of ResourceSpans")
    ]
    assert evaluations.loaded == 1


def test_a_line_over_the_limit_among_others_fails_the_load(
    tmp_path: Path, conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a file of normal lines and one over the (lowered) limit
    from orchestration.sources.otel import parse

    monkeypatch.setattr(parse, "MAX_LINE_BYTES", 4096)
    traces = tmp_path / "traces"
    huge = span(9, attributes={"gen_ai.input.messages": "secret prompt " * 1000})
    write_lines(traces / "2026-11-20.jsonl", [traces_data([span(1)]), traces_data([huge]), traces_data([span(2)])])

    # when / then the load fails naming the file, and no span of it is half-loaded
    with pytest.raises(ValueError, match=r"2026-11-20\.jsonl: a line (of [\d,]+ bytes )?exceeds") as error:
        load_traces(conn, traces, DAY, DAY)
    assert "secret" not in str(error.value)
    assert count(conn, "select count(*) from raw.otel_spans") == 0


def test_a_warehouse_with_attribute_maps_is_converted_in_place(tmp_path: Path, conn) -> None:
    # given raw tables as an earlier version wrote them: attributes as MAPs, a day already loaded
    from orchestration.sources.otel.schemas import SPAN_COLUMNS

    old_types = {
        "attributes": "map(varchar, varchar)", "resource_attributes": "map(varchar, varchar)",
        "events": "struct(time_unix_nano bigint, name varchar, attributes map(varchar, varchar))[]",
    }
    columns = ", ".join(f"{name} {old_types.get(name, dtype)}" for name, dtype in SPAN_COLUMNS.items())
    conn.execute("create schema raw")
    conn.execute(f"create table raw.otel_spans ({columns})")
    conn.execute(
        """
        insert into raw.otel_spans values (
            'b' || repeat('0', 31), '0000000000000009', null, 'old', 1, 1, 2, 0, null,
            map {'gen_ai.system': 'openai'}, map {'service.name': 'svc'}, 'scope', null,
            [{'time_unix_nano': 1, 'name': 'e', 'attributes': map {'k': 'v'}}],
            'old.jsonl', 1, date '2026-11-19', now()::timestamp
        )
        """
    )
    traces = tmp_path / "traces"
    write_lines(traces / "2026-11-20.jsonl", [traces_data([span(1)])])

    # when the next day is loaded
    load_traces(conn, traces, DAY, DAY)

    # then the old day's attributes read as the new ones do
    old = conn.execute(
        "select attributes, resource_attributes, events[1].attributes from raw.otel_spans "
        "where _partition_date = date '2026-11-19'"
    ).fetchone()
    assert [as_dict(value) for value in old] == [{"gen_ai.system": "openai"}, {"service.name": "svc"}, {"k": "v"}]
    assert count(conn, "select count(*) from raw.otel_spans where _partition_date = date '2026-11-20'") == 1


def test_a_column_added_to_the_raw_table_survives_a_reload_of_all_it_holds(tmp_path: Path, conn) -> None:
    # given a loaded day and a column someone added to raw.otel_spans
    traces = tmp_path / "traces"
    write_lines(traces / "2026-11-20.jsonl", [traces_data([span(1), span(2)])])
    load_traces(conn, traces, DAY, DAY)
    conn.execute("alter table raw.otel_spans add column reviewed_by varchar")

    # when the same day, all the table holds, is loaded again (the set-aside table could replace it)
    spans, _ = load_traces(conn, traces, DAY, DAY)

    # then the rows are replaced in place and the column is still there
    assert spans.loaded == 2
    columns = [row[0] for row in conn.execute("describe raw.otel_spans").fetchall()]
    assert "reviewed_by" in columns


def test_legacy_prompt_and_completion_event_attributes_are_dropped(tmp_path: Path, conn) -> None:
    # given the older semantic conventions: content in span events under the exact keys
    # gen_ai.prompt / gen_ai.completion, beside a template name that is not content
    events = [
        SpanEvent("gen_ai.content.prompt", T0, {"gen_ai.prompt": "secret question", "kept": "yes"}),
        SpanEvent("gen_ai.content.completion", T0 + 1, {"gen_ai.completion": "secret answer"}),
    ]
    attributes = {"gen_ai.prompt": "secret", "gen_ai.prompt.name": "route_task"}
    traces = tmp_path / "traces"
    write_lines(traces / "2026-11-20.jsonl", [traces_data([span(1, attributes=attributes, events=events)])])

    # when
    load_traces(conn, traces, DAY, DAY)

    # then
    attributes, events = conn.execute("select attributes, events from raw.otel_spans").fetchone()
    assert as_dict(attributes) == {"gen_ai.prompt.name": "route_task"}
    assert [as_dict(event["attributes"]) for event in events] == [{"kept": "yes"}, {}]
    assert "secret" not in str(conn.execute("select * from raw.otel_spans").fetchall())


def test_quarantined_spans_records_and_lines_keep_no_content_unless_kept(tmp_path: Path, conn) -> None:
    # given a span rejected for its kind, an evaluation log record rejected for lacking any id,
    # ConsoleSpanExporter output and a truncated line, each carrying prompt text
    secret = {"gen_ai.input.messages": '[{"role": "user", "content": "secret"}]', "gen_ai.request.model": "m"}
    event = SpanEvent("gen_ai.content.prompt", T0, {"gen_ai.prompt": "secret", "kept": "yes"})
    rejected_span = with_field(traces_data([span(1, attributes=secret, events=[event])]), kind="CLIENT")
    rejected_record = logs_data(
        [LogRecord(T0, "gen_ai.evaluation.result", {"gen_ai.evaluation.name": "relevance", **secret})]
    )
    console = json.dumps(
        {"name": "chat", "context": {"trace_id": "0x1"}, "kind": "SpanKind.CLIENT", "attributes": secret}
    ).encode()
    truncated = json.dumps(traces_data([span(2, attributes=secret)])).encode()[:-40]
    # and lines whose text has no attribute keys to go by: a JSON array, a JSON object that is not
    # OTLP, log records whose body sits in an object where a list was due; and a span whose one
    # content attribute is an object where the list was due
    array = json.dumps(["secret"]).encode()
    not_otlp = json.dumps({"note": "secret", "what is the secret?": 1, "key": "secret@example.com"}).encode()
    logs_not_a_list = json.dumps(
        {"resourceLogs": {"scopeLogs": [{"logRecords": [{"eventName": "gen_ai.user.message",
                                                           "body": {"stringValue": "secret"}}]}]}}
    ).encode()
    one_pair = with_field(
        traces_data([span(3)]), attributes={"key": "gen_ai.prompt.0.content", "value": {"stringValue": "secret"}}
    )
    # and a span quarantined for a key its message event names twice: the event's text goes with it
    message = SpanEvent("gen_ai.user.message", T0, {"content": "secret", "role": "user"})
    message_twice = traces_data([span(4, events=[message])])
    event = message_twice["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["events"][0]
    event["attributes"] *= 2
    traces = tmp_path / "traces"
    write_lines(
        traces / "2026-11-20.jsonl",
        [rejected_span, rejected_record, console, truncated, array, not_otlp, logs_not_a_list, one_pair,
         message_twice],
    )

    # when
    spans, evaluations = load_traces(conn, traces, DAY, DAY)

    # then all are quarantined, none with its content, all still telling what they were
    assert (spans.quarantined, evaluations.quarantined) == (8, 1)
    raw = dict(conn.execute("select _line_number, raw_record from raw.quarantine").fetchall())
    assert sorted(raw) == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert [line for line in sorted(raw) if "secret" in raw[line]] == []
    assert '"spanId":"0000000000000001"' in raw[1] and '"kind":"CLIENT"' in raw[1]
    assert '"key":"gen_ai.input.messages"' in raw[1] and '"key":"gen_ai.request.model"' in raw[1]
    assert '"gen_ai.evaluation.name"' in raw[2] and "gen_ai.input.messages" in raw[2]
    # a whole line keeps its shape (keys, numbers, attribute names), size and hash, no string of it
    console_record = json.loads(raw[3])
    assert console_record["shape"]["attributes"] == {"gen_ai.input.messages": "…", "gen_ai.request.model": "…"}
    assert console_record["sha256"] == hashlib.sha256(console).hexdigest()
    assert set(json.loads(raw[4])) == {"withheld", "bytes", "sha256"}
    assert json.loads(raw[4])["bytes"] == len(truncated)
    assert [json.loads(raw[line])["shape"] for line in (5, 6)] == [["…"], {"note": "…", "…2": 1, "key": "…"}]
    assert json.loads(raw[7])["shape"]["resourceLogs"]["scopeLogs"][0]["logRecords"][0]["body"] == {
        "stringValue": "…"
    }
    assert '"key":"gen_ai.prompt.0.content"' in raw[8]
    assert '"name":"gen_ai.user.message"' in raw[9] and '"key":"content"' in raw[9] and '"user"' in raw[9]

    # when the setting keeps content, the quarantine keeps it too
    load_traces(conn, traces, DAY, DAY, keep_content=True)
    raw = dict(conn.execute("select _line_number, raw_record from raw.quarantine").fetchall())
    assert all("secret" in raw[line] for line in (1, 2, 3, 4, 5, 6, 7, 8, 9))


def not_utf8(document: dict) -> bytes:
    """A TracesData line whose prompt text, "secret", is followed by a byte that is not UTF-8 (0xff)."""
    return json.dumps(document).encode().replace(b"secret", b"secret\xff")


def test_lines_that_are_not_utf8_are_quarantined_and_every_other_line_keeps_its_number(
    tmp_path: Path, conn
) -> None:
    # given the 20th's file: a span, two lines that are not UTF-8 (prompt text in them), a blank
    # line, a span with a duplicated attribute key (read again for the quarantine by its line
    # number), an evaluation log record (read again by its line number too); and the 21st's
    # gzipped file, read for the 20th's late spans, with a line that is not UTF-8 before one
    traces = tmp_path / "traces"
    prompt = {"gen_ai.input.messages": "secret"}
    bad_line = not_utf8(traces_data([span(2, attributes=prompt)]))
    duplicated = traces_data([span(5)])
    duplicated["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"] *= 2
    evaluation = logs_data(
        [LogRecord(T0 + 9000, "gen_ai.evaluation.result", {"gen_ai.evaluation.name": "relevance"}, trace_id="a" * 32)]
    )
    write_lines(
        traces / "2026-11-20.jsonl",
        [traces_data([span(1)]), bad_line, not_utf8(traces_data([span(3, attributes=prompt)])), b"", duplicated,
         evaluation],
    )
    write_lines(traces / "2026-11-21.jsonl.gz", [not_utf8(traces_data([span(7, attributes=prompt)])),
                                                 traces_data([span(8)])])

    # when
    messages: list[str] = []
    spans, evaluations = load_traces(conn, traces, DAY, DAY, progress=messages.append)

    # then the spans of the other lines load, the 20th's two lines are quarantined under their own
    # file and line (the 21st's file's belongs to the 21st), and the counts add up
    assert (spans.received, spans.loaded, spans.quarantined) == (5, 2, 3)
    assert spans.extra["lines_not_utf8"] == 3
    assert evaluations.loaded == 1
    loaded = "select count(*) from raw.otel_spans where span_id in ('0000000000000001', '0000000000000008')"
    assert count(conn, loaded) == 2
    quarantined = """
        select regexp_extract(_source_file, '[^/]+$'), _partition_date, _line_number, reason, raw_record
        from raw.quarantine where entity = 'otel_spans' order by 1, 3
    """
    rows = conn.execute(quarantined).fetchall()
    assert [(file, line) for file, _, line, _, _ in rows] == [
        ("2026-11-20.jsonl", 2), ("2026-11-20.jsonl", 3), ("2026-11-20.jsonl", 5),
    ]
    _, _, _, reason, raw = rows[0]
    offset = bad_line.index(b"\xff")
    assert reason == f"line is not valid UTF-8, as OTLP/JSON must be (first invalid byte at offset {offset})"
    assert spans.reasons == {
        "line is not valid UTF-8, as OTLP/JSON must be": 2, "duplicate attribute key in span attributes": 1,
    }
    assert json.loads(raw)["bytes"] == len(bad_line)
    assert json.loads(raw)["sha256"] == hashlib.sha256(bad_line).hexdigest()
    assert not any("secret" in str(row) for row in rows) and not any("secret" in m for m in messages)
    # the span read again by its line number is the one on line 5, as received
    assert rows[2][3].startswith("duplicate attribute key") and '"spanId":"0000000000000005"' in rows[2][4]
    assert conn.execute("select _line_number from raw.otel_eval_events").fetchall() == [(6,)]
    assert any("3 line(s) not UTF-8" in m for m in messages)

    # when the 21st is loaded: its file's line is quarantined under the 21st
    load_traces(conn, traces, DAY.replace(day=21), DAY.replace(day=21))
    rows = conn.execute(quarantined).fetchall()
    assert [(file, day.day, line) for file, day, line, _, _ in rows][-1] == ("2026-11-21.jsonl.gz", 21, 1)

    # when the 20th is loaded again, keeping content: the same rows, now with the text
    spans, _ = load_traces(conn, traces, DAY, DAY, keep_content=True)
    assert (spans.received, spans.loaded, spans.quarantined) == (5, 2, 3)
    raw = conn.execute(
        "select raw_record from raw.quarantine where _line_number = 2 and _source_file like '%20.jsonl'"
    ).fetchone()[0]
    assert "secret\\xff" in raw
    assert count(conn, "select count(*) from raw.quarantine where entity = 'otel_spans'") == 4


def test_a_line_that_is_not_utf8_is_skipped_only_where_the_scan_found_it(tmp_path: Path, conn) -> None:
    # given a file with a line that is not UTF-8 on line 2, and a load told it is on line 3
    from orchestration.sources.otel import invalid_utf8, parse

    path = tmp_path / "2026-11-20.jsonl"
    write_lines(path, [traces_data([span(1)]), not_utf8(traces_data([span(2, attributes={"p": "secret"})])),
                       traces_data([span(3)])])
    parse.create_work_tables(conn, "_spans")
    wrong = invalid_utf8.InvalidLine(path=path, line_number=3, size=1, sha256="", offset=0, text="")
    invalid_utf8.quarantine_invalid_lines(conn, [wrong], {path: "2026-11-20"}, keep_content=False)

    # when / then the read stops rather than lose line 2 or number the lines wrongly
    with pytest.raises(ValueError, match=r"2026-11-20\.jsonl line 2: reading around lines that are not UTF-8, "
                                         r"DuckDB skipped it as INVALID ENCODING") as error:
        parse.number_lines(conn, [path], 1, "2026-11-20")
    assert "secret" not in str(error.value)


def test_the_scan_for_lines_that_are_not_utf8_stops_at_a_line_over_the_limit(tmp_path: Path) -> None:
    # given a gzipped file with a line that is not UTF-8 and a line over the limit, which
    # DuckDB, skipping unreadable lines, would skip without a word
    from orchestration.sources.otel.invalid_utf8 import find_invalid_lines

    path = tmp_path / "traces.jsonl.gz"
    write_lines(path, [b'{"a": "\xff"}', b'{"b": "' + b"x" * 200 + b'"}'])

    # when / then
    with pytest.raises(ValueError, match=r"traces\.jsonl\.gz line 2: a line of 209 bytes exceeds the 100-byte limit"):
        find_invalid_lines([path], max_line_bytes=100)
    assert [(line.line_number, line.offset) for line in find_invalid_lines([path], max_line_bytes=1000)] == [(1, 7)]


def test_a_span_older_than_the_lookback_is_quarantined_by_its_files_day(tmp_path: Path, conn) -> None:
    # given a file dated the 22nd holding a span of the 20th: with a lookback of 1 day, the load
    # of the 20th reads files up to the 21st, so no load of the 20th ever sees it
    traces = tmp_path / "traces"
    on_22nd = span(2, start_ns=T0 + 2 * DAY_NS, end_ns=T0 + 2 * DAY_NS + 9)
    write_lines(traces / "2026-11-22" / "traces.jsonl", [traces_data([span(1), on_22nd])])
    day_22 = date(2026, 11, 22)

    # when the 22nd is loaded, twice
    load_traces(conn, traces, day_22, day_22)
    spans, _ = load_traces(conn, traces, day_22, day_22)

    # then the 22nd's span loads and the old one is quarantined under the 22nd, once
    assert (spans.received, spans.loaded, spans.quarantined) == (2, 1, 1)
    rows = conn.execute("select _partition_date, _line_number, reason from raw.quarantine").fetchall()
    assert rows == [
        (
            day_22, 1,
            "span older than the trace lookback (starts 2026-11-20, more than 1 day(s) before its file's date "
            "2026-11-22, so no load of that day reads it: raise AGENTLEDGER_TRACE_LOOKBACK_DAYS to load such spans)",
        )
    ]
    assert spans.reasons == {"span older than the trace lookback": 1}

    # when the 21st (which reads the 22nd's file for late spans) and the whole range are loaded
    day_21, _ = load_traces(conn, traces, date(2026, 11, 21), date(2026, 11, 21))
    whole, _ = load_traces(conn, traces, DAY, day_22)

    # then the old span is never loaded, and stays quarantined once, whichever window read it
    assert (day_21.received, day_21.loaded, day_21.quarantined) == (0, 0, 0)
    assert (whole.received, whole.loaded, whole.quarantined) == (2, 1, 1)
    assert count(conn, "select count(*) from raw.quarantine") == 1
    assert conn.execute("select span_id from raw.otel_spans").fetchall() == [(f"{2:016x}",)]


def test_spans_and_their_quarantine_are_stamped_in_utc_whatever_the_session_time_zone(tmp_path: Path, conn) -> None:
    # given a session in New York time, one good span and one quarantined line
    conn.execute("set TimeZone = 'America/New_York'")
    traces = tmp_path / "traces"
    write_lines(traces / "2026-11-20" / "traces.jsonl", [traces_data([span(1)]), b"[1, 2, 3]"])

    # when
    load_traces(conn, traces, DAY, DAY)

    # then both carry the UTC load time (New York's wall clock is 5 hours behind in November)
    now = datetime.now(UTC).replace(tzinfo=None)
    stamps = [row[0] for row in conn.execute(
        "select _extracted_at from raw.otel_spans union all "
        "select _extracted_at from raw.quarantine where entity = 'otel_spans'"
    ).fetchall()]
    assert len(stamps) == 2
    assert all(abs((stamp - now).total_seconds()) < 120 for stamp in stamps), (stamps, now)


def test_a_span_whose_token_count_is_not_a_whole_number_is_quarantined_naming_the_attribute(
    tmp_path: Path, conn
) -> None:
    # given spans whose usage says -50, "abc", 12.5, nothing or 10^20 for a token count, and good ones
    # (an intValue, a whole doubleValue, a count given as a string)
    values = {
        2: {"intValue": "-50"},
        3: {"stringValue": "abc"},
        4: {"doubleValue": 12.5},
        5: {},
        6: {"doubleValue": 242.0},
        7: {"stringValue": "17"},
        8: {"intValue": "99999999999999999999"},  # all digits, but beyond BIGINT: staging would read no tokens
    }
    document = traces_data([span(index) for index in range(1, 9)])
    spans_out = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    for index, value in values.items():
        spans_out[index - 1]["attributes"] = [
            {"key": "gen_ai.request.model", "value": {"stringValue": "claude-sonnet-4-5"}},
            {"key": "gen_ai.usage.output_tokens" if index == 3 else "gen_ai.usage.input_tokens", "value": value},
        ]
    traces = tmp_path / "traces"
    write_lines(traces / "2026-11-20.jsonl", [document])

    # when
    spans, _ = load_traces(conn, traces, DAY, DAY)

    # then the five are quarantined with the attribute and its value named, never loaded as 0 or < 0;
    # the counts add up and the good spans keep their values as sent
    assert (spans.received, spans.loaded, spans.quarantined) == (8, 3, 5)
    reasons = dict(conn.execute("select record_key, reason from raw.quarantine").fetchall())
    prefix = "token count is not a whole number from 0 to 9.2e18: "
    assert sorted(reasons.values()) == sorted([
        prefix + "gen_ai.usage.input_tokens (got -50)",
        prefix + "gen_ai.usage.output_tokens (got abc)",
        prefix + "gen_ai.usage.input_tokens (got 12.5)",
        prefix + "gen_ai.usage.input_tokens (got no value)",
        prefix + "gen_ai.usage.input_tokens (got 99999999999999999999)",
    ])
    loaded = {
        span_id: as_dict(attributes).get("gen_ai.usage.input_tokens")
        for span_id, attributes in conn.execute("select span_id, attributes from raw.otel_spans").fetchall()
    }
    assert loaded == {f"{1:016x}": "101", f"{6:016x}": "242.0", f"{7:016x}": "17"}


def test_the_loader_checks_every_token_count_attribute_staging_reads() -> None:
    # a usage key staging reads but the loader does not check would reach the marts as 0 when bad
    # (LangSmith's `gen_ai.usage.input_token_details` is a dict as text, its counts read by pattern)
    macro = (PROJECT_ROOT / "macros" / "otel_attributes.sql").read_text()
    staged = {key for key in re.findall(r"'([^']+)'", macro) if "token" in key.lower()}
    assert staged - {"gen_ai.usage.input_token_details"} == set(TOKEN_COUNT_ATTRIBUTES)
    # … and every count staging reads inside the Vercel AI SDK's provider metadata
    metadata_macro = (PROJECT_ROOT / "macros" / "vercel_ai_sdk.sql").read_text()
    by_part = re.search(r"vercel_provider_metadata_paths\(\).*?return\((\{.*?\})\)", metadata_macro, re.S).group(1)
    assert {part: tuple(paths) for part, paths in ast.literal_eval(by_part).items()} == PROVIDER_METADATA_PATHS_BY_PART
    assert set(re.findall(r"'(ai\.\w+\.do\w+)'", metadata_macro)) == set(VERCEL_TEXT_CALL_OPERATIONS)
    # … and every key staging reads a cache write's total from, which the 1-hour part is checked against
    staging = (PROJECT_ROOT / "models" / "staging" / "otel" / "stg_otel__span_fields.sql").read_text()
    write_total = staging[: staging.index("as reported_cache_write_tokens")].rsplit("try_cast(coalesce(", 1)[1]
    assert re.findall(r"attributes\['([^']+)'\]", write_total) == [
        *CACHE_WRITE_TOTAL_ATTRIBUTES, "gen_ai.usage.input_token_details"
    ]


def test_a_bad_token_count_in_the_vercel_provider_metadata_is_quarantined_and_null_or_no_json_is_not(
    tmp_path: Path, conn
) -> None:
    # given Vercel AI SDK text calls whose provider metadata gives a cache write of -5, of 12.5, of
    # "abc", of null (not reported), none at all, a 1 h split of 300, or text that is not JSON (cut
    # short), and an object call whose metadata staging does not read (with a count of -5)
    metadata = {
        2: {"anthropic": {"cacheCreationInputTokens": -5}, "openai": {"logprobs": [{"token": "secret"}]}},
        3: {"bedrock": {"usage": {"cacheReadInputTokens": 12.5}}},
        4: {"anthropic": {"usage": {"cache_creation": {"ephemeral_1h_input_tokens": "abc"}}}},
        5: {"anthropic": {"cacheCreationInputTokens": None, "usage": {"input_tokens": 12}}},
        6: {"google": {"usageMetadata": {"thoughtsTokenCount": 100}}},
        7: {"anthropic": {"usage": {"cache_creation": {"ephemeral_1h_input_tokens": 300}}},
            "google": {"groundingMetadata": {"webSearchQueries": ["secret"]}}},
        8: '{"anthropic":{"cacheCreationInputTokens":20',
        9: {"anthropic": {"cacheCreationInputTokens": -5, "cacheReadInputTokens": "secret"}},
    }
    document = traces_data([span(index) for index in range(1, 10)])
    spans_out = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    for index, value in metadata.items():
        spans_out[index - 1]["attributes"] = [
            {"key": "ai.operationId",
             "value": {"stringValue": "ai.generateObject.doGenerate" if index == 9 else "ai.streamText.doStream"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}},
            {"key": PROVIDER_METADATA_ATTRIBUTE,
             "value": {"stringValue": value if isinstance(value, str) else json.dumps(value)}},
        ]
    traces = tmp_path / "traces"
    write_lines(traces / "2026-11-20.jsonl", [document])

    # when
    spans, _ = load_traces(conn, traces, DAY, DAY)

    # then the three bad counts are quarantined, each named by its path and value; the rest load
    assert (spans.received, spans.loaded, spans.quarantined) == (9, 6, 3)
    reasons = sorted(row[0] for row in conn.execute("select reason from raw.quarantine").fetchall())
    prefix = f"token count is not a whole number from 0 to 9.2e18: {PROVIDER_METADATA_ATTRIBUTE} "
    assert reasons == sorted([
        prefix + "$.anthropic.cacheCreationInputTokens (got -5)",
        prefix + "$.bedrock.usage.cacheReadInputTokens (got 12.5)",
        # text where a count is due could be anything: it is withheld, even from the reason
        prefix + "$.anthropic.usage.cache_creation.ephemeral_1h_input_tokens (got [withheld: not a number])",
    ])
    assert count(conn, "select count(*) from raw.otel_spans") == 6
    # the provider metadata is stored, and shown in the quarantine, cut to its token counts
    assert "secret" not in str(conn.execute("select * from raw.quarantine").fetchall())
    assert "secret" not in str(conn.execute("select * from raw.otel_spans").fetchall())
    stored = conn.execute(
        f"select attributes ->> '$.\"{PROVIDER_METADATA_ATTRIBUTE}\"' from raw.otel_spans where span_id = '{7:016x}'"
    ).fetchone()[0]
    assert json.loads(stored)["anthropic"]["usage"]["cache_creation"]["ephemeral_1h_input_tokens"] == 300
    assert "-5" in conn.execute("select raw_record from raw.quarantine where reason like '%-5%'").fetchone()[0]
    # an object call's metadata is not checked (staging does not read it), but it is cut all the same
    stored = conn.execute(
        f"select attributes ->> '$.\"{PROVIDER_METADATA_ATTRIBUTE}\"' from raw.otel_spans where span_id = '{9:016x}'"
    ).fetchone()[0]
    assert json.loads(stored)["anthropic"] == {
        "cacheCreationInputTokens": -5, "cacheReadInputTokens": NOT_A_COUNT,
        "usage": {"cache_creation": {"ephemeral_5m_input_tokens": None, "ephemeral_1h_input_tokens": None}},
    }


def test_a_cache_write_total_below_its_one_hour_part_is_quarantined_naming_both(tmp_path: Path, conn) -> None:
    # given cache writes split by duration: a total of 300 with a 1-hour part of 500 (in semconv's
    # names, in LangSmith's details, in the Vercel AI SDK's provider metadata of a text call), and
    # good ones: a total of 800 with that part, and the part alone
    one_hour = {"key": "gen_ai.usage.cache_creation.ephemeral_1h_input_tokens", "value": {"intValue": "500"}}
    metadata = {"anthropic": {"cacheCreationInputTokens": 300, "usage": {"cache_creation": {
        "ephemeral_1h_input_tokens": 500}}}}
    attributes = {
        1: [{"key": "gen_ai.usage.cache_creation.input_tokens", "value": {"intValue": "300"}}, one_hour],
        2: [{"key": "gen_ai.usage.input_token_details", "value": {"stringValue": "{'cache_creation': 300}"}}, one_hour],
        3: [{"key": "ai.operationId", "value": {"stringValue": "ai.streamText.doStream"}},
            {"key": PROVIDER_METADATA_ATTRIBUTE, "value": {"stringValue": json.dumps(metadata)}}],
        4: [{"key": "gen_ai.usage.cache_creation.input_tokens", "value": {"intValue": "800"}}, one_hour],
        5: [one_hour],
    }
    document = traces_data([span(index) for index in attributes])
    for index, listed in attributes.items():
        document["resourceSpans"][0]["scopeSpans"][0]["spans"][index - 1]["attributes"] = listed
    traces = tmp_path / "traces"
    write_lines(traces / "2026-11-20.jsonl", [document])

    # when
    spans, _ = load_traces(conn, traces, DAY, DAY)

    # then the three are quarantined, naming the part and the total; the good two load
    assert (spans.received, spans.loaded, spans.quarantined) == (5, 2, 3)
    prefix = "cache write total is less than its 1-hour part (500): "
    assert sorted(row[0] for row in conn.execute("select reason from raw.quarantine").fetchall()) == sorted([
        prefix + "gen_ai.usage.cache_creation.input_tokens 300",
        prefix + "gen_ai.usage.input_token_details cache_creation 300",
        prefix + f"{PROVIDER_METADATA_ATTRIBUTE} $.anthropic.cacheCreationInputTokens 300",
    ])


@pytest.mark.parametrize(
    "record",
    [
        # an OTLP attribute list, with a field beside key and value that holds content
        [{"key": PROVIDER_METADATA_ATTRIBUTE, "value": {"stringValue": "METADATA"}, "gen_ai.prompt": "secret"}],
        # a bare string where an AnyValue is due, in a list and as one pair where a list is due
        [{"key": PROVIDER_METADATA_ATTRIBUTE, "value": "METADATA"}],
        {"key": PROVIDER_METADATA_ATTRIBUTE, "value": "METADATA"},
        # ConsoleSpanExporter's plain object, and a nested key-value list
        {"attributes": {PROVIDER_METADATA_ATTRIBUTE: "METADATA"}},
        {"kvlistValue": {"values": [{"key": PROVIDER_METADATA_ATTRIBUTE, "value": {"stringValue": "METADATA"}}]}},
    ],
)
def test_a_quarantined_record_shows_the_provider_metadata_cut_to_its_counts_in_any_form(record: object) -> None:
    # given provider metadata holding completion text, a count, and text where a count is due
    metadata = json.dumps({
        "openai": {"logprobs": [{"token": "secret"}]},
        "anthropic": {"cacheCreationInputTokens": 2000, "cacheReadInputTokens": "secret"},
    })
    text = json.dumps(record).replace('"METADATA"', json.dumps(metadata))

    # when it is withheld as a quarantined record is
    shown = withhold_content_json(text)

    # then no text of it is left, and the count is
    assert "secret" not in shown
    assert "2000" in shown and NOT_A_COUNT in shown.replace("\\", "")


def test_a_time_that_is_unset_or_not_in_nanoseconds_is_quarantined_under_the_files_day_not_lost(
    tmp_path: Path, conn
) -> None:
    # given, in an undated file read for the 20th: spans starting at 0 (unset), -1 and a time in
    # milliseconds, a good span with an evaluation event at time 0, and an evaluation log record
    # whose time is unset but whose observed time is the 20th
    document = traces_data([
        span(1, events=[SpanEvent("gen_ai.evaluation.result", 0, {"gen_ai.evaluation.name": "relevance"})]),
        span(2), span(3), span(4),
    ])
    spans_out = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    for index, start in ((1, "0"), (2, "-1"), (3, str(T0 // 10**6))):
        spans_out[index]["startTimeUnixNano"] = start
    log = logs_data([LogRecord(T0, "gen_ai.evaluation.result", {"gen_ai.evaluation.name": "task_completion"},
                               trace_id="a" * 32)])
    log["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["timeUnixNano"] = "0"
    traces = tmp_path / "traces"
    write_lines(traces / "live.jsonl", [document, log])

    # when
    spans, evaluations = load_traces(conn, traces, DAY, DAY)

    # then nothing waits for 1970: the three spans and the event are quarantined under the 20th, naming
    # the time, and the log record takes its observed time
    assert (spans.received, spans.loaded, spans.quarantined) == (4, 1, 3)
    assert spans.extra["spans_of_other_days"] == 0
    reasons = [row[0] for row in conn.execute(
        "select reason from raw.quarantine where entity = 'otel_spans' and _partition_date = ? order by 1", [DAY]
    ).fetchall()]
    assert len(reasons) == 3
    assert all(reason.startswith("start_time_unix_nano: greater_than_or_equal_to(") for reason in reasons)
    assert (evaluations.received, evaluations.loaded, evaluations.quarantined) == (2, 1, 1)
    assert conn.execute("select evaluation_name, time_unix_nano from raw.otel_eval_events").fetchall() == [
        ("task_completion", T0)
    ]
    assert "time_unix_nano: greater_than_or_equal_to(" in conn.execute(
        "select reason from raw.quarantine where entity = 'otel_eval_events'"
    ).fetchone()[0]


def test_a_span_starting_the_day_after_its_files_date_is_loaded_by_its_own_day(tmp_path: Path, conn) -> None:
    # given a file named in local time west of UTC (rotated 20:00 on the 20th in New York, 01:00 UTC
    # on the 21st) holding a span of the 20th and one of the 21st, and one starting two days later
    on_21st = T0 + DAY_NS
    traces = tmp_path / "traces"
    write_lines(
        traces / "traces-2026-11-20T20-00-00.000.jsonl",
        [traces_data([span(1), span(2, start_ns=on_21st, end_ns=on_21st + 9),
                      span(3, start_ns=T0 + 2 * DAY_NS, end_ns=T0 + 2 * DAY_NS + 9)])],
    )

    # when each day from the 20th to the 22nd is loaded, the 20th twice
    reports = {day: load_traces(conn, traces, date(2026, 11, day), date(2026, 11, day))[0] for day in (20, 21, 22)}
    load_traces(conn, traces, DAY, DAY)

    # then each span lands once: the 21st's in its own day, the one no load reads quarantined under the file's day
    assert [(reports[day].loaded, reports[day].quarantined) for day in (20, 21, 22)] == [(1, 1), (1, 0), (0, 0)]
    assert conn.execute("select span_id, _partition_date from raw.otel_spans order by 1").fetchall() == [
        (f"{1:016x}", DAY), (f"{2:016x}", date(2026, 11, 21)),
    ]
    assert conn.execute("select _partition_date, reason from raw.quarantine").fetchall() == [
        (
            DAY,
            "span starts after its file's date (starts 2026-11-22, more than 1 day(s) after the date 2026-11-20 its "
            "file is named by, so no load of that day reads it: date files by the UTC day their spans start, or a "
            "later one)",
        )
    ]


def test_a_span_whose_attributes_are_not_a_list_is_quarantined_and_one_without_any_is_loaded(
    tmp_path: Path, conn
) -> None:
    # given a span whose attributes come as a flat object (every attribute would be lost), one whose
    # resource attributes do, one with no attributes at all, and one with a list left empty
    flat = with_field(traces_data([span(1)]), attributes={"gen_ai.usage.input_tokens": 1000})
    flat_resource = traces_data([span(2)])
    flat_resource["resourceSpans"][0]["resource"]["attributes"] = {"service.name": "agent"}
    bare = traces_data([span(3), span(4)])
    del bare["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"]
    bare["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["attributes"] = []
    traces = tmp_path / "traces"
    write_lines(traces / "2026-11-20.jsonl", [flat, flat_resource, bare])

    # when
    spans, _ = load_traces(conn, traces, DAY, DAY)

    # then
    assert (spans.received, spans.loaded, spans.quarantined) == (4, 2, 2)
    assert conn.execute("select span_id, attributes from raw.otel_spans order by 1").fetchall() == [
        (f"{3:016x}", "{}"), (f"{4:016x}", "{}"),
    ]
    assert conn.execute("select _line_number, reason from raw.quarantine order by 1").fetchall() == [
        (1, 'span attributes are a JSON object, not a list of {"key", "value"} pairs (OTLP/JSON): every attribute '
            "would be lost"),
        (2, 'resource attributes are a JSON object, not a list of {"key", "value"} pairs (OTLP/JSON): every '
            "attribute would be lost"),
    ]


def test_a_span_without_a_name_is_loaded_with_an_empty_one(tmp_path: Path, conn) -> None:
    # proto3 JSON leaves an empty string out, so an unnamed span arrives without "name"
    document = traces_data([span(1)])
    del document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"]
    traces = tmp_path / "traces"
    write_lines(traces / "2026-11-20.jsonl", [document])

    spans, _ = load_traces(conn, traces, DAY, DAY)

    assert (spans.loaded, spans.quarantined) == (1, 0)
    assert conn.execute("select name from raw.otel_spans").fetchone()[0] == ""


def test_a_line_whose_spans_are_in_a_form_the_loader_cannot_read_is_quarantined_not_dropped(
    tmp_path: Path, conn
) -> None:
    # given lines whose spans sit where the loader does not read them: the OTLP of before 0.15
    # (instrumentationLibrarySpans), a scopeSpans that is one object, a spans that is one object;
    # and a resource with no scopes at all (proto3 JSON leaves an empty list out), which holds nothing
    good = traces_data([span(1)])
    resource = good["resourceSpans"][0]
    scope = resource["scopeSpans"][0]
    old_format = {"resourceSpans": [{"resource": resource["resource"], "instrumentationLibrarySpans": [scope]}]}
    scope_object = {"resourceSpans": [{**resource, "scopeSpans": scope}]}
    spans_object = {"resourceSpans": [{**resource, "scopeSpans": [{**scope, "spans": scope["spans"][0]}]}]}
    empty = {"resourceSpans": [{"resource": resource["resource"]}]}
    # and empty lists written as null (proto3 JSON reads null as empty), or empty in both forms
    null_spans = {**resource, "scopeSpans": [{**scope, "spans": None}]}
    nulls = {"resourceSpans": [{**resource, "scopeSpans": None}, null_spans]}
    both_empty = {"resourceSpans": [{**resource, "scopeSpans": [], "instrumentationLibrarySpans": []}]}
    traces = tmp_path / "traces"
    write_lines(traces / "2026-11-20.jsonl", [good, old_format, scope_object, spans_object, empty, nulls, both_empty])

    # when
    spans, _ = load_traces(conn, traces, DAY, DAY)

    # then each unreadable line is quarantined with its reason, and the counts add up
    assert (spans.received, spans.loaded, spans.quarantined) == (4, 1, 3)
    assert conn.execute("select _line_number, reason from raw.quarantine order by 1").fetchall() == [
        (2, "instrumentationLibrarySpans in place of scopeSpans: OTLP/JSON from before OTLP 0.15 is not read; "
            "export with a current Collector or SDK"),
        (3, "scopeSpans is not a list of ScopeSpans"),
        (4, "spans is not a list of Spans"),
    ]


def test_parts_of_a_line_the_loader_cannot_read_are_quarantined_beside_the_spans_it_loaded(
    tmp_path: Path, conn
) -> None:
    # given readable spans sharing their lines with spans the line type reads as none: a second
    # resource in the OTLP of before 0.15, a second resource whose scopeSpans is one object, one
    # whose scopes sit under a misspelt key, and a span whose events (an evaluation) are one object
    # instead of a list
    first = traces_data([span(1)])["resourceSpans"][0]
    old = traces_data([span(2, trace="b")])["resourceSpans"][0]
    old_resource = {"resource": old["resource"], "instrumentationLibrarySpans": old["scopeSpans"]}
    object_scope = traces_data([span(3, trace="c")])["resourceSpans"][0]
    object_scope["scopeSpans"] = object_scope["scopeSpans"][0]
    snake_case = traces_data([span(6, trace="e")])["resourceSpans"][0]
    snake_case["scope_spans"] = snake_case.pop("scopeSpans")
    evaluation = SpanEvent("gen_ai.evaluation.result", T0 + 5, {"gen_ai.evaluation.name": "task_completion"})
    events_object = traces_data([span(4, trace="d"), span(5, trace="d", events=[evaluation])])
    evaluated = events_object["resourceSpans"][0]["scopeSpans"][0]["spans"][1]
    evaluated["events"] = evaluated["events"][0]
    traces = tmp_path / "traces"
    write_lines(
        traces / "2026-11-20.jsonl",
        [
            {"resourceSpans": [first, old_resource]},
            {"resourceSpans": [object_scope, first]},
            events_object,
            {"resourceSpans": [traces_data([span(7, trace="e")])["resourceSpans"][0], snake_case]},
        ],
    )

    # when
    spans, evaluations = load_traces(conn, traces, DAY, DAY)

    # then the readable spans load, and each part that cannot be read is quarantined with its reason
    assert conn.execute("select span_id from raw.otel_spans order by 1").fetchall() == [
        (f"{1:016x}",), (f"{4:016x}",), (f"{7:016x}",)
    ]
    assert conn.execute("select _line_number, reason from raw.quarantine order by 1, 2").fetchall() == [
        (1, "instrumentationLibrarySpans in place of scopeSpans: OTLP/JSON from before OTLP 0.15 is not read; "
            "export with a current Collector or SDK (in part of the line: its other spans were read)"),
        (2, f"duplicate export of span {1:016x} (first seen in {traces / '2026-11-20.jsonl'} line 1)"),
        (2, "scopeSpans is not a list of ScopeSpans (in part of the line: its other spans were read)"),
        (3, "span events are a JSON object, not a list of Events (OTLP/JSON): its evaluations would be lost"),
        (4, "spans under a resource key other than scopeSpans (OTLP/JSON names it scopeSpans) "
            "(in part of the line: its other spans were read)"),
    ]
    assert (spans.received, spans.loaded, spans.quarantined) == (8, 3, 5)
    assert (evaluations.loaded, evaluations.quarantined) == (0, 0)


def test_spans_a_rotated_file_holds_that_the_active_file_loaded_before_are_not_quarantined_again(
    tmp_path: Path, conn
) -> None:
    # given the Collector's undated active file, read every night, holding a span of the 20th
    traces = tmp_path / "traces"
    active = traces / "traces.jsonl"
    write_lines(active, [traces_data([span(1)])])
    assert load_traces(conn, traces, DAY, DAY)[0].loaded == 1

    # when it fills slowly, takes a span of the 24th and is rotated by size on the 25th, named by
    # the time of rotation, and the 25th is loaded (a lookback of 1 day)
    on_24th = span(2, start_ns=T0 + 4 * DAY_NS, end_ns=T0 + 4 * DAY_NS + 9)
    active.unlink()
    write_lines(traces / "traces-2026-11-25T02-00-00.000.jsonl", [traces_data([span(1), on_24th])])
    write_lines(active, [])
    spans, _ = load_traces(conn, traces, date(2026, 11, 25), date(2026, 11, 25))

    # then the span of the 20th, which its own day already holds, is neither quarantined nor loaded again
    assert (spans.received, spans.loaded, spans.quarantined) == (0, 0, 0)
    assert count(conn, "select count(*) from raw.quarantine") == 0
    assert conn.execute("select _partition_date, span_id from raw.otel_spans").fetchall() == [(DAY, f"{1:016x}")]

    # and a span older than the lookback that no load holds is still quarantined under the file's day
    write_lines(traces / "traces-2026-11-26T02-00-00.000.jsonl", [traces_data([span(3)])])
    spans, _ = load_traces(conn, traces, date(2026, 11, 26), date(2026, 11, 26))
    assert (spans.received, spans.loaded, spans.quarantined) == (1, 0, 1)


def test_an_undated_files_spans_no_run_loads_are_named_and_its_bad_span_quarantined_once(
    tmp_path: Path, conn
) -> None:
    # given the Collector's undated active file, copied in late: a span of 11-18 (before the window,
    # which the warehouse lacks), one of 11-18 it holds already, two of 11-20, one dated 2099, and
    # one whose start time is 0
    traces = tmp_path / "traces"
    held = traces / "2026" / "11" / "18" / "agent.jsonl"
    write_lines(held, [traces_data([span(7, trace="b", start_ns=T0 - 2 * DAY_NS, end_ns=T0 - 2 * DAY_NS + 9)])])
    load_traces(conn, traces, date(2026, 11, 18), date(2026, 11, 18))
    held.unlink()
    far = unix_nanos(datetime(2099, 11, 20, 10, 0, tzinfo=UTC))
    write_lines(traces / "active.jsonl", [traces_data([
        span(1, trace="b", start_ns=T0 - 2 * DAY_NS, end_ns=T0 - 2 * DAY_NS + 9),
        span(7, trace="b", start_ns=T0 - 2 * DAY_NS, end_ns=T0 - 2 * DAY_NS + 9),
        span(2), span(3),
        span(4, start_ns=far, end_ns=far + 9),
        span(5, start_ns=0, end_ns=9),
    ])])
    messages: list[str] = []

    # when 11-20 runs, then 11-21
    spans, _ = load_traces(conn, traces, DAY, DAY, progress=messages.append)
    load_traces(conn, traces, date(2026, 11, 21), date(2026, 11, 21))

    # then the window's spans load, and the night names the 11-18 span nobody loaded and the 2099 one
    assert spans.loaded == 2
    assert (spans.extra["undated_spans_not_loaded"], spans.extra["undated_spans_dated_ahead"]) == (1, 1)
    named = [m for m in messages if m.startswith(str(traces / "active.jsonl"))]
    assert len(named) == 2
    assert "1 span(s) of 2026-11-18, before this run's days, that the warehouse does not hold" in named[0]
    assert "backfill --start 2026-11-18 --end 2026-11-18" in named[0]
    assert "1 span(s) dated 2099-11-20, more than the trace lookback" in named[1]
    # and the bad span is quarantined once, under the last night that read it, not once per night
    assert conn.execute(
        "select _partition_date, record_key from raw.quarantine where _source_file like '%active.jsonl'"
    ).fetchall() == [(date(2026, 11, 21), "1/1/6")]
