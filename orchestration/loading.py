"""Validate → quarantine → idempotent partition write, shared by every source.

A source stages its candidate rows in a DuckDB temp table (`_row_id`, `_partition_date`, the raw
columns). This module validates them with the source's Pandera model, then in **one transaction**
replaces the partitions' rows in `raw.<table>` and their rows in `raw.quarantine`. Re-running a
day replaces that day; it never duplicates it. Every received row ends up either loaded or
quarantined with a reason: *loaded + quarantined = received*.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb
import pandera.polars as pa
import polars as pl

from orchestration import pandera_sql

log = logging.getLogger(__name__)

# `_extracted_at` as a naive UTC timestamp. `now()::timestamp` would be the wall-clock time in the
# connection's TimeZone setting, which defaults to the host's zone.
EXTRACTED_AT_SQL = "(now() at time zone 'UTC')"

# A time that names its offset or zone: `…10:00Z`, `…10:00:00+02:00`, `…10:00 America/New_York`.
ZONED_TIME = r"[0-9]:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?[ ]*([Zz]|[+-][0-9]{2}(:?[0-9]{2})?|[A-Za-z][A-Za-z0-9_/+-]*)$"


def utc_timestamp_sql(text: str) -> str:
    """SQL: the time `text` as a naive UTC timestamp, NULL when it is none; one without offset or zone is UTC.

    Only a time that names its offset or zone goes through DuckDB's `timestamptz` cast: that cast
    (DuckDB 1.5) reads the naive times after a named zone's row in that zone, so 23:30 of one file
    became 04:30 of the next day after a row in America/New_York.
    """
    value = f"cast({text} as varchar)"
    return (
        f"case when regexp_matches({value}, '{ZONED_TIME}') "
        f"then try_cast({value} as timestamptz) at time zone 'UTC' else try_cast({value} as timestamp) end"
    )

QUARANTINE_DDL = """
create table if not exists raw.quarantine (
    source varchar not null,
    entity varchar not null,
    _partition_date date,
    _source_file varchar,
    _line_number bigint,
    record_key varchar,
    raw_record varchar,
    reason varchar not null,
    _extracted_at timestamp not null
)
"""

# Pandera runs over polars frames in chunks: 1M rows of the raw span columns validate in well
# under a second and stay under ~300 MB, so a backfill of any size keeps a flat memory profile.
VALIDATION_CHUNK_ROWS = 1_000_000


@dataclass(frozen=True)
class RawTable:
    """A raw table: its name in schema `raw`, its columns (name → DuckDB type) and its gate.

    With `sql_row_checks` (the SQL twins of the model's dataframe checks) its candidates are
    validated inside DuckDB (`pandera_sql`) instead of in polars: for tables whose candidates are
    already typed in SQL, as the trace tables' are.
    """

    source: str
    name: str
    columns: dict[str, str]
    model: type[pa.DataFrameModel]
    sql_row_checks: Mapping[str, str] | None = None

    @property
    def qualified(self) -> str:
        """`raw.<name>`."""
        return f"raw.{self.name}"

    @property
    def validated_columns(self) -> list[str]:
        """The columns the Pandera model declares (the others are carried, not checked)."""
        return list(self.model.to_schema().columns)


@dataclass
class LoadReport:
    """What one load did, for materialization metadata and for the run's summary."""

    table: str
    partitions: list[date]
    received: int = 0
    loaded: int = 0
    quarantined: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    extra: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> str:
        """`received R, loaded L, quarantined Q` (and `unchanged U` for an upsert), for a load's log line.

        Every source's log line says all three, so a run log shows rows set aside without opening
        the materialization metadata; an upsert's `loaded` counts changed rows only, so its
        unchanged rows are named too and the counts add up to `received`.
        """
        text = f"received {self.received}, loaded {self.loaded}, quarantined {self.quarantined}"
        if "unchanged" in self.extra:
            text += f", unchanged {self.extra['unchanged']}"
        if self.extra.get("superseded"):
            text += f" ({self.extra['superseded']} stored record(s) superseded by a quarantined version)"
        return text

    def as_metadata(self) -> dict[str, Any]:
        """Flat metadata for Dagster: counts plus the most frequent quarantine reasons."""
        metadata: dict[str, Any] = {
            "received": self.received,
            "loaded": self.loaded,
            "quarantined": self.quarantined,
            "partitions": f"{self.partitions[0]}..{self.partitions[-1]}" if self.partitions else "none",
        }
        if self.reasons:
            metadata["quarantine_reasons"] = "\n".join(
                f"{count} × {reason}" for reason, count in self.reasons.most_common(10)
            )
        metadata.update(self.extra)
        return metadata


def stage_text_records(
    conn: duckdb.DuckDBPyConnection, name: str, records: Sequence[dict[str, Any]], fields: Sequence[str]
) -> int:
    """Stage flat records as an all-text temp table `name` with `_row_id` and `_raw_record`.

    Typing happens afterwards in SQL with `try_cast`, so a value of the wrong type is caught and
    named instead of failing the whole load. Each record may carry `_source_file`/`_line_number`.
    """
    import orjson

    columns: dict[str, list[str | None]] = {field_name: [] for field_name in fields}
    meta: dict[str, list[Any]] = {"_source_file": [], "_line_number": [], "_raw_record": []}
    for record in records:
        for field_name in fields:
            value = record.get(field_name)
            columns[field_name].append(None if value is None else str(value))
        meta["_source_file"].append(record.get("_source_file"))
        meta["_line_number"].append(record.get("_line_number"))
        if "_line_text" in record:  # the source could not make a record of the line: keep the line
            meta["_raw_record"].append(str(record["_line_text"]))
        else:
            original = {k: v for k, v in record.items() if not k.startswith("_")}
            meta["_raw_record"].append(orjson.dumps(original, default=str).decode())
    frame = pl.DataFrame(
        {**columns, **meta},
        schema={**dict.fromkeys(fields, pl.Utf8), "_source_file": pl.Utf8, "_line_number": pl.Int64,
                "_raw_record": pl.Utf8},
    )
    conn.register("_records_frame", frame)
    try:
        conn.execute(
            f"create or replace temp table {name} as "
            "select row_number() over () as _row_id, * from _records_frame"
        )
    finally:
        conn.unregister("_records_frame")
    return frame.height


def create_table_sql(table: RawTable, name: str, *, replace: bool = False) -> str:
    """The DDL of `table`'s declared columns (types and NOT NULL constraints) under `name`."""
    columns = ",\n    ".join(f"{column} {dtype}" for column, dtype in table.columns.items())
    create = "create or replace table" if replace else "create table if not exists"
    return f"{create} {name} (\n    {columns}\n)"


def ensure_table(conn: duckdb.DuckDBPyConnection, table: RawTable) -> None:
    """Create `raw.<table>` and `raw.quarantine` if missing, adding columns a newer version declares."""
    conn.execute("create schema if not exists raw")
    conn.execute(QUARANTINE_DDL)
    conn.execute(create_table_sql(table, table.qualified))
    existing = {
        row[0]
        for row in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' and table_name = ?",
            [table.name],
        ).fetchall()
    }
    for name, dtype in table.columns.items():
        if name not in existing:
            conn.execute(f"alter table {table.qualified} add column {name} {dtype}")


