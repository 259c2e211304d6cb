"""Load a window of trace and log files into `raw.otel_spans` and `raw.otel_eval_events`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb

from orchestration.loading import LoadReport, PartitionWriter, RawTable
from orchestration.partitions import days_between
from orchestration.sources.otel import parse
from orchestration.sources.otel.client import TraceFile, discover_trace_files
from orchestration.sources.otel.schemas import EVAL_EVENT_COLUMNS, SPAN_COLUMNS, OtelEvalEventRaw, OtelSpanRaw

SPANS = RawTable(source="otel", name="otel_spans", columns=SPAN_COLUMNS, model=OtelSpanRaw)
EVAL_EVENTS = RawTable(source="otel", name="otel_eval_events", columns=EVAL_EVENT_COLUMNS, model=OtelEvalEventRaw)


def chunk_by_day(files: list[TraceFile], last: date) -> list[tuple[str, list[Path]]]:
    """Files grouped by the day they are dated (undated ones under the load's last day).

    One chunk is parsed per DuckDB statement, so memory follows one day of files, not the range.
    """
    grouped: dict[date, list[Path]] = defaultdict(list)
    for trace_file in files:
        grouped[trace_file.day or last].append(trace_file.path)
    return [(day.isoformat(), paths) for day, paths in sorted(grouped.items())]


def load_traces(
    conn: duckdb.DuckDBPyConnection,
    traces_dir: Path,
    first: date,
    last: date,
    *,
    keep_content: bool = False,
    lookback_days: int = 1,
    progress: Callable[[str], None] = lambda message: None,
) -> tuple[LoadReport, LoadReport]:
    """Parse the files that can hold spans of `first..last` and replace those days' rows.

    Each day's files are parsed, validated and their spans set aside in `raw._loading_otel_spans`
    before the next day is read, so memory follows a day of spans, not the window (a window-sized
    candidate table spilled past DuckDB's limit in a 10M-span backfill); then one transaction
    replaces the window's rows. A failure anywhere leaves the raw tables as they were.

    Returns:
        The span report and the evaluation-event report (received, loaded, quarantined, reasons).
    """
    files = discover_trace_files(traces_dir, first, last, lookback_days)
    chunks = chunk_by_day(files, last)
    progress(f"{len(files)} trace/log files for {first}..{last} in {len(chunks)} chunks")
    totals = {"lines": 0, "bad_lines": 0, "other_log_records": 0, "duplicates": 0, "other_days": 0}
    days = days_between(first, last)
    parse.create_macros(conn, keep_content=keep_content)
    parse.create_staging_tables(conn)
    spans = PartitionWriter(conn, SPANS, days, buffered=True)
    evaluations = PartitionWriter(conn, EVAL_EVENTS, days)
    in_window = f"_partition_date between date '{first}' and date '{last}'"
    # Each day's set-aside spans are one commit; at DuckDB's default threshold (16 MB of WAL)
    # nearly every one also checkpointed the file, ~40% of the write. One checkpoint at the end.
    threshold = conn.execute("select current_setting('checkpoint_threshold')").fetchone()[0]
    conn.execute("set checkpoint_threshold = '64GB'")
    try:
        for number, (day, paths) in enumerate(chunks, start=1):
            for key, value in parse.stage_files(conn, paths, fallback_day=day).items():
                totals[key] += value
            totals["duplicates"] += parse.mark_duplicate_spans(conn, spans.target, first, last)
            totals["other_days"] += conn.execute(
                f"select count(*) from _otel_span_candidates where not ({in_window})"
            ).fetchone()[0]
            parse.stage_span_events(conn)
            spans.write("_otel_span_candidates", raw_records=parse.fill_raw_spans)
            conn.execute("delete from _otel_span_candidates")
            if number % 10 == 0 or number == len(chunks):
                progress(f"loaded {number}/{len(chunks)} chunks, {totals['lines']} lines")
        # lines that never became spans, once for the window (a lookback file's belong to its day)
        conn.execute(f"delete from _otel_rejected_lines where not ({in_window})")
        spans.write("_otel_span_candidates", rejected_lines="_otel_rejected_lines")
        conn.execute("begin transaction")
        try:
            spans.publish()
            evaluations.clear()
            evaluations.write("_otel_eval_candidates")
            evaluations.publish()
            conn.execute("commit")
        except Exception:
            conn.execute("rollback")
            raise
    finally:
        conn.execute(f"drop table if exists {spans.target}")
        conn.execute(f"set checkpoint_threshold = '{threshold}'")
    spans_report, evaluations_report = spans.finish(), evaluations.finish()
    spans_report.extra.update(
        {
            "files": len(files),
            "lines": totals["lines"],
            "duplicate_exports": totals["duplicates"],
            "spans_of_other_days": totals["other_days"],
            "keep_content": keep_content,
        }
    )
    evaluations_report.extra["other_log_records_ignored"] = totals["other_log_records"]
    return spans_report, evaluations_report
