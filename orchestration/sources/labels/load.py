"""Load a window of review labels into `raw.labels_reviews`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import duckdb

from orchestration.loading import LoadReport, RawTable, ensure_table, stage_text_records, write_partitions
from orchestration.partitions import days_between
from orchestration.settings import get_settings
from orchestration.sources.labels.client import CSV_SUFFIXES, JSON_SUFFIXES, discover_label_files
from orchestration.sources.labels.parse import FIELDS, read_csv_labels, read_json_labels, type_labels
from orchestration.sources.labels.schemas import LABEL_COLUMNS, ReviewLabelRaw
from orchestration.sources.otel.client import date_in_path

LABELS = RawTable(source="labels", name="labels_reviews", columns=LABEL_COLUMNS, model=ReviewLabelRaw)


def load_labels(
    conn: duckdb.DuckDBPyConnection,
    labels_dir: Path,
    first: date,
    last: date,
    progress: Callable[[str], None] = lambda message: None,
    lookback_days: int | None = None,
    warn: Callable[[str], None] | None = None,
) -> LoadReport:
    """Read the label files that can hold labels written on `first..last`; replace those days.

    Which labels a file loads depends on the file's date only, never on the window: a day holds the
    same labels whichever run, nightly or backfill, loaded it last. A label of a day outside
    `first..last` is left to the partitions that load its day; one of a day outside its file's
    range (`_stage_file_days`; counted in `labels_no_partition_loads`) and one without a day are
    quarantined once per file line, however many runs read the file. `lookback_days` is the
    partition runs' label lookback (`AGENTLEDGER_LABEL_LOOKBACK_DAYS` when None): it decides which
    days a dated file's runs load. Labels no run will load unless someone acts go to `warn`
    (`progress` when None).
    """
    settings = get_settings()
    lookback = settings.label_lookback_days if lookback_days is None else lookback_days
    csv_files, json_files = discover_label_files(labels_dir, first, last, lookback)
    records = [r for path in csv_files for r in read_csv_labels(path)]
    records += [r for path in json_files for r in read_json_labels(path)]
    stage_text_records(conn, "_label_records", records, [*FIELDS, "_parse_error"])
    type_labels(conn, fallback_day=last.isoformat())
    _stage_file_days(conn, labels_dir, [*csv_files, *json_files], first, last, lookback, settings.start_date)
    orphans = _set_aside_rows_no_partition_loads(conn)
    ahead_after = last + timedelta(days=lookback + 1)
    ahead = _dated_ahead(conn, ahead_after)
    unloaded = _undated_before_no_night_loaded(conn, first)
    missed = _dated_files_changed_after_their_runs(conn, labels_dir, first, lookback)
    report = write_partitions(
        conn, table=LABELS, candidates="_label_candidates", partitions=days_between(first, last),
        rejected_lines="_label_rejected_lines",
    )
    report.extra["files"] = len(csv_files) + len(json_files)
    report.extra["labels_of_other_days"] = len(records) - report.received
    report.extra["labels_no_partition_loads"] = orphans
    report.extra["labels_dated_ahead"] = sum(count for _, _, count in ahead)
    report.extra["labels_before_window_not_loaded"] = sum(count for *_, count in unloaded)
    report.extra["files_changed_after_their_runs"] = len(missed)
    progress(
        f"{len(records)} label rows from {report.extra['files']} files for {first}..{last}: {report.counts()}"
    )
    for path, example, count in ahead:
        (warn or progress)(
            f"{path}: {count} label(s) dated after {ahead_after} (e.g. {example}), "
            "which no night has loaded yet: a mistyped date waits for its day and then decides the run; "
            "check them"
        )
    for path, example, earliest, latest, count in unloaded:
        (warn or progress)(
            f"{path}: {count} label(s) of {earliest}..{latest} (e.g. {example}), before this run's days, that the "
            "warehouse does not hold: a file with no date in its name loads only the days of the runs that read it, "
            f"so run those days again to load them (agentledger backfill --start {earliest} --end {latest})"
        )
    for path, loads_from, loads_to in missed:
        (warn or progress)(
            f"{path}: written after the last run that reads it (files dated {loads_to - timedelta(days=lookback)} "
            f"are read by the runs of {loads_from}..{loads_to}), so no night loads it: run those days again to load "
            f"it (agentledger backfill --start {loads_from} --end {loads_to})"
        )
    return report


def _dated_files_changed_after_their_runs(
    conn: duckdb.DuckDBPyConnection, labels_dir: Path, first: date, lookback: int
) -> list[tuple[Path, date, date]]:
    """Dated files no run from `first` on reads, written after their days were last loaded: named, not ignored.

    A file dated D is read by the runs of D-1-lookback..D+lookback only (`discover_label_files`). One
    dropped in later, such as a corrected export `2026-11-21.v2.csv` a week on, reached no night,
    while a rebuild loads it: the runs' labels and a rebuild's differed in silence. A file counts as
    written after its runs when it was modified after the last load of any of those days; days no
    run ever loaded (history before the first night) are a backfill's to load, not named here.
    Rows: (file, first day, last day) to run again.
    """
    reach = first - timedelta(days=lookback)
    files = []
    for path in sorted(labels_dir.rglob("*")):
        if not path.is_file() or not path.name.endswith(CSV_SUFFIXES + JSON_SUFFIXES):
            continue
        day = date_in_path(str(path.relative_to(labels_dir)))
        if day is None or day >= reach:
            continue
        last_run_day = day + timedelta(days=lookback)
        modified = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).replace(tzinfo=None)
        # a run of a day starts once the day is over: the last run that reads the file, if it ran,
        # saw any version written before then (files written on time, nearly all, end here)
        if modified >= datetime.combine(last_run_day + timedelta(days=1), time()):
            files.append((str(path), day - timedelta(days=1 + lookback), last_run_day, modified))
    if not files:
        return []
    ensure_table(conn, LABELS)
    conn.execute(
        "create or replace temp table _label_old_files "
        "(path varchar, loads_from date, loads_to date, modified timestamp)"
    )
    conn.executemany("insert into _label_old_files values (?, ?, ?, ?)", files)
    missed = conn.execute(
        f"""
        with loaded_days as (
            select _partition_date, max(_extracted_at) as loaded_at
            from {LABELS.qualified}
            where _partition_date between (select min(loads_from) from _label_old_files)
                and (select max(loads_to) from _label_old_files)
            group by _partition_date
        )

        select f.path, f.loads_from, f.loads_to
        from _label_old_files f
        left join loaded_days d on d._partition_date between f.loads_from and f.loads_to
        group by all
        having max(f.modified) > max(d.loaded_at)
        order by f.path
        """
    ).fetchall()
    conn.execute("drop table _label_old_files")
    return [(Path(path), loads_from, loads_to) for path, loads_from, loads_to in missed]


def _undated_before_no_night_loaded(conn: duckdb.DuckDBPyConnection, first: date) -> list[tuple]:
    """Per undated file, its labels of days before `first` that `raw.labels_reviews` lacks: named, not lost in silence.

    Every night reads an undated file for its own days only. Its labels of earlier days reached the
    warehouse by those days' runs if the file was there then; the others (a corrections file
    dropped in later) load only if their days run again. Rows: (file, example, first day, last day, labels).
    """
    ensure_table(conn, LABELS)  # the write below would create it anyway
    return conn.execute(
        f"""
        with held as (select _partition_date, run_id, labeled_at, outcome from {LABELS.qualified})
        select
            c._source_file,
            'line ' || min(c._line_number) || ': ' || arg_min(c.run_id, c._line_number),
            min(c._partition_date),
            max(c._partition_date),
            count(*)
        from _label_candidates c
        join _label_file_days f using (_source_file)
        where f.loads_to is null and c._partition_date < ? and c._reject_reason is null
            and not exists (
                select 1 from held h
                where h._partition_date = c._partition_date and h.run_id = c.run_id
                    and h.labeled_at = c.labeled_at and h.outcome = c.outcome
            )
        group by c._source_file
        order by c._source_file
        """,
        [first],
    ).fetchall()


def _dated_ahead(conn: duckdb.DuckDBPyConnection, after: date) -> list[tuple[str, str, int]]:
    """Per undated file, the labels dated after `after`: kept for the nights of their days, so told now.

    A dated file quarantines the labels it cannot hold; an undated one is read by every night and
    loads any day, so a label of 2062 (a mistyped year) would wait in silence for decades, or a
    mistyped month for weeks, and then relabel its run.
    """
    return conn.execute(
        """
        select c._source_file,
            'line ' || min(c._line_number) || ': ' || strftime(arg_min(c.labeled_at, c._line_number), '%Y-%m-%d'),
            count(*)
        from _label_candidates c
        join _label_file_days f using (_source_file)
        where f.loads_to is null and c._partition_date > ?
        group by c._source_file
        order by c._source_file
        """,
        [after],
    ).fetchall()


def _stage_file_days(
    conn: duckdb.DuckDBPyConnection,
    labels_dir: Path,
    files: list[Path],
    first: date,
    last: date,
    lookback: int,
    start_date: date,
) -> None:
    """Temp table `_label_file_days`: per file, the day its set-aside rows are kept under and the days loaded.

    A file dated D is exported on D: its labels of days `loads_from..loads_to` (D-1-lookback to
    D+lookback: written late, or stamped ahead by a clock) reach the table, and no others, in
    every window that reads it (`discover_label_files` reads every file whose range meets the window).
    An undated file is read by every run: it loads any day from the
    first partition's lookback on.

    The rows a file sets aside (of no day it loads, or of no day at all) are quarantined by the
    runs whose window holds the file's day or the day before it (`quarantines`), under the file's
    day within that window (the window's last day for an undated file): a re-run of the file's own
    partition replaces them. A run that reads the file only for labels of its window leaves them
    to those runs: kept under a day of its own, a fixed line's row would outlive the fix.
    """
    rows = []
    first_loaded = start_date - timedelta(days=lookback)
    for path in files:
        day = date_in_path(str(path.relative_to(labels_dir)))
        if day is None:
            rows.append((str(path), last, first_loaded, None, True))
        else:
            kept_under = min(max(day, first), last)
            loads_from = max(day - timedelta(days=1 + lookback), first_loaded)
            quarantines = first <= day <= last + timedelta(days=1)
            rows.append((str(path), kept_under, loads_from, day + timedelta(days=lookback), quarantines))
    conn.execute(
        "create or replace temp table _label_file_days "
        "(_source_file varchar, kept_under date, loads_from date, loads_to date, quarantines boolean)"
    )
    if rows:
        conn.executemany("insert into _label_file_days values (?, ?, ?, ?, ?)", rows)


def _set_aside_rows_no_partition_loads(conn: duckdb.DuckDBPyConnection) -> int:
    """Move to `_label_rejected_lines` the rows no partition loads or that have no day; return how many had a day.

    Rows of another day some partition run loads stay candidates (the writer ignores them). Rows
    without a day (`labeled_at` missing or not a time) go the same way, so the several runs that
    read their file quarantine them once, not once per run under each run's last day. The set-aside
    rows of a file this run does not quarantine for (`_stage_file_days`) are dropped here: the runs
    of its own days quarantine them.
    """
    conn.execute(
        """
        delete from _label_candidates c using _label_file_days f
        where c._source_file = f._source_file and not f.quarantines
            and (c.labeled_at is null or c._partition_date < f.loads_from or c._partition_date > f.loads_to)
        """
    )
    conn.execute(
        """
        create or replace temp table _label_rejected_lines as
        select
            f.kept_under as _partition_date,
            c._source_file,
            c._line_number,
            cast(c._row_id as varchar) as record_key,
            c._raw_record as raw_record,
            case
                when c.labeled_at is null then coalesce(c._reject_reason, 'labeled_at: missing')
                else concat_ws('; ',
                    'labeled_at ' || strftime(c.labeled_at, '%Y-%m-%d %H:%M:%S')
                        || ' is outside the days this file''s partitions load ('
                        || f.loads_from || '..' || coalesce(cast(f.loads_to as varchar), '') || ')',
                    c._reject_reason)
            end as reason,
            c._row_id,
            c.labeled_at is not null as has_day
        from _label_candidates c
        join _label_file_days f using (_source_file)
        where c.labeled_at is null or c._partition_date < f.loads_from or c._partition_date > f.loads_to
        """
    )
    conn.execute("delete from _label_candidates where _row_id in (select _row_id from _label_rejected_lines)")
    orphans = conn.execute("select count(*) from _label_rejected_lines where has_day").fetchone()[0]
    conn.execute("alter table _label_rejected_lines drop column _row_id")
    conn.execute("alter table _label_rejected_lines drop column has_day")
    return orphans