def describe_failures(failure_cases: pl.DataFrame) -> dict[int, str]:
    """Turn Pandera's long failure-case frame into one readable reason per failing row index."""
    reasons: dict[int, list[str]] = {}
    for row in failure_cases.iter_rows(named=True):
        index = row.get("index")
        if index is None:
            continue
        value = row.get("failure_case")
        shown = "null" if value is None else str(value)[:80]
        if row.get("schema_context") == "DataFrameSchema":
            text = f"row check {row['check']} failed"
        elif row.get("check") == "not_nullable":
            text = f"{row['column']}: missing or of the wrong type"
        else:
            text = f"{row['column']}: {row['check']} (got {shown})"
        reasons.setdefault(int(index), []).append(text)
    return {index: "; ".join(dict.fromkeys(texts)) for index, texts in reasons.items()}


def schema_violations(
    conn: duckdb.DuckDBPyConnection, candidates: str, table: RawTable, where: str = "true"
) -> dict[int, str]:
    """Validate the candidates with the table's Pandera model; return `_row_id → reason` of failures.

    Chunks are ranges of `_row_id` (ascending integers), not `order by … limit … offset`: that sorted
    the whole table once per chunk, ten sorts of 10M spans in a backfill.
    """
    if table.sql_row_checks is not None:
        reason = pandera_sql.row_reason_sql(table.model, table.sql_row_checks)
        return dict(
            conn.execute(
                f"select _row_id, reason from (select _row_id, {reason} as reason from {candidates} where ({where})) "
                "where reason is not null"
            ).fetchall()
        )
    columns = ", ".join(table.validated_columns)
    low, high = conn.execute(f"select min(_row_id), max(_row_id) from {candidates} where ({where})").fetchone()
    violations: dict[int, str] = {}
    if low is None:
        return violations
    for start in range(low, high + 1, VALIDATION_CHUNK_ROWS):
        frame = conn.execute(
            f"select _row_id, {columns} from {candidates} where ({where}) "
            f"and _row_id >= {start} and _row_id < {start + VALIDATION_CHUNK_ROWS}"
        ).pl()
        if frame.height == 0:
            continue
        try:
            table.model.validate(frame.drop("_row_id"), lazy=True)
        except pa.errors.SchemaErrors as errors:
            row_ids = frame.get_column("_row_id")
            for index, reason in describe_failures(errors.failure_cases).items():
                violations[int(row_ids[index])] = reason
    return violations


