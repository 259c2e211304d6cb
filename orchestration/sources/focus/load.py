"""Load FOCUS export files into `raw.focus_charges`, replacing a window of charge days."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import duckdb

from orchestration.loading import LoadReport, RawTable, ensure_table, utc_timestamp_sql, write_partitions
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
    _check_not_cut_off(conn, path, table, f"{errors}_lines")
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


# DuckDB's reason for a line of the wrong number of columns.
_COLUMN_COUNTS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


class IncompleteExportError(ValueError):
    """A FOCUS file ends in a line cut off mid-write: it holds part of an export."""


def _check_not_cut_off(conn: duckdb.DuckDBPyConnection, path: str, rows: str, rejected_lines: str) -> None:
    """Fail on a CSV export whose last line is short of columns and has no line end: one still being written.

    Read as it is, its rows would win over the complete older export of the days it holds (the newest
    export wins), and the rows it has not reached yet would be lost in silence. A short line inside a
    file, or at the end of one that ends its lines, is a bad row: quarantined, the rest loads.
    """
    if path.endswith(".gz"):
        return  # a gzip stream cut off mid-write fails DuckDB's read of it
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        if handle.tell() == 0:
            return
        handle.seek(-1, 2)
        if handle.read(1) == b"\n":
            return
    last_rejected, reason = conn.execute(
        f"select line, reason from {rejected_lines} order by line desc limit 1"
    ).fetchone() or (None, "")
    last_row = conn.execute(f"select max(_file_line) from {rows}").fetchone()[0]
    columns = _COLUMN_COUNTS.search(reason)
    too_few = columns is not None and int(columns.group(2)) < int(columns.group(1))
    if last_rejected is not None and too_few and (last_row is None or last_rejected > last_row):
        raise IncompleteExportError(
            f"{path} line {last_rejected}: the file ends in a line cut off mid-write (too few columns, no line "
            "end), so it holds part of an export, which would supersede the complete one before it; nothing "
            "was loaded from the FOCUS exports: let the export finish (or export again), then run the day again"
        )


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
    conn.execute(
        "create or replace temp table _focus_files (filename varchar, file_rank integer, export_rank integer, "
        "modified_ns bigint)"
    )
    conn.executemany(
        "insert into _focus_files values (?, ?, ?, ?)",
        [(str(f.path), f.rank, f.export_rank, f.modified_ns) for f in files],
    )


def _records_sql(present: list[str], fallback_day: date) -> str:
    """Text records in the raw table's columns, extra columns as JSON, with file, line and partition day."""
    selected = []
    for focus_name, (raw_name, _) in FOCUS_COLUMNS.items():
        value = f"r.{_quote(focus_name)}" if focus_name in present else "null::varchar"
        if raw_name in TIMESTAMP_COLUMNS:  # FOCUS times are UTC ISO 8601; honour an offset where one is given
            value = f"coalesce(cast({utc_timestamp_sql(value)} as varchar), {value})"
        selected.append(f"{value} as {raw_name}")
    extra = [name for name in present if name not in FOCUS_COLUMNS and name not in INTERNAL]
    extra_json = (
        "json_object(" + ", ".join(f"{_literal(name)}, r.{_quote(name)}" for name in extra) + ")::varchar"
        if extra else "null::varchar"
    )
    charge_start = utc_timestamp_sql('r."ChargePeriodStart"')
    charge_day = f"cast(cast({charge_start} as date) as varchar)"
    # CSV rows know their line in the file; a Parquet row's number is its row number in the file.
    file_line, file_line_end = ("coalesce(r._file_line, ", ")") if "_file_line" in present else ("", "")
    return f"""
        select
            {", ".join(selected)},
            {extra_json} as extra_columns,
            r.filename as _source_file,
            {file_line}row_number() over (partition by r.filename order by r._read_id){file_line_end} as _line_number,
            coalesce({charge_day}, '{fallback_day}') as _partition_date,
            f.export_rank
        from _focus_read r
        join _focus_files f on f.filename = r.filename
    """


