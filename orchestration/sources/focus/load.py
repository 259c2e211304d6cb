"""Load FOCUS export files into `raw.focus_charges`, replacing a window of charge days."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb

from orchestration.loading import LoadReport, RawTable, ensure_table, write_partitions
from orchestration.partitions import days_between
from orchestration.sources.focus.client import FocusFile, discover_focus_files
from orchestration.sources.focus.schemas import CHARGE_COLUMNS, FOCUS_COLUMNS, TIMESTAMP_COLUMNS, FocusChargeRaw
from orchestration.sources.provider_api import typed_candidates_sql

FOCUS = RawTable(source="focus", name="focus_charges", columns=CHARGE_COLUMNS, model=FocusChargeRaw)
INTERNAL = ("filename", "_read_id", "_file_line")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _read_csv_file(conn: duckdb.DuckDBPyConnection, path: str, index: int) -> str:
    """One CSV file as all-text temp table `_focus_csv_<index>`, its ragged lines set aside with their reasons.

    The dialect is explicit: sniffing a file with one ragged line can settle on a single column and
    fail the whole load. DuckDB keeps the lines it cannot read (`store_rejects`, with their line
    numbers); `_file_line` is each good row's line in the file, counting the lines set aside.
    """
    table, errors = f"_focus_csv_{index}", f"_focus_csv_rejects_{index}"
    conn.execute(f"drop table if exists {errors}")
    conn.execute(f"drop table if exists {errors}_scan")
    conn.execute(
        f"create or replace temp table {table} as select row_number() over () as _file_row, * from read_csv("
        f"{_literal(path)}, delim = ',', quote = '\"', escape = '\"', header = true, all_varchar = true, "
        f"filename = true, store_rejects = true, rejects_table = '{errors}', rejects_scan = '{errors}_scan')"
    )
    conn.execute(
        f"""
        create or replace temp table {errors}_lines as
        select line, row_number() over (order by line) as ordinal,
            arg_max(csv_line, byte_position) as csv_line,
            'line is not a row of the header''s columns: ' || arg_max(error_message, byte_position) as reason
        from {errors} group by line
        """
    )
    # Good row k sits on line k + 1 (the header) + the rejected lines before it: rejected line i
    # precedes row k when fewer than k good rows come before it (line - 1 - i of them).
    conn.execute(
        f"""
        create or replace temp table {table} as
        select c.* exclude (_file_row),
            c._file_row + 1 + (select count(*) from {errors}_lines e where e.line - 1 - e.ordinal < c._file_row)
                as _file_line
        from {table} c order by c._file_row
        """
    )
    conn.execute(
        f"""
        insert into _focus_rejected_lines
        select null::date, {_literal(path)}, line, null::varchar, csv_line, reason from {errors}_lines
        """
    )
    conn.execute(f"drop table if exists {errors}")
    conn.execute(f"drop table if exists {errors}_scan")
    conn.execute(f"drop table if exists {errors}_lines")
    return table


def _read_files(conn: duckdb.DuckDBPyConnection, files: list[FocusFile]) -> None:
    """All files as one all-text table `_focus_read` (columns by name; a column a file lacks is NULL).

    Ragged CSV lines go to `_focus_rejected_lines` (file, line, the line's text and the reason).
    """
    conn.execute(
        """
        create or replace temp table _focus_rejected_lines (
            _partition_date date, _source_file varchar, _line_number bigint, record_key varchar,
            raw_record varchar, reason varchar
        )
        """
    )
    parts = [
        f"select * from {_read_csv_file(conn, str(f.path), index)}"
        for index, f in enumerate(files)
        if not f.is_parquet
    ]
    parquet = [_literal(str(f.path)) for f in files if f.is_parquet]
    if parquet:
        parts.append(
            f"select columns(*)::varchar from read_parquet([{', '.join(parquet)}], "
            "union_by_name = true, filename = true)"
        )
    conn.execute(
        "create or replace temp table _focus_read as "
        f"select row_number() over () as _read_id, * from ({' union all by name '.join(parts)})"
    )
    for index, f in enumerate(files):
        if not f.is_parquet:
            conn.execute(f"drop table if exists _focus_csv_{index}")
    conn.execute("create or replace temp table _focus_files (filename varchar, file_rank integer)")
    conn.executemany("insert into _focus_files values (?, ?)", [(str(f.path), f.rank) for f in files])


def _records_sql(present: list[str], fallback_day: date) -> str:
    """Text records in the raw table's columns, extra columns as JSON, with file, line and partition day."""
    selected = []
    for focus_name, (raw_name, _) in FOCUS_COLUMNS.items():
        value = f"r.{_quote(focus_name)}" if focus_name in present else "null::varchar"
        if raw_name in TIMESTAMP_COLUMNS:  # FOCUS times are UTC ISO 8601; honour an offset where one is given
            value = f"coalesce(cast(try_cast({value} as timestamptz) at time zone 'UTC' as varchar), {value})"
        selected.append(f"{value} as {raw_name}")
    extra = [name for name in present if name not in FOCUS_COLUMNS and name not in INTERNAL]
    extra_json = (
        "json_object(" + ", ".join(f"{_literal(name)}, r.{_quote(name)}" for name in extra) + ")::varchar"
        if extra else "null::varchar"
    )
    charge_day = "cast(cast(try_cast(r.\"ChargePeriodStart\" as timestamptz) at time zone 'UTC' as date) as varchar)"
    # CSV rows know their line in the file; a Parquet row's number is its row number in the file.
    file_line, file_line_end = ("coalesce(r._file_line, ", ")") if "_file_line" in present else ("", "")
    return f"""
        select
            {", ".join(selected)},
            {extra_json} as extra_columns,
            r.filename as _source_file,
            {file_line}row_number() over (partition by r.filename order by r._read_id){file_line_end} as _line_number,
            coalesce({charge_day}, '{fallback_day}') as _partition_date,
            f.file_rank
        from _focus_read r
        join _focus_files f on f.filename = r.filename
    """


def load_focus(
    conn: duckdb.DuckDBPyConnection,
    folder: Path,
    first: date,
    last: date,
    progress: Callable[[str], None] = lambda message: None,
) -> LoadReport | None:
    """Replace charge days `first..last` (widened to the days recent corrections restate) from the exports.

    Returns None when `folder` does not exist (no FOCUS exports configured).
    """
    files = discover_focus_files(folder)
    if files is None:
        ensure_table(conn, FOCUS)
        return None
    conn.execute("set TimeZone = 'UTC'")
    if not files:
        report = write_partitions(conn, table=FOCUS, candidates=_empty_candidates(conn), partitions=[first, last])
        report.extra["files"] = 0
        return report
    _read_files(conn, files)
    present = [row[0] for row in conn.execute("describe _focus_read").fetchall()]
    conn.execute(f"create or replace temp table _focus_all as {_records_sql(present, last)}")
    # A correction billed in a period the window touches restates its own (earlier) charge day.
    corrected = conn.execute(
        "select min(try_cast(_partition_date as date)) from _focus_all "
        "where charge_class = 'Correction' and try_cast(billing_period_end as timestamp) > ?",
        [first],
    ).fetchone()[0]
    if corrected is not None and corrected < first:
        first = corrected
    # Overlapping exports: the newest file holding a (provider, account, billing period, charge day) wins.
    conn.execute(
        """
        create or replace temp table _focus_records as
        select row_number() over () as _row_id, * exclude (file_rank), to_json(a)::varchar as _raw_record
        from _focus_all a
        qualify file_rank = max(file_rank) over (
            partition by provider_name, billing_account_id, billing_period_start, _partition_date
        )
        """
    )
    superseded = conn.execute("select count(*) from _focus_all").fetchone()[0] - conn.execute(
        "select count(*) from _focus_records"
    ).fetchone()[0]
    conn.execute(typed_candidates_sql(FOCUS, "_focus_records", "_focus_candidates"))
    # A line that is not a row has no charge day: it is kept under the window's last day (a later
    # run reading the file again replaces it, matched on file and line).
    conn.execute("update _focus_rejected_lines set _partition_date = ?", [last])
    report = write_partitions(
        conn, table=FOCUS, candidates="_focus_candidates", partitions=days_between(first, last),
        rejected_lines="_focus_rejected_lines",
    )
    report.extra.update({"files": len(files), "superseded_rows": superseded, "first_day": str(first)})
    progress(f"{len(files)} FOCUS files: {report.loaded} rows loaded for {first}..{last}, {superseded} superseded")
    return report


def _empty_candidates(conn: duckdb.DuckDBPyConnection) -> str:
    columns = ", ".join(
        f"null::{sql_type.replace('not null', '').strip()} as {name}"
        for name, sql_type in CHARGE_COLUMNS.items() if name != "_extracted_at"
    )
    conn.execute(
        f"create or replace temp table _focus_candidates as select 1::bigint as _row_id, {columns} where false"
    )
    return "_focus_candidates"