def collect_rejections(
    conn: duckdb.DuckDBPyConnection, table: RawTable, candidates: str, where: str = "true"
) -> set[str]:
    """Fill temp table `_rejected (_row_id, reason)`: the source's own rejects, then the model's.

    Returns the candidates' column names (callers look for `_raw_record`).
    """
    candidate_columns = {
        row[0]
        for row in conn.execute(
            "select column_name from duckdb_columns() where table_name = ? and database_name = 'temp'", [candidates]
        ).fetchall()
    }
    prior_reason = "_reject_reason" if "_reject_reason" in candidate_columns else "null::varchar"
    violations = schema_violations(conn, candidates, table, where=f"{where} and {prior_reason} is null")
    conn.execute("create or replace temp table _rejected (_row_id bigint, reason varchar)")
    conn.execute(
        f"insert into _rejected select _row_id, {prior_reason} from {candidates} "
        f"where {where} and {prior_reason} is not null"
    )
    if violations:
        conn.executemany("insert into _rejected values (?, ?)", list(violations.items()))
    return candidate_columns


SUPERSEDED_AT = "_superseded_at"


def _insert_columns(table: RawTable, extracted_at_sql: str) -> tuple[str, str]:
    """The table's column list and the matching select list, stamping `_extracted_at`; a new row is not superseded."""
    stamped = {
        "_extracted_at": f"{extracted_at_sql} as _extracted_at",
        SUPERSEDED_AT: f"null::timestamp as {SUPERSEDED_AT}",
    }
    columns = ", ".join(table.columns)
    select_columns = ", ".join(stamped.get(name, name) for name in table.columns)
    return columns, select_columns


