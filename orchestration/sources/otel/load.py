"""Load a window of trace and log files into `raw.otel_spans` and `raw.otel_eval_events`."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import duckdb

from orchestration.loading import (
    EXTRACTED_AT_SQL,
    LoadReport,
    PartitionWriter,
    RawTable,
    ensure_table,
    reason_family,
)
from orchestration.partitions import days_between
from orchestration.sources.otel import invalid_utf8, parse
from orchestration.sources.otel.client import TRACE_FILE_SUFFIXES, TraceFile, discover_trace_files
from orchestration.sources.otel.schemas import (
    EVAL_EVENT_COLUMNS,
    EVAL_EVENT_ROW_CHECKS_SQL,
    SPAN_COLUMNS,
    OtelEvalEventRaw,
    OtelSpanRaw,
)

SPANS = RawTable(source="otel", name="otel_spans", columns=SPAN_COLUMNS, model=OtelSpanRaw)
EVAL_EVENTS = RawTable(
    source="otel", name="otel_eval_events", columns=EVAL_EVENT_COLUMNS, model=OtelEvalEventRaw,
    sql_row_checks=EVAL_EVENT_ROW_CHECKS_SQL,
)
SET_ASIDE = "raw._loading_otel_spans"
# The trace source's rows of raw.quarantine, as the source dbt reads the runs' lost spans from
# (stg_otel__quarantined_spans): a view, so the quarantine stays the one table every source writes.
QUARANTINED_SPANS_VIEW = "raw.otel_quarantined_spans"
GZIP_MAGIC = b"\x1f\x8b"


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

    One transaction: each day's files are parsed straight into the set-aside table
    `raw._loading_otel_spans` (spans of every day the files hold, each with its reject reason),
    then duplicates are marked, the quarantine is written and the set-aside table replaces the
    window's rows of `raw.otel_spans` (it becomes the table when that holds nothing else). A
    failure anywhere, or counts that do not add up, rolls everything back. In memory: the line
    numbers and evaluation records (small), and the spans of a file dated just before or after
    the window (one day's, read for early and late spans); so memory follows a day of files, not
    the window.

    A span in a dated file that starts more than `lookback_days` before the file's date, or more
    than a day after it, is read by no load of its own day: it is quarantined under the file's day,
    whichever window is run, so a re-run replaces it like the day's other quarantine rows.

    A line that is not valid UTF-8 stops DuckDB's reader and aborts the transaction: the load is
    then rolled back, the files of that chunk and the later ones are scanned for such lines
    (`invalid_utf8`), and the load runs once more, skipping and quarantining them.

    Returns:
        The span report and the evaluation-event report (received, loaded, quarantined, reasons).
    """
    misnamed: list[Path] = []
    files = discover_trace_files(traces_dir, first, last, lookback_days, misnamed)
    chunks, not_gzip = _set_apart_files_not_gzip(chunk_by_day(files, last))
    progress(f"{len(files)} trace/log files for {first}..{last} in {len(chunks)} chunks")
    if misnamed:
        progress(
            f"{len(misnamed)} file(s) not read, their suffix not in lower case (trace files end in "
            f"{', '.join(TRACE_FILE_SUFFIXES)}), e.g. {misnamed[0]}: rename them to load them"
        )
    for _, path in not_gzip:
        progress(f"{path}: named .gz but not gzip-compressed: quarantined whole, the other files load")
    load = partial(
        _load, conn, files, chunks, first, last, keep_content=keep_content, lookback_days=lookback_days,
        progress=progress, not_gzip=not_gzip,
    )
    try:
        return load(invalid_lines=[])
    except parse.InvalidUtf8Error as error:
        later = [path for _, paths in chunks[error.chunk - 1 :] for path in paths]
        progress(f"{error}; rolled back: scanning the {len(later)} files from that chunk on for such lines")
        invalid_lines = invalid_utf8.find_invalid_lines(later, parse.MAX_LINE_BYTES, progress)
        if not invalid_lines:
            raise _cannot_skip(error) from None
        progress(f"{len(invalid_lines)} line(s) not UTF-8: loading again, quarantining them")
    try:
        return load(invalid_lines=invalid_lines)
    except parse.InvalidUtf8Error as error:
        raise _cannot_skip(error) from None


