"""Copy the published marts out of the working warehouse into a file BI tools may hold open.

A DuckDB file has one writer and locks out every other process (stack notes, pitfall 1), so a
BI tool must never open the warehouse. The snapshot is built beside the final file
(`marts.duckdb.tmp`) and renamed over it with `os.replace`: a reader that already has the old file
open keeps reading the old inode, a new connection opens the new file, and nobody ever sees a
half-written state. Parquet copies are written the same way, file by file. The set is swapped in
all or nothing (`_swap_in`): Parquet files first, `marts.duckdb` (with `snapshot_info`) last, each
old file kept as a hard link until the last is in place; a failure puts every old file back, and a
publish that was killed half-way is rolled back by the next one (its journal says what it was
replacing). Until that next publish, such a kill leaves Parquet files of two runs beside the old
`marts.duckdb` (which never mixes): the journal `.publishing.json` beside it says so.

The nightly run changes only its window's days, so the snapshot does not rebuild what it already
holds: when the previous snapshot publishes the same marts, it is copied (a file copy, not a query)
and the day-partitioned facts (`fct_llm_calls`, `fct_workflow_runs`) get only their rows from the
window's first day (less dbt's lookback) replaced; their Parquet copies are one file per month, of
which only the months from that day on are rewritten. Everything else is small and is replaced
whole. Measured on 360 days of history (1.8M calls): 9.9 s → see bench/RESULTS.md. A previous
snapshot that does not match (another mart list, a column changed, a count of rows before the
window that differs from the warehouse's, as after a full refresh) is rebuilt whole, with the reason
logged. The rows such a copy takes from before the days the facts' gates checked are validated
first (`check_ungated`): they are published checked, or not at all.

Every mart becomes a TABLE: dbt-duckdb views reference the warehouse's own schemas
(`intermediate.…`), so a view copied into another file would not resolve. Tables land in the
snapshot's `main` schema, so both `fct_llm_calls` and `marts.fct_llm_calls` resolve when the file
is opened as `marts.duckdb` (a schema named `marts` inside the catalog `marts` is ambiguous to DuckDB).

No Dagster here: the asset in `publish.py` calls `write_snapshot`, and so can a test.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

# Storage format 64 with v1.0.0 serialization: every DuckDB 1.x reader opens it (and 2.x does too).
# DuckDB 2.0 writes a format 1.x cannot read; BI drivers often embed an older DuckDB.
SNAPSHOT_STORAGE_VERSION = "v1.0.0"
SNAPSHOT_ALIAS = "bi_snapshot"
INFO_TABLE = "snapshot_info"
# The README's "Published schema" lists the same.
INFO_COLUMN_COMMENTS = {
    "built_at": "When the snapshot was built, UTC.",
    "dagster_run_id": "The Dagster run that built it.",
    "first_partition_date": "First partition day of that run (NULL for a publish outside a partitioned run).",
    "last_partition_date": "Last partition day of that run: BI dashboards show it as data as of.",
    "published_tables": "The marts this snapshot holds, in order.",
}


@dataclass(frozen=True)
class TableDoc:
    """A mart's description and its columns' descriptions, from the dbt manifest."""

    description: str
    columns: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishedTable:
    """One mart as published: its row and column counts and its Parquet copy.

    `parquet_path` is `<mart>.parquet`, or for a day-partitioned fact the folder `<mart>/` of its
    monthly files `YYYY-MM.parquet`. `refreshed_from` is the first day whose rows this run
    replaced, when the rest was kept from the previous snapshot (None: written whole).
    """

    name: str
    rows: int
    columns: int
    parquet_path: Path
    refreshed_from: date | None = None
    parquet_files_written: int = 1


@dataclass(frozen=True)
class Snapshot:
    """What `write_snapshot` published."""

    path: Path
    parquet_dir: Path
    tables: list[PublishedTable]
    built_at: datetime
    storage_version: str
    removed_parquet: list[str]
    rebuilt_because: str | None = None

    @property
    def total_rows(self) -> int:
        """Rows over every published table."""
        return sum(table.rows for table in self.tables)


def quote_identifier(name: str) -> str:
    """`name` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """`text` as a single-quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def relations_in_schema(conn: duckdb.DuckDBPyConnection, schema: str, database: str | None = None) -> list[str]:
    """Names of the tables and views in `schema` of `database` (default: the connection's own)."""
    rows = conn.execute(
        "select table_name from information_schema.tables "
        "where table_catalog = coalesce(?, current_database()) and table_schema = ? order by table_name",
        [database, schema],
    ).fetchall()
    return [row[0] for row in rows]


def mart_docs(manifest_path: Path, schema: str = "marts") -> dict[str, TableDoc]:
    """Descriptions of the models in `schema` from dbt's manifest ({} when there is no manifest).

    They become table and column comments in the snapshot, so a BI tool that shows comments shows
    the same documentation as the YAML beside the models.
    """
    if not manifest_path.exists():
        return {}
    manifest = json.loads(manifest_path.read_text())
    docs: dict[str, TableDoc] = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model" or node.get("schema") != schema:
            continue
        name = node.get("alias") or node["name"]
        columns = {column: (meta.get("description") or "") for column, meta in node.get("columns", {}).items()}
        docs[name] = TableDoc(description=node.get("description") or "", columns=columns)
    return docs


def _fsync(path: Path) -> None:
    """Flush a finished file to disk before it is renamed into place (a crash must not publish a hole)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _remove(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


BACKUP_SUFFIX = ".previous"
JOURNAL_NAME = ".publishing.json"


def _backup(path: Path) -> Path:
    return path.with_name(path.name + BACKUP_SUFFIX)


def _swap_in(finals: Sequence[Path], journal: Path) -> None:
    """Move each `<final>.tmp` over `<final>`, all or nothing.

    Every destination is checked, and every existing one kept as a hard link (`<final>.previous`),
    before the first is replaced; the journal lists them with whether each existed. On any error,
    and at the next publish after a kill (`_roll_back`), the old files are put back and the new
    ones that had none removed.
    """
    for final in finals:
        if final.is_dir():
            raise IsADirectoryError(f"cannot publish {final}: a folder is in its place; move it away and run again")
    journal.write_text(json.dumps({str(final): final.exists() for final in finals}))
    _fsync(journal)
    try:
        for final in finals:
            if final.exists():
                _remove(_backup(final))
                os.link(final, _backup(final))
        for final in finals:
            os.replace(final.with_name(final.name + ".tmp"), final)
    except BaseException:
        _roll_back(journal)
        raise
    journal.unlink()
    _remove(*(_backup(final) for final in finals))


def _roll_back(journal: Path) -> list[str]:
    """Undo a swap the journal describes (one that failed, or was killed); returns the files put back."""
    restored = []
    for name, existed in json.loads(journal.read_text()).items():
        final = Path(name)
        if existed and _backup(final).exists():
            os.replace(_backup(final), final)
            restored.append(name)
        elif not existed:
            _remove(final)
    journal.unlink()
    return restored


def _comment(conn: duckdb.DuckDBPyConnection, table: str, doc: TableDoc | None, columns: list[str]) -> None:
    if doc is None:
        return
    target = f"{SNAPSHOT_ALIAS}.main.{quote_identifier(table)}"
    if doc.description.strip():
        conn.execute(f"comment on table {target} is {quote_literal(doc.description.strip())}")
    for column in columns:
        text = (doc.columns.get(column) or "").strip()
        if text:
            conn.execute(f"comment on column {target}.{quote_identifier(column)} is {quote_literal(text)}")


def _columns(
    conn: duckdb.DuckDBPyConnection, database: str | None, schema: str, table: str
) -> list[tuple[str, str]]:
    """(name, type) of a relation's columns, in order; `database` None is the connection's own."""
    return [
        (row[0], row[1])
        for row in conn.execute(
            "select column_name, data_type from duckdb_columns() where database_name = coalesce(?, current_database()) "
            "and schema_name = ? and table_name = ? order by column_index",
            [database, schema, table],
        ).fetchall()
    ]


def _month_key(date_column: str) -> str:
    """SQL for the Parquet file a row of a day-partitioned fact goes to: its month, or `undated`."""
    return f"coalesce(strftime({quote_identifier(date_column)}, '%Y-%m'), 'undated')"


def _write_parquet(conn: duckdb.DuckDBPyConnection, select: str, path: Path) -> None:
    conn.execute(f"copy ({select}) to {quote_literal(str(path) + '.tmp')} (format parquet, compression zstd)")


def _write_monthly_parquet(
    conn: duckdb.DuckDBPyConnection, target: str, date_column: str, folder: Path, since: date | None
) -> tuple[list[Path], list[str]]:
    """Write `folder/YYYY-MM.parquet.tmp` for each month of `target` from `since`'s month (all when None).

    Returns the final paths of the files written and the months that no longer have rows (their
    files are to be removed).
    """
    folder.mkdir(parents=True, exist_ok=True)
    key = _month_key(date_column)
    first_month = since.replace(day=1) if since else None
    scope = f"where {quote_identifier(date_column)} >= date '{first_month}'" if first_month else ""
    months = [row[0] for row in conn.execute(f"select distinct {key} from {target} {scope} order by 1").fetchall()]
    written = []
    for month in months:
        path = folder / f"{month}.parquet"
        _write_parquet(conn, f"select * from {target} where {key} = {quote_literal(month)}", path)
        written.append(path)
    existing = {p.name.removesuffix(".parquet") for p in folder.glob("*.parquet")}
    in_scope = {m for m in existing if first_month is None or m == "undated" or m >= f"{first_month:%Y-%m}"}
    gone = sorted(in_scope - set(months))
    return written, gone


def _previous_snapshot_usable(snapshot_path: Path, tables: Sequence[str]) -> str | None:
    """Why the previous snapshot cannot be the starting point of this one (None: it can)."""
    if not snapshot_path.exists():
        return "no previous snapshot"
    try:
        with duckdb.connect(str(snapshot_path), read_only=True) as previous:
            published = previous.execute(f"select published_tables from {INFO_TABLE}").fetchone()
    except duckdb.Error as error:
        return f"the previous snapshot could not be read ({type(error).__name__})"
    if published is None or list(published[0]) != list(tables):
        return "the previous snapshot publishes other marts"
    return None


def _refresh_window(
    conn: duckdb.DuckDBPyConnection, schema: str, table: str, date_column: str, since: date
) -> str | None:
    """Replace the rows of `table` from `since` on in the attached snapshot; why not, if it cannot.

    The rows before `since` are kept only when they can be trusted: same columns and types as the
    warehouse, and the same number of rows and the same totals of every money (DECIMAL) column
    before `since` on both sides. A re-run of older days changes the count; a repricing (a price
    override given a past start, a fixed price rule) keeps it and changes the totals. Either way
    the table is copied whole. A change of other columns alone (a model renamed by a full refresh)
    is not seen: delete the snapshot to have it written whole. The totals read a few columns of history: tenths
    of a second on the benchmark's 10M calls.
    """
    target = f"{SNAPSHOT_ALIAS}.main.{quote_identifier(table)}"
    source = f"{quote_identifier(schema)}.{quote_identifier(table)}"
    columns = _columns(conn, None, schema, table)
    if _columns(conn, SNAPSHOT_ALIAS, "main", table) != columns:
        return f"{table}: its columns changed"
    column = quote_identifier(date_column)
    before = f"{column} < date '{since}'"
    money = [name for name, data_type in columns if data_type.startswith("DECIMAL")]
    # the count of values too: a cost going from NULL (unpriced) to 0 (free) keeps the sum
    totals = "".join(f", sum({quote_identifier(name)}), count({quote_identifier(name)})" for name in money)
    kept, *kept_totals = conn.execute(f"select count(*){totals} from {target} where {before}").fetchone()
    expected, *expected_totals = conn.execute(f"select count(*){totals} from {source} where {before}").fetchone()
    if kept != expected:
        return f"{table}: {kept:,} rows before {since} in the previous snapshot, {expected:,} in the warehouse"
    changed = [
        name
        for index, name in enumerate(money)
        if kept_totals[2 * index : 2 * index + 2] != expected_totals[2 * index : 2 * index + 2]
    ]
    if changed:
        return f"{table}: its rows before {since} changed in the warehouse ({', '.join(changed)} totals differ)"
    conn.execute(f"delete from {target} where {column} >= date '{since}' or {column} is null")
    conn.execute(f"insert into {target} select * from {source} where {column} >= date '{since}' or {column} is null")
    return None


def _copy_tables(
    conn: duckdb.DuckDBPyConnection,
    schema: str,
    tables: Sequence[str],
    parquet_dir: Path,
    docs: Mapping[str, TableDoc],
    *,
    windowed: Mapping[str, tuple[str, int]],
    since: Mapping[str, date],
    log: Callable[[str], None],
    gated_from: Mapping[str, date],
    check_ungated: Callable[[str, str], None] | None,
) -> tuple[list[PublishedTable], list[Path], list[Path]]:
    """Bring each mart of the attached snapshot up to date and write its Parquet copy (.tmp files).

    With `since`, the attached snapshot is a copy of the previous one: the marts in `windowed`
    (name → (date column, lookback)) get their rows from `since[name]` on replaced, the others are
    replaced whole. The rows a mart of `gated_from` takes from the warehouse before that day (its
    gate checked the days from it on) go to `check_ungated(table, predicate)` first, which raises
    to stop the publish.

    Returns the published tables, the final paths of the Parquet files written (as .tmp for now)
    and the Parquet files to remove (months that lost their rows, old single-file copies).
    """
    published, written, stale = [], [], []
    existing = set(relations_in_schema(conn, "main", SNAPSHOT_ALIAS))
    for table in tables:
        target = f"{SNAPSHOT_ALIAS}.main.{quote_identifier(table)}"
        date_column = windowed[table][0] if table in windowed else None
        refreshed_from = None
        if table in since and date_column is not None and table in existing:
            why_not = _refresh_window(conn, schema, table, date_column, since[table])
            if why_not is None:
                refreshed_from = since[table]
            else:
                log(f"snapshot: {why_not}; copying it whole")
        takes_ungated_rows = table in gated_from and (refreshed_from is None or refreshed_from < gated_from[table])
        if takes_ungated_rows and date_column is not None and check_ungated is not None:
            column = quote_identifier(date_column)
            ungated = f"({column} < date '{gated_from[table]}' or {column} is null)"
            if refreshed_from is not None:
                ungated += f" and {column} >= date '{refreshed_from}'"
            check_ungated(table, ungated)
        if refreshed_from is None:
            conn.execute(f"drop table if exists {target}")
            conn.execute(
                f"create table {target} as select * from {quote_identifier(schema)}.{quote_identifier(table)}"
            )
        rows = conn.execute(f"select count(*) from {target}").fetchone()[0]
        columns = [name for name, _ in _columns(conn, SNAPSHOT_ALIAS, "main", table)]
        _comment(conn, table, docs.get(table), columns)
        if date_column is None:
            parquet_path = parquet_dir / f"{table}.parquet"
            _write_parquet(conn, f"select * from {target}", parquet_path)
            files = [parquet_path]
        else:
            parquet_path = parquet_dir / table
            whole = refreshed_from is None or not any(parquet_path.glob("*.parquet"))
            files, gone = _write_monthly_parquet(
                conn, target, date_column, parquet_path, None if whole else refreshed_from
            )
            stale += [parquet_path / f"{month}.parquet" for month in gone]
            stale.append(parquet_dir / f"{table}.parquet")  # the layout before monthly files
        written += files
        published.append(
            PublishedTable(
                name=table, rows=rows, columns=len(columns), parquet_path=parquet_path,
                refreshed_from=refreshed_from, parquet_files_written=len(files),
            )
        )
    return published, written, stale


def _write_info(
    conn: duckdb.DuckDBPyConnection,
    built_at: datetime,
    published: list[PublishedTable],
    run_id: str | None,
    window: tuple[date, date] | None,
) -> None:
    """One row saying how fresh the snapshot is: BI dashboards show it as "data as of"."""
    target = f"{SNAPSHOT_ALIAS}.main.{INFO_TABLE}"
    conn.execute(f"drop table if exists {target}")
    conn.execute(
        f"create table {target} (built_at timestamp, dagster_run_id varchar, first_partition_date date, "
        "last_partition_date date, published_tables varchar[])"
    )
    first, last = window or (None, None)
    tables = [table.name for table in published]
    conn.execute(f"insert into {target} values (?, ?, ?, ?, ?)", [built_at, run_id, first, last, tables])
    conn.execute(
        f"comment on table {target} is 'When this snapshot was built (UTC), by which Dagster run, over which "
        "partition days, and which marts it holds.'"
    )
    for column, comment in INFO_COLUMN_COMMENTS.items():
        conn.execute(f"comment on column {target}.{column} is {quote_literal(comment)}")


def _gated_from(
    window: tuple[date, date] | None, windowed: Mapping[str, tuple[str, int]], unpublished_from: Mapping[str, date]
) -> dict[str, date]:
    """The first day each mart of `windowed` was gated from: the window less its lookback, or an unpublished day."""
    if window is None:
        return {}
    gated = {table: window[0] - timedelta(days=lookback) for table, (_, lookback) in windowed.items()}
    for table, day in unpublished_from.items():
        if table in gated:
            gated[table] = min(gated[table], day)
    return gated


def write_snapshot(
    conn: duckdb.DuckDBPyConnection,
    tables: Sequence[str],
    snapshot_path: Path,
    parquet_dir: Path,
    *,
    schema: str = "marts",
    docs: Mapping[str, TableDoc] | None = None,
    run_id: str | None = None,
    window: tuple[date, date] | None = None,
    windowed: Mapping[str, tuple[str, int]] | None = None,
    restated_from: Mapping[str, date] | None = None,
    unpublished_from: Mapping[str, date] | None = None,
    log: Callable[[str], None] = lambda message: None,
    check_ungated: Callable[[str, str], None] | None = None,
) -> Snapshot:
    """Publish `schema.<table>` for each of `tables` to `snapshot_path` and Parquet under `parquet_dir`.

    Args:
        conn: A connection to the warehouse (the only writer: the snapshot is built through it).
        tables: The marts to publish, in order.
        snapshot_path: The file BI tools open, replaced atomically.
        parquet_dir: Folder of the Parquet copies (`<mart>.parquet`; `<mart>/YYYY-MM.parquet` for the
            marts in `windowed`), each file replaced atomically; Parquet files of marts no longer
            published, or of months that lost their rows, are removed so nobody reads stale rows.
        schema: The warehouse schema holding the marts.
        docs: Table and column descriptions to store as comments.
        run_id: The Dagster run that built it, recorded in `snapshot_info`.
        window: First and last partition day of that run, recorded in `snapshot_info`; with
            `windowed`, the previous snapshot is updated from the window's first day on.
        windowed: Marts partitioned by day (name → (DATE column, lookback days)) whose rows before
            the window's first day less the lookback do not change in a run; published as monthly
            Parquet files.
        restated_from: For marts in `windowed`, a day before the lookback from which their rows are
            known to have changed all the same (a restated bill): updated from that day on.
        unpublished_from: For marts in `windowed`, the first day an earlier run rebuilt without
            publishing it (`orchestration.unpublished`): updated from that day on too.
        log: Where to say why the previous snapshot was not reused.
        check_ungated: Called with a mart of `windowed` and a SQL predicate over its rows when the
            publish takes rows of it its gate did not check (the gates check the window less the
            lookback, and the unpublished days): a mart copied whole, or refreshed from a restated
            bill's day. It raises to stop the publish, which then changes no file.

    Raises:
        duckdb.Error: When a mart cannot be copied; the previous snapshot and Parquet files are left
            exactly as they were and the temporary files are removed.
        OSError: When a file cannot be put in place (a folder where a file goes, a file that may not
            be replaced); every file is left, or put back, as it was.
    """
    docs = docs or {}
    windowed = windowed or {}
    snapshot_path.parent.mkdir(parents=True, exist_ok=True)
    parquet_dir.mkdir(parents=True, exist_ok=True)
    tmp = snapshot_path.with_name(snapshot_path.name + ".tmp")
    tmp_wal = tmp.with_name(tmp.name + ".wal")
    journal = snapshot_path.with_name(JOURNAL_NAME)
    if journal.exists():  # a publish killed while swapping its files in: the previous set comes back
        restored = _roll_back(journal)
        log(f"snapshot: an interrupted publish was rolled back ({len(restored)} files put back)")
    leftovers = [*parquet_dir.glob("*.parquet.tmp"), *parquet_dir.glob("*/*.parquet.tmp")]
    backups = [*parquet_dir.glob(f"*{BACKUP_SUFFIX}"), *parquet_dir.glob(f"*/*{BACKUP_SUFFIX}"), _backup(snapshot_path)]
    _remove(tmp, tmp_wal, *leftovers, *backups)  # leftovers of a run that died half-way
    built_at = datetime.now(tz=UTC).replace(tzinfo=None)

    since: dict[str, date] = {}
    gated_from = _gated_from(window, windowed, unpublished_from or {})
    rebuilt_because = "no day-partitioned marts" if not windowed else "the run has no partition window"
    if window is not None and windowed:
        rebuilt_because = _previous_snapshot_usable(snapshot_path, tables)
        if rebuilt_because is None:
            since = {table: window[0] - timedelta(days=lookback) for table, (_, lookback) in windowed.items()}
            reasons = [(restated_from, "a restated bill"), (unpublished_from, "rebuilt by a run that did not publish")]
            for days, reason in reasons:
                for table, day in (days or {}).items():
                    if table in since and day < since[table]:
                        log(f"snapshot: {table} changed from {day} on, before its lookback ({reason})")
                        since[table] = day
            shutil.copyfile(snapshot_path, tmp)
        else:
            log(f"snapshot: written whole ({rebuilt_because})")

    version = quote_literal(SNAPSHOT_STORAGE_VERSION)
    written: list[Path] = []
    options = "" if since else f" (storage_version {version})"
    conn.execute(f"attach {quote_literal(str(tmp))} as {SNAPSHOT_ALIAS}{options}")
    try:
        published, written, stale = _copy_tables(
            conn, schema, tables, parquet_dir, docs, windowed=windowed, since=since, log=log,
            gated_from=gated_from, check_ungated=check_ungated,
        )
        _write_info(conn, built_at, published, run_id, window)
    except BaseException:
        conn.execute(f"detach {SNAPSHOT_ALIAS}")
        _remove(tmp, tmp_wal, *(path.with_name(path.name + ".tmp") for path in written))
        _remove(*[*parquet_dir.glob("*.parquet.tmp"), *parquet_dir.glob("*/*.parquet.tmp")])
        raise
    conn.execute(f"detach {SNAPSHOT_ALIAS}")  # checkpoints: the file is complete, no WAL beside it

    # Parquet first, the snapshot (and its snapshot_info) last: the run it names is whole
    finals = [*written, snapshot_path]
    try:
        for path in finals:
            _fsync(path.with_name(path.name + ".tmp"))
        _swap_in(finals, journal)
    except BaseException:
        _remove(tmp, tmp_wal, *(path.with_name(path.name + ".tmp") for path in written))
        raise
    current = {table.name for table in published}
    unpublished = [
        path for path in parquet_dir.glob("*.parquet") if path.name.removesuffix(".parquet") not in current
    ] + [path for path in parquet_dir.iterdir() if path.is_dir() and path.name not in current]
    removed_paths = [path for path in stale if path.exists()] + unpublished
    removed = sorted(str(path.relative_to(parquet_dir)) for path in removed_paths)
    for path in removed_paths:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return Snapshot(
        path=snapshot_path,
        parquet_dir=parquet_dir,
        tables=published,
        built_at=built_at,
        storage_version=SNAPSHOT_STORAGE_VERSION,
        removed_parquet=removed,
        rebuilt_because=rebuilt_because,
    )