class PartitionWriter:
    """Replace a set of partitions of one raw table from one or more batches of candidates.

    The caller opens one transaction around `clear()`, the `write()`s and `publish()`
    (`write_partitions` does): `write()` validates a batch, inserts its good rows and keeps its
    rejects; `publish()` writes the rejects to the quarantine, and `finish()` checks
    *loaded + quarantined = received*.

    `owned_rows` (over the table's columns) and `owned_quarantine` (over `raw.quarantine`'s)
    narrow the rows of the partitions the load owns, for a source whose input restates only some
    rows of a day: the others are neither deleted nor written.
    """

    def __init__(
        self,
        conn: duckdb.DuckDBPyConnection,
        table: RawTable,
        partitions: Sequence[date],
        extracted_at_sql: str = EXTRACTED_AT_SQL,
        owned_rows: str | None = None,
        owned_quarantine: str | None = None,
    ) -> None:
        self.conn = conn
        self.table = table
        self.extracted_at_sql = extracted_at_sql
        first, last = min(partitions), max(partitions)
        in_partitions = f"_partition_date between date '{first}' and date '{last}'"
        self.in_partitions = f"({in_partitions}) and ({owned_rows})" if owned_rows else in_partitions
        self.in_quarantine = f"({in_partitions}) and ({owned_quarantine})" if owned_quarantine else in_partitions
        self.report = LoadReport(table=table.qualified, partitions=sorted(partitions))
        self.rejects = f"_rejects_{table.name}"
        self.rejected_lines: list[str] = []
        ensure_table(conn, table)
        conn.execute(
            f"""
            create or replace temp table {self.rejects} (
                _partition_date date, _source_file varchar, _line_number bigint, record_key varchar,
                raw_record varchar, reason varchar
            )
            """
        )

    def clear(self) -> None:
        """Delete the partitions' rows and their quarantine rows (inside the caller's transaction)."""
        self.conn.execute(f"delete from {self.table.qualified} where {self.in_partitions}")
        self.conn.execute(
            f"delete from raw.quarantine where entity = ? and {self.in_quarantine}", [self.table.name]
        )

    def write(
        self,
        candidates: str,
        *,
        rejected_lines: str | None = None,
        raw_records: Callable[[duckdb.DuckDBPyConnection, str], None] | None = None,
    ) -> None:
        """Validate `candidates`, insert the partitions' good rows and keep the rejects.

        `rejected_lines` (input that never became a candidate) are copied now and quarantined by
        `publish()`; the candidates of other partitions are ignored.
        """
        conn, table = self.conn, self.table
        candidate_columns = collect_rejections(conn, table, candidates, self.in_partitions)
        has_raw_record = "_raw_record" in candidate_columns
        conn.execute(
            "create or replace temp table _rejected_records as "
            f"select r._row_id, r.reason, c._partition_date, c._source_file, c._line_number, "
            f"{'c._raw_record' if has_raw_record else 'null::varchar'} as raw_record "
            f"from _rejected r join {candidates} c using (_row_id)"
        )
        if raw_records is not None and not has_raw_record:
            raw_records(conn, "_rejected_records")

        columns, select_columns = _insert_columns(table, self.extracted_at_sql)
        conn.execute(
            f"insert into {table.qualified} ({columns}) select {select_columns} from {candidates} c "
            f"where {self.in_partitions} and not exists (select 1 from _rejected r where r._row_id = c._row_id)"
        )
        conn.execute(
            f"""
            insert into {self.rejects}
            select _partition_date, _source_file, _line_number, cast(_row_id as varchar), raw_record, reason
            from _rejected_records
            """
        )
        for reason, count in conn.execute(
            "select reason, count(*) from _rejected_records group by reason"
        ).fetchall():
            self.report.reasons[reason_family(reason)] += count
            self.report.quarantined += count
        self.report.received += conn.execute(
            f"select count(*) from {candidates} where {self.in_partitions}"
        ).fetchone()[0]

        if rejected_lines is not None:
            copy = f"_rejected_lines_{table.name}_{len(self.rejected_lines)}"
            conn.execute(f"create or replace temp table {copy} as select * from {rejected_lines}")
            self.rejected_lines.append(copy)
            for reason, count in conn.execute(f"select reason, count(*) from {copy} group by reason").fetchall():
                self.report.reasons[reason] += count
                self.report.quarantined += count
                self.report.received += count

    def publish(self) -> None:
        """Quarantine what the writes rejected (inside the caller's transaction, after `clear()`)."""
        conn, table = self.conn, self.table
        conn.execute(
            f"""
            insert into raw.quarantine
            select ?, ?, _partition_date, _source_file, _line_number, record_key, raw_record, reason,
                   {self.extracted_at_sql}
            from {self.rejects}
            """,
            [table.source, table.name],
        )
        for lines in self.rejected_lines:
            # A line read again by a later run (an undated file) is quarantined once, not per run.
            conn.execute(
                f"""
                delete from raw.quarantine q where q.entity = ? and exists (
                    select 1 from {lines} l
                    where l._source_file = q._source_file and l._line_number = q._line_number
                )
                """,
                [table.name],
            )
            conn.execute(
                f"""
                insert into raw.quarantine
                select ?, ?, _partition_date, _source_file, _line_number, record_key, raw_record,
                       reason, {self.extracted_at_sql}
                from {lines}
                """,
                [table.source, table.name],
            )

    def finish(self) -> LoadReport:
        """Count what the partitions hold now and check that nothing was dropped silently."""
        report = self.report
        report.loaded = self.conn.execute(
            f"select count(*) from {self.table.qualified} where {self.in_partitions}"
        ).fetchone()[0]
        if report.loaded + report.quarantined != report.received:
            raise RuntimeError(
                f"{self.table.qualified}: loaded {report.loaded} + quarantined {report.quarantined} "
                f"!= received {report.received}; nothing may be dropped silently"
            )
        log.info(
            "%s %s..%s: received %d, loaded %d, quarantined %d",
            self.table.qualified, report.partitions[0], report.partitions[-1],
            report.received, report.loaded, report.quarantined,
        )
        return report