def _set_apart_files_not_gzip(
    chunks: list[tuple[str, list[Path]]],
) -> tuple[list[tuple[str, list[Path]]], list[tuple[str, Path]]]:
    """The chunks without their `.gz` files that are no gzip stream, and those files with their chunk's day.

    DuckDB's reader stops a whole chunk on one such file (a file named .gz that was never compressed, a
    zero-byte file a writer has just opened), and with it the day's every file. An empty one holds no
    line and is left out, as an empty `.jsonl` reads as none; any other is quarantined whole (`_load`).
    """
    kept: list[tuple[str, list[Path]]] = []
    not_gzip: list[tuple[str, Path]] = []
    for day, paths in chunks:
        readable = []
        for path in paths:
            if path.name.endswith(".gz"):
                with path.open("rb") as stream:
                    head = stream.read(len(GZIP_MAGIC))
                if head != GZIP_MAGIC:
                    if head:
                        not_gzip.append((day, path))
                    continue
            readable.append(path)
        if readable:
            kept.append((day, readable))
    return kept, not_gzip


def _quarantine_files_not_gzip(conn: duckdb.DuckDBPyConnection, not_gzip: list[tuple[str, Path]]) -> None:
    """Quarantine each file of `not_gzip` as one unreadable line (the gate's share counts it as such)."""
    if not not_gzip:
        return
    conn.executemany(
        "insert into _otel_rejected_lines values (?::date, ?, 1, 'line', ?, ?)",
        [
            (
                day, str(path), json.dumps({"withheld": "the file was not read", "bytes": path.stat().st_size}),
                "file is named .gz but is not gzip-compressed: none of it was read (compress it, or rename it "
                "without .gz, and run its day again)",
            )
            for day, path in not_gzip
        ],
    )


def _cannot_skip(error: parse.InvalidUtf8Error) -> ValueError:
    """DuckDB stopped on a line the scan for lines that are not UTF-8 passed: stop, losing nothing."""
    return ValueError(
        f"{error}, but the scan for such lines found it valid, so it cannot be skipped safely; the whole load "
        "stops so that no line is lost: repair or remove that line, or move the file aside, and load again"
    )