def load_focus(
    conn: duckdb.DuckDBPyConnection,
    folder: Path,
    first: date,
    last: date,
    progress: Callable[[str], None] = lambda message: None,
    export_unit: str = "file",
    warn: Callable[[str], None] | None = None,
) -> LoadReport | None:
    """Replace charge days `first..last` from the exports, and the corrections' rows of the days they restate.

    A `Correction` billed in a period that ends after `first` widens the window back to the day it
    corrects; on the days before `first` only rows of such periods are replaced, so a day's charges
    of its own (earlier) period are never deleted because a later period corrects that day.

    Only what the exports read restate is replaced: the rows of a (provider, billing account,
    billing period) that no file in the folder holds any more stay as the nights that loaded them
    left them. An export job that keeps the current month only removes last month's file while
    the lookback still reaches its days; replacing those days with nothing deleted billed cost.

    For each (provider, billing account, billing period, charge day) the newest export wins: a file,
    or with `export_unit` "folder" all the files of a folder. The rows of older exports are
    superseded, counted, and each superseded file named; one written within
    `PARTS_WRITTEN_WITHIN` of the file that supersedes it is reported as a likely part of the same
    export (a split export read file by file loses all but one part).

    Returns None when `folder` does not exist (no FOCUS exports configured).
    """
    files = discover_focus_files(folder, export_unit)
    if files is None:
        ensure_table(conn, FOCUS)
        return None
    conn.execute("set TimeZone = 'UTC'")
    if not files:
        # no export restates anything: every stored charge stays
        report = write_partitions(
            conn, table=FOCUS, candidates=_empty_candidates(conn), partitions=[first, last],
            owned_rows="false", owned_quarantine="false",
        )
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
    window_first, owned_rows, owned_quarantine = first, None, None
    if corrected is not None and corrected < first:
        first = corrected
        # The days before the window are restated only for the billing periods the window re-reads
        # (the corrections'): their charges of earlier periods stay as the nights that loaded them
        # left them, even when those periods' exports are gone from the folder.
        owned_rows = f"_partition_date >= date '{window_first}' or billing_period_end > timestamp '{window_first}'"
        owned_quarantine = (
            f"case when _partition_date >= date '{window_first}' then true when json_valid(raw_record) then "
            f"try_cast(json_extract_string(raw_record, '$.billing_period_end') as timestamp) "
            f"> timestamp '{window_first}' else false end"
        )
    # Overlapping exports: the newest export holding a (provider, account, billing period, charge day) wins.
    conn.execute(
        """
        create or replace temp table _focus_ranked as
        select *, max(export_rank) over (
            partition by provider_name, billing_account_id, billing_period_start, _partition_date
        ) as winning_rank
        from _focus_all
        """
    )
    conn.execute(
        """
        create or replace temp table _focus_records as
        select row_number() over () as _row_id, * exclude (export_rank), to_json(a)::varchar as _raw_record
        from (select * exclude (winning_rank) from _focus_ranked where export_rank = winning_rank) as a
        """
    )
    superseded, superseded_files, likely_parts = _superseded(conn, first, last)
    conn.execute(typed_candidates_sql(FOCUS, "_focus_records", "_focus_candidates"))
    owned_rows = _restated_by_the_exports(conn, owned_rows)
    # A line that is not a row has no charge day: it is kept under the window's last day (a later
    # run reading the file again replaces it, matched on file and line).
    conn.execute("update _focus_rejected_lines set _partition_date = ?", [last])
    report = write_partitions(
        conn, table=FOCUS, candidates="_focus_candidates", partitions=days_between(first, last),
        rejected_lines="_focus_rejected_lines", owned_rows=owned_rows, owned_quarantine=owned_quarantine,
    )
    report.extra.update(
        {
            "files": len(files),
            "export_unit": export_unit,
            "superseded_rows": superseded,
            "superseded_files": len(superseded_files),
            "first_day": str(first),
        }
    )
    if superseded_files:
        report.extra["superseded_rows_by_file"] = "\n".join(
            f"{rows} × {file}" for file, rows in list(superseded_files.items())[:10]
        )
    progress(f"{len(files)} FOCUS files for {first}..{last}: {report.counts()}, superseded {superseded}")
    restated = _restated_before_the_window(conn, window_first)
    report.extra["restated_days_before_window"] = sum(days for *_, days in restated)
    for provider, earliest, latest, example, days in restated:
        (warn or progress)(
            f"FOCUS {provider}: the newest exports (e.g. {example}) restate {days} charge day(s) of "
            f"{earliest}..{latest}, before this run's window ({window_first} on: AGENTLEDGER_PROVIDER_LOOKBACK_DAYS), "
            f"which no night reloads: run them again to load them (agentledger backfill --start {earliest} "
            f"--end {latest})"
        )
    if likely_parts:
        report.extra["likely_parts_of_one_export"] = "\n".join(likely_parts[:10])
        (warn or progress)(
            f"{len(likely_parts)} superseded FOCUS file(s) were written within "
            f"{PARTS_WRITTEN_WITHIN.total_seconds() / 60:.0f} min of the export that superseded them, e.g. "
            f"{likely_parts[0]}: if they are parts of that export, their rows are missing; put each export "
            "in a folder of its own and set AGENTLEDGER_FOCUS_EXPORT_UNIT=folder"
        )
    return report