def write_partitions(
    conn: duckdb.DuckDBPyConnection,
    *,
    table: RawTable,
    candidates: str,
    partitions: Sequence[date],
    rejected_lines: str | None = None,
    raw_records: Callable[[duckdb.DuckDBPyConnection, str], None] | None = None,
    extracted_at_sql: str = EXTRACTED_AT_SQL,
    owned_rows: str | None = None,
    owned_quarantine: str | None = None,
) -> LoadReport:
    """Validate `candidates` and replace `partitions` of `table` and of its quarantine, atomically.

    Args:
        conn: An open read-write connection to the warehouse.
        table: The raw table to write.
        candidates: Temp table with `_row_id` (unique), `_partition_date` and the table's columns;
            it may carry `_raw_record` (the record as received) and `_reject_reason` (a reason the
            source already found, e.g. a duplicate).
        partitions: The days this load owns: their rows are deleted first, whatever arrives.
        rejected_lines: Optional temp table of input that never became a candidate (unparsable
            lines): `_partition_date, _source_file, _line_number, record_key, raw_record, reason`.
        raw_records: Optional callback that fills `_raw_record` of the rows listed in the temp table
            named by its second argument, for sources that do not keep every record's text.
        extracted_at_sql: SQL expression stamped into `_extracted_at`.
        owned_rows: Optional SQL predicate over the table's columns: only the partitions' rows
            (and candidates) it holds for are replaced; the other rows stay as they are.
        owned_quarantine: The same over `raw.quarantine`'s columns, for the partitions' quarantine rows.

    Returns:
        The load's counts and the most frequent quarantine reasons.
    """
    writer = PartitionWriter(conn, table, partitions, extracted_at_sql, owned_rows, owned_quarantine)
    conn.execute("begin transaction")
    try:
        writer.clear()
        writer.write(candidates, rejected_lines=rejected_lines, raw_records=raw_records)
        writer.publish()
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise
    return writer.finish()


def reason_family(reason: str) -> str:
    """Group reasons for the summary without per-row details such as the value or the first copy."""
    return "; ".join(part.split(" (")[0] for part in reason.split("; "))


SYNC_STATE_DDL = """
create table if not exists raw._sync_state (
    source varchar not null,
    entity varchar not null,
    high_water_mark timestamp not null,
    primary key (source, entity)
)
"""


def read_high_water_mark(conn: duckdb.DuckDBPyConnection, table: RawTable) -> datetime | None:
    """The latest source modification time already loaded into `table`; None before the first sync.

    Incremental API sources (CRM deals) keep it in the warehouse beside the rows it describes, so a
    restored or copied warehouse resumes from what it holds, not from a file elsewhere.
    """
    conn.execute("create schema if not exists raw")
    conn.execute(SYNC_STATE_DDL)
    row = conn.execute(
        "select high_water_mark from raw._sync_state where source = ? and entity = ?", [table.source, table.name]
    ).fetchone()
    return None if row is None else row[0]


def check_high_water_mark_unmoved(
    conn: duckdb.DuckDBPyConnection, table: RawTable, fetched_from: datetime | None, source_name: str
) -> None:
    """Fail when another sync moved `table`'s mark after a fetch started from `fetched_from`.

    A sync fetches with the warehouse closed, then writes: a sync that wrote in between may have
    stored newer versions than this fetch read, which an upsert would overwrite with older ones.

    Raises:
        RuntimeError: The stored mark is not `fetched_from`; nothing is written, the next run catches up.
    """
    stored = read_high_water_mark(conn, table)
    if stored != fetched_from:
        raise RuntimeError(
            f"{source_name}: another sync moved the {table.qualified} high-water mark from {fetched_from} to "
            f"{stored} while this one was fetching; nothing was written, run the sync again"
        )