def _load(
    conn: duckdb.DuckDBPyConnection,
    files: list[TraceFile],
    chunks: list[tuple[str, list[Path]]],
    first: date,
    last: date,
    *,
    keep_content: bool,
    lookback_days: int,
    progress: Callable[[str], None],
    invalid_lines: list[invalid_utf8.InvalidLine],
    not_gzip: list[tuple[str, Path]],
) -> tuple[LoadReport, LoadReport]:
    days = days_between(first, last)
    in_window = f"_partition_date between date '{first}' and date '{last}'"
    parse.create_macros(conn, keep_content=keep_content)
    ensure_table(conn, SPANS)
    conn.execute(
        f"create view if not exists {QUARANTINED_SPANS_VIEW} as "
        f"select * from raw.quarantine where source = '{SPANS.source}' and entity = '{SPANS.name}'"
    )
    _migrate_attribute_maps(conn)
    # One checkpoint at the end, not one per ~16 MB of WAL.
    threshold = conn.execute("select current_setting('checkpoint_threshold')").fetchone()[0]
    conn.execute("set checkpoint_threshold = '64GB'")
    conn.execute("begin transaction")
    try:
        parse.create_work_tables(conn, SET_ASIDE)
        day_of_file = {path: day for day, paths in chunks for path in paths}
        invalid_utf8.quarantine_invalid_lines(conn, invalid_lines, day_of_file, keep_content)
        _quarantine_files_not_gzip(conn, not_gzip)
        lines, other_days = len(invalid_lines) + len(not_gzip), 0
        dated = {trace_file.path for trace_file in files if trace_file.day is not None}
        for number, (day, paths) in enumerate(chunks, start=1):
            dated_paths = [path for path in paths if path in dated]
            try:
                lines += parse.number_lines(conn, paths, number, day)
                if first <= date.fromisoformat(day) <= last:
                    parse.insert_spans(conn, SET_ASIDE, paths, number, day)
                    parse.mark_spans_no_load_reads(conn, SET_ASIDE, number, dated_paths, day, lookback_days)
                else:
                    other_days += _insert_neighbouring_spans(conn, paths, number, day, in_window, lookback_days)
            except duckdb.Error as error:
                # DuckDB's message can quote a line, prompt text and all: never pass it on as it is
                cleaned = parse.clean_read_error(error, paths)
                if isinstance(cleaned, parse.InvalidUtf8Error):
                    cleaned.chunk = number
                raise cleaned from None
            if number % 10 == 0 or number == len(chunks):
                progress(f"parsed {number}/{len(chunks)} chunks, {lines} lines")
        parse.check_absent_attributes(conn, SET_ASIDE)
        parse.number_duplicate_lines(conn, SET_ASIDE)
        duplicates = parse.mark_duplicate_spans(conn, SET_ASIDE)
        counts = parse.parse_spanless_lines(
            conn, parse.spanless_lines(conn, SET_ASIDE), [str(path) for path in dated], lookback_days
        )
        parse.stage_span_events(conn, SET_ASIDE, first, last)
        parse.rejected_spans(conn, SET_ASIDE, first, last)
        # lines that never became spans, once for the window (a lookback file's belong to its day)
        conn.execute(f"delete from _otel_rejected_lines where not ({in_window})")
        undated = [str(trace_file.path) for trace_file in files if trace_file.day is None]
        unloaded = _undated_spans_no_night_loads(conn, undated, first, last, lookback_days)
        spans_report = _publish_spans(conn, days, in_window)
        spans_report.extra["spans_of_other_days"] += other_days
        # evaluation records older than their file's lookback, kept under the file's day
        late_evaluations = conn.execute(
            "select count(*) from _otel_eval_candidates "
            f"where {in_window} and _partition_date > otlp_day(time_unix_nano)"
        ).fetchone()[0]
        evaluations = PartitionWriter(conn, EVAL_EVENTS, days)
        evaluations.clear()
        evaluations.write("_otel_eval_candidates")
        evaluations.publish()
        _check_counts(spans_report)
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise
    finally:
        conn.execute(f"set checkpoint_threshold = '{threshold}'")
    conn.execute("checkpoint")
    spans_report.extra.update(
        {
            "files": len(files),
            "lines": lines,
            "duplicate_exports": duplicates,
            "lines_not_utf8": len(invalid_lines),
            "keep_content": keep_content,
        }
    )
    spans_report.extra["undated_spans_not_loaded"] = sum(row[4] for row in unloaded if row[1] == "before")
    spans_report.extra["undated_spans_dated_ahead"] = sum(row[4] for row in unloaded if row[1] == "ahead")
    for path, side, earliest, latest, count in unloaded:
        days_named = f"{earliest}" if earliest == latest else f"{earliest}..{latest}"
        if side == "before":
            progress(
                f"{path}: {count} span(s) of {days_named}, before this run's days, that the warehouse does not "
                "hold: a file with no date in its path loads only the days of the runs that read it, so run "
                f"those days again to load them (agentledger backfill --start {earliest} --end {latest})"
            )
        else:
            progress(
                f"{path}: {count} span(s) dated {days_named}, more than the trace lookback and a day after this "
                "run's last day: they wait for a run of their day (a clock or a timestamp that is wrong?); check them"
            )
    evaluations_report = evaluations.finish()
    evaluations_report.extra["other_log_records_ignored"] = counts["other_log_records"]
    evaluations_report.extra["evaluations_under_file_day"] = late_evaluations
    return spans_report, evaluations_report


def _insert_neighbouring_spans(
    conn: duckdb.DuckDBPyConnection, paths: list[Path], number: int, day: str, in_window: str, lookback_days: int
) -> int:
    """Parse files dated just before or after the window, keep their spans of the window; return how many were not.

    Such files are read for the window's late spans (files dated after it) or early ones (the day
    before it) only: most of theirs belong to their own day. Their spans go to a temp table first,
    so the set-aside table never holds rows it would have to delete: deleted rows scattered
    through it made the checkpoint rewrite it (1.3 s for 1M spans). Their spans that no load of
    their own day reads belong to the files' own day's quarantine, not to this window, whichever
    window is run.
    """
    neighbouring = "_otel_neighbouring_spans"
    conn.execute(f"create or replace temp table {neighbouring} as select * from {SET_ASIDE} limit 0")
    parse.insert_spans(conn, neighbouring, paths, number, day)
    # every file here is dated `day` (undated ones are chunked under the window's last day)
    parse.mark_spans_no_load_reads(conn, neighbouring, number, paths, day, lookback_days)
    conn.execute(f"insert into {SET_ASIDE} select * from {neighbouring} where {in_window}")
    return conn.execute(f"select count(*) from {neighbouring} where not ({in_window})").fetchone()[0]


