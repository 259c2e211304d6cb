"""A nightly run loads the spans of the day before it again: spans exported late are not lost."""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from orchestration.demo.otlp import Span, traces_data, unix_nanos, write_lines
from orchestration.marts import DBT_LOOKBACK_DAYS
from orchestration.sources.otel.assets import check_trace_lookback, otel_traces


def span(index: int, started: datetime) -> Span:
    start = unix_nanos(started)
    return Span(
        trace_id="b" * 32, span_id=f"{index:016x}", name="chat gpt-5-mini", start_ns=start, end_ns=start + 500,
        kind=3, attributes={"gen_ai.usage.input_tokens": 100},
    )


def test_a_span_exported_after_its_days_run_is_loaded_by_the_next_nightly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the 1st's file, loaded by the 1st's nightly run
    traces = tmp_path / "traces"
    (tmp_path / "labels").mkdir()
    monkeypatch.setenv("AGENTLEDGER_HOME", str(tmp_path))
    resources = {"duckdb": DuckDBResource(database=str(tmp_path / "warehouse.duckdb"))}
    first_day = [span(1, datetime(2026, 12, 1, 10, tzinfo=UTC))]
    write_lines(traces / "2026" / "12" / "01" / "a.jsonl", [traces_data(first_day)])
    assert dg.materialize([otel_traces], partition_key="2026-12-01", resources=resources).success

    # when the 2nd's file arrives holding a span that started at 23:50 on the 1st (exported after
    # midnight), and the 2nd's nightly run loads it
    write_lines(
        traces / "2026" / "12" / "02" / "b.jsonl",
        [traces_data([span(2, datetime(2026, 12, 1, 23, 50, tzinfo=UTC)),
                      span(3, datetime(2026, 12, 2, 1, tzinfo=UTC))])],
    )
    assert dg.materialize([otel_traces], partition_key="2026-12-02", resources=resources).success

    # then the late span is in its own day, beside the one loaded the night before, and nothing twice
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.execute("select _partition_date::varchar, span_id from raw.otel_spans order by 2").fetchall()
    assert rows == [
        ("2026-12-01", "0000000000000001"), ("2026-12-01", "0000000000000002"), ("2026-12-02", "0000000000000003"),
    ]


def test_a_trace_lookback_beyond_dbts_is_refused_naming_both_settings() -> None:
    # spans reloaded into days dbt does not rebuild would never reach the marts
    check_trace_lookback(DBT_LOOKBACK_DAYS)
    with pytest.raises(ValueError, match=r"AGENTLEDGER_TRACE_LOOKBACK_DAYS is 4, .*\(`lookback_days` in dbt_project"):
        check_trace_lookback(DBT_LOOKBACK_DAYS + 1)