def _restated_before_the_window(conn: duckdb.DuckDBPyConnection, window_first: date) -> list[tuple]:
    """Charge days before the window whose newest export differs from the rows loaded: named, not ignored.

    A night writes its window and the provider lookback only; a re-export restating an older day (a
    credit applied weeks on) reached no night, while a rebuild loaded it. Exports that repeat the
    month to date hold the older days unchanged, so days are compared by content (rows, billed cost,
    consumed quantity per provider, account, billing period and day), never by file; a day the
    warehouse holds nothing of (history before the first night) is a backfill's to load, not named.
    Rows: (provider, first day, last day, an export, days).
    """
    key = "provider_name, billing_account_id, billing_period_start, _partition_date"
    summary = "count(*) as rows, sum(billed_cost) as billed, sum(consumed_quantity) as consumed"
    return conn.execute(
        f"""
        with exported as (
            select {key}, {summary}, min(_source_file) as example
            from _focus_candidates
            where _reject_reason is null and _partition_date < ?
            group by all
        ),

        held as (
            select {key}, {summary}
            from {FOCUS.qualified}
            where _partition_date < ?
            group by all
        ),

        restated as (
            select exported.*
            from exported
            inner join held
                on held.provider_name is not distinct from exported.provider_name
                and held.billing_account_id is not distinct from exported.billing_account_id
                and held.billing_period_start is not distinct from exported.billing_period_start
                and held._partition_date = exported._partition_date
            where held.rows <> exported.rows
                or held.billed is distinct from exported.billed
                or held.consumed is distinct from exported.consumed
        )

        select provider_name, min(_partition_date), max(_partition_date), min(example), count(distinct _partition_date)
        from restated
        group by provider_name
        order by provider_name
        """,
        [window_first, window_first],
    ).fetchall()


def _restated_by_the_exports(conn: duckdb.DuckDBPyConnection, owned_rows: str | None) -> str:
    """`owned_rows` narrowed to the (provider, billing account, billing period)s the exports read hold."""
    key = (
        "coalesce(provider_name, '') || '|' || coalesce(billing_account_id, '') || '|' "
        "|| coalesce(cast(billing_period_start as varchar), '')"
    )
    conn.execute(f"create or replace temp table _focus_restated as select distinct {key} as key from _focus_candidates")
    restated = f"{key} in (select key from _focus_restated)"
    return f"({restated}) and ({owned_rows})" if owned_rows else restated


# A superseded file written this soon before the one that supersedes it is more likely a part of
# the same export than an earlier export of its own (exports are hours or days apart).
PARTS_WRITTEN_WITHIN = timedelta(minutes=10)


def _superseded(
    conn: duckdb.DuckDBPyConnection, first: date, last: date
) -> tuple[int, dict[str, int], list[str]]:
    """Rows superseded by a newer export, per file, and the files that look like parts of the winner.

    Counted over the days the load replaces (`first..last`; the rows of other days are not written).
    """
    per_file = conn.execute(
        """
        select r._source_file, count(*) as rows,
            bool_or(winner.modified_ns - f.modified_ns <= ?) as written_close_to_winner
        from _focus_ranked r
        join _focus_files f on f.filename = r._source_file
        join (
            select export_rank, max(modified_ns) as modified_ns from _focus_files group by export_rank
        ) as winner on winner.export_rank = r.winning_rank
        where r.export_rank < r.winning_rank and try_cast(r._partition_date as date) between ? and ?
        group by r._source_file
        order by r._source_file
        """,
        [PARTS_WRITTEN_WITHIN // timedelta(microseconds=1) * 1000, first, last],
    ).fetchall()
    return (
        sum(rows for _, rows, _ in per_file),
        {file: rows for file, rows, _ in per_file},
        [file for file, _, close in per_file if close],
    )


def _empty_candidates(conn: duckdb.DuckDBPyConnection) -> str:
    columns = ", ".join(
        f"null::{sql_type.replace('not null', '').strip()} as {name}"
        for name, sql_type in CHARGE_COLUMNS.items() if name != "_extracted_at"
    )
    conn.execute(
        f"create or replace temp table _focus_candidates as select 1::bigint as _row_id, {columns} where false"
    )
    return "_focus_candidates"