def _undated_spans_no_night_loads(
    conn: duckdb.DuckDBPyConnection, undated: list[str], first: date, last: date, lookback_days: int
) -> list[tuple[str, str, date, date, int]]:
    """Per file with no date in its path: its valid spans that no run is about to load, before or ahead of the window.

    Every night reads such a file (the Collector's active file) for its own days only. Its spans of
    earlier days reached the warehouse by those days' nights if the file was there then; the ones
    the warehouse lacks (the file was copied in later, or those nights failed) load only if their
    days run again. Its spans dated beyond the next nights' reach wait for their day in silence (a
    wrong clock, a mistyped time). Neither kind reaches raw.otel_spans or the quarantine here, so
    they are named (file, days, count). Rows: (file, 'before' or 'ahead', first day, last day, spans).
    """
    if not undated:
        return []
    return conn.execute(
        f"""
        select
            s._source_file,
            case when s._partition_date < ? then 'before' else 'ahead' end as side,
            min(s._partition_date),
            max(s._partition_date),
            count(*)
        from {SET_ASIDE} as s
        where
            s._source_file in (select unnest(?::varchar[]))
            and s._reject_reason is null
            and (
                s._partition_date > ?
                or (s._partition_date < ? and not exists (
                    select 1 from raw.otel_spans as r
                    where r._partition_date = s._partition_date and r.trace_id = s.trace_id and r.span_id = s.span_id
                ))
            )
        group by all
        order by 1, 2 desc
        """,
        [first, undated, last + timedelta(days=lookback_days + 1), first],
    ).fetchall()


def _publish_spans(conn: duckdb.DuckDBPyConnection, days: list[date], in_window: str) -> LoadReport:
    """Quarantine the window's rejects and put its valid spans in `raw.otel_spans` (in the open transaction)."""
    report = LoadReport(table=SPANS.qualified, partitions=days)
    for reason, count in conn.execute(
        "select reason, count(*) from _otel_rejected_spans group by 1 union all "
        "select reason, count(*) from _otel_rejected_lines group by 1"
    ).fetchall():
        report.reasons[reason_family(reason)] += count
        report.quarantined += count
    spans_in_window, other_days = conn.execute(
        f"select count(*) filter (where {in_window}), count(*) filter (where not ({in_window})) from {SET_ASIDE}"
    ).fetchone()
    report.received = spans_in_window + conn.execute("select count(*) from _otel_rejected_lines").fetchone()[0]
    report.extra["spans_of_other_days"] = other_days

    conn.execute(f"delete from raw.quarantine where entity = ? and {in_window}", [SPANS.name])
    # A line or span read again by a later run (an undated file) is quarantined once, not per run.
    conn.execute(
        """
        delete from raw.quarantine q where q.entity = ? and exists (
            select 1 from _otel_rejected_lines l
            where l._source_file = q._source_file and l._line_number = q._line_number
        )
        """,
        [SPANS.name],
    )
    conn.execute(
        """
        delete from raw.quarantine q where q.entity = ? and exists (
            select 1 from _otel_rejected_spans s
            where s._source_file = q._source_file and s._line_number = q._line_number
                and q.record_key = s._resource_index || '/' || s._scope_index || '/' || s._span_index
        )
        """,
        [SPANS.name],
    )
    conn.execute(
        f"""
        insert into raw.quarantine
        select ?, ?, _partition_date, _source_file, _line_number,
            _resource_index || '/' || _scope_index || '/' || _span_index, raw_record, reason, {EXTRACTED_AT_SQL}
        from _otel_rejected_spans
        union all
        select ?, ?, _partition_date, _source_file, _line_number, record_key, raw_record, reason, {EXTRACTED_AT_SQL}
        from _otel_rejected_lines
        """,
        [SPANS.source, SPANS.name] * 2,
    )

    if _raw_spans_outside(conn, in_window) == 0 and _has_declared_columns_only(conn):
        # The set-aside table becomes the raw table: copying 10M spans was a tenth of a backfill's load.
        conn.execute(f"delete from {SET_ASIDE} where _reject_reason is not null or not ({in_window})")
        for column in parse.LOADING_EXTRA_COLUMNS:
            conn.execute(f"alter table {SET_ASIDE} drop column {column}")
        for column, dtype in SPAN_COLUMNS.items():
            if dtype.endswith("not null"):
                conn.execute(f"alter table {SET_ASIDE} alter column {column} set not null")
        conn.execute(f"drop table {SPANS.qualified}")
        conn.execute(f"alter table {SET_ASIDE} rename to {SPANS.name}")
    else:
        columns = ", ".join(SPAN_COLUMNS)
        conn.execute(f"delete from {SPANS.qualified} where {in_window}")
        conn.execute(
            f"insert into {SPANS.qualified} ({columns}) select {columns} from {SET_ASIDE} "
            f"where _reject_reason is null and {in_window}"
        )
        conn.execute(f"drop table {SET_ASIDE}")
    report.loaded = conn.execute(f"select count(*) from {SPANS.qualified} where {in_window}").fetchone()[0]
    return report