def upsert_records(
    conn: duckdb.DuckDBPyConnection,
    *,
    table: RawTable,
    candidates: str,
    key: str,
    high_water_mark: datetime | None = None,
    extracted_at_sql: str = EXTRACTED_AT_SQL,
) -> LoadReport:
    """Validate `candidates` and upsert them into `table` by `key`, atomically with the high-water mark.

    The unpartitioned sibling of `write_partitions`, for sources read incrementally by modification
    time: a row whose `_record_hash` equals the stored one is left alone, so a sync that receives
    nothing new (an overlap re-reads a few minutes of records) changes nothing, not even
    `_extracted_at`. A rejected record replaces its own earlier quarantine row (matched on
    `record_key` = the key value), so re-reading it does not pile up copies.

    A rejected record whose key is stored leaves the stored version in place but out of date: with
    a `_superseded_at` column the table marks it (when first superseded), so models can leave it
    out instead of counting a version the source has replaced; the mark moves on all the same, and
    the next valid version replaces the row and clears the mark.

    Args:
        conn: An open read-write connection to the warehouse.
        table: The raw table; it must declare `key` and `_record_hash`.
        candidates: Temp table with `_row_id` (unique), the table's columns except `_extracted_at`,
            and `_raw_record`; it may carry `_reject_reason`. One row per key (the latest version).
        key: The id column.
        high_water_mark: Stored for `table` in the same transaction when given and later than the
            stored one.
        extracted_at_sql: SQL expression stamped into `_extracted_at` of inserted or changed rows.

    Returns:
        Counts: received, loaded (inserted or changed), quarantined; `extra` has inserted, updated,
        unchanged and superseded (stored rows whose newer version was quarantined by this write).
    """
    ensure_table(conn, table)
    conn.execute(SYNC_STATE_DDL)
    report = LoadReport(table=table.qualified, partitions=[])
    collect_rejections(conn, table, candidates)
    marks_superseded = SUPERSEDED_AT in table.columns
    conn.execute(
        f"""
        create or replace temp table _upsert_rows as
        select c.*, case when t.{key} is null then 'inserted' else 'updated' end as _change
        from {candidates} c
        left join {table.qualified} t on t.{key} = c.{key}
        where not exists (select 1 from _rejected r where r._row_id = c._row_id)
            and (
                t.{key} is null or t._record_hash is distinct from c._record_hash
                {f"or t.{SUPERSEDED_AT} is not null" if marks_superseded else ""}
            )
        """
    )
    superseded: list[str] = []
    columns, select_columns = _insert_columns(table, extracted_at_sql)
    conn.execute("begin transaction")
    try:
        conn.execute(f"delete from {table.qualified} where {key} in (select {key} from _upsert_rows)")
        conn.execute(f"insert into {table.qualified} ({columns}) select {select_columns} from _upsert_rows")
        conn.execute(
            f"""
            delete from raw.quarantine q where q.entity = ? and q.record_key in (
                select cast(c.{key} as varchar) from {candidates} c
            )
            """,
            [table.name],
        )
        conn.execute(
            f"""
            insert into raw.quarantine
            select ?, ?, null, null, null, cast(c.{key} as varchar), c._raw_record, r.reason, {extracted_at_sql}
            from _rejected r join {candidates} c using (_row_id)
            """,
            [table.source, table.name],
        )
        if marks_superseded:
            superseded = [
                row[0]
                for row in conn.execute(
                    f"""
                    update {table.qualified} t set {SUPERSEDED_AT} = {extracted_at_sql}
                    from _rejected r join {candidates} c using (_row_id)
                    where t.{key} = c.{key} and t.{SUPERSEDED_AT} is null
                    returning cast(t.{key} as varchar)
                    """
                ).fetchall()
            ]
        if high_water_mark is not None:
            conn.execute(
                """
                insert into raw._sync_state values (?, ?, ?)
                on conflict (source, entity) do update
                set high_water_mark = greatest(raw._sync_state.high_water_mark, excluded.high_water_mark)
                """,
                [table.source, table.name, high_water_mark],
            )
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise

    changes = dict(conn.execute("select _change, count(*) from _upsert_rows group by _change").fetchall())
    report.received = conn.execute(f"select count(*) from {candidates}").fetchone()[0]
    report.quarantined = conn.execute("select count(*) from _rejected").fetchone()[0]
    report.loaded = changes.get("inserted", 0) + changes.get("updated", 0)
    for (reason,) in conn.execute("select reason from _rejected").fetchall():
        report.reasons[reason_family(reason)] += 1
    report.extra.update(
        inserted=changes.get("inserted", 0),
        updated=changes.get("updated", 0),
        unchanged=report.received - report.quarantined - report.loaded,
        superseded=len(superseded),
    )
    if superseded:
        log.warning(
            "%s: the newer version of %d stored record(s) was quarantined (%s%s): the stored version is marked "
            "superseded and left out until a valid version arrives; raw.quarantine names why",
            table.qualified, len(superseded), ", ".join(sorted(superseded)[:5]), ", …" if len(superseded) > 5 else "",
        )
    log.info(
        "%s: received %d, inserted %d, updated %d, quarantined %d",
        table.qualified, report.received, report.extra["inserted"], report.extra["updated"], report.quarantined,
    )
    return report