def _raw_spans_outside(conn: duckdb.DuckDBPyConnection, in_window: str) -> int:
    """Rows of `raw.otel_spans` the load does not replace (0: the set-aside table can become it)."""
    return conn.execute(
        f"select count(*) from {SPANS.qualified} where coalesce(not ({in_window}), true)"
    ).fetchone()[0]


def _has_declared_columns_only(conn: duckdb.DuckDBPyConnection) -> bool:
    """Whether replacing `raw.otel_spans` by the set-aside table loses no column of it."""
    existing = {
        (name, dtype.upper())
        for name, dtype in conn.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = ?",
            [SPANS.name],
        ).fetchall()
    }
    declared = {
        (name, dtype.upper())
        for name, dtype in conn.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = ? and column_name not in ?",
            [SET_ASIDE.removeprefix("raw."), list(parse.LOADING_EXTRA_COLUMNS)],
        ).fetchall()
    }
    return existing == declared


def _check_counts(report: LoadReport) -> None:
    """Nothing may be dropped silently: loaded + quarantined = received."""
    if report.loaded + report.quarantined != report.received:
        raise RuntimeError(
            f"{report.table}: loaded {report.loaded} + quarantined {report.quarantined} "
            f"!= received {report.received}; nothing may be dropped silently"
        )


def _migrate_attribute_maps(conn: duckdb.DuckDBPyConnection) -> None:
    """Warehouses written before attributes became JSON text held them as MAPs: convert in place.

    A MAP's `to_json` is exactly the object the loader now writes (`{"key": "value", …}`).
    """
    for table, column in (
        ("otel_spans", "attributes"), ("otel_spans", "resource_attributes"), ("otel_spans", "events"),
        ("otel_eval_events", "attributes"),
    ):
        row = conn.execute(
            "select data_type from information_schema.columns where table_schema = 'raw' and table_name = ? "
            "and column_name = ?",
            [table, column],
        ).fetchone()
        if row is None or "MAP(" not in row[0]:
            continue
        if column == "events":
            # ALTER … USING does not bind a lambda's fields: a new column, filled, takes the old one's place
            conn.execute(f"alter table raw.{table} add column _events {SPAN_COLUMNS['events']}")
            conn.execute(
                f"update raw.{table} set _events = list_transform(events, lambda e: {{"
                "'time_unix_nano': e.time_unix_nano, 'name': e.name, 'attributes': to_json(e.attributes)::varchar})"
            )
            conn.execute(f"alter table raw.{table} drop column events")
            conn.execute(f"alter table raw.{table} rename column _events to events")
        else:
            conn.execute(f"alter table raw.{table} alter column {column} type varchar using to_json({column})::varchar")
