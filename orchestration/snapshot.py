"""Copy the published marts out of the working warehouse into a file BI tools may hold open.

A DuckDB file has one writer and locks out every other process (stack notes, pitfall 1), so a
BI tool must never open the warehouse. The snapshot is built beside the final file
(`marts.duckdb.tmp`) and renamed over it with `os.replace`: a reader that already has the old file
open keeps reading the old inode, a new connection opens the new file, and nobody ever sees a
half-written state. Parquet copies are written the same way, file by file.

Every mart becomes a TABLE: dbt-duckdb views reference the warehouse's own schemas
(`intermediate.…`), so a view copied into another file would not resolve. Tables land in the
snapshot's `main` schema, so both `fct_llm_calls` and `marts.fct_llm_calls` resolve when the file
is opened as `marts.duckdb` (a schema named `marts` inside the catalog `marts` is ambiguous to DuckDB).

No Dagster here: the asset in `publish.py` calls `write_snapshot`, and so can a test.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

# Storage format 64 with v1.0.0 serialization: every DuckDB 1.x reader opens it (and 2.x does too).
# DuckDB 2.0 writes a format 1.x cannot read; BI drivers often embed an older DuckDB.
SNAPSHOT_STORAGE_VERSION = "v1.0.0"
SNAPSHOT_ALIAS = "bi_snapshot"
INFO_TABLE = "snapshot_info"


@dataclass(frozen=True)
class TableDoc:
    """A mart's description and its columns' descriptions, from the dbt manifest."""

    description: str
    columns: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishedTable:
    """One mart as published: its row and column counts and its Parquet copy."""

    name: str
    rows: int
    columns: int
    parquet_path: Path


@dataclass(frozen=True)
class Snapshot:
    """What `write_snapshot` published."""

    path: Path
    parquet_dir: Path
    tables: list[PublishedTable]
    built_at: datetime
    storage_version: str
    removed_parquet: list[str]

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


def relations_in_schema(conn: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """Names of the tables and views in `schema` of the connection's own database."""
    rows = conn.execute(
        "select table_name from information_schema.tables "
        "where table_catalog = current_database() and table_schema = ? order by table_name",
        [schema],
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


def _copy_tables(
    conn: duckdb.DuckDBPyConnection,
    schema: str,
    tables: Sequence[str],
    parquet_dir: Path,
    docs: Mapping[str, TableDoc],
) -> list[PublishedTable]:
    """Materialize each mart as a table in the attached snapshot and write its Parquet copy (.tmp)."""
    published = []
    for table in tables:
        target = f"{SNAPSHOT_ALIAS}.main.{quote_identifier(table)}"
        conn.execute(f"create table {target} as select * from {quote_identifier(schema)}.{quote_identifier(table)}")
        rows = conn.execute(f"select count(*) from {target}").fetchone()[0]
        columns = [
            row[0]
            for row in conn.execute(
                "select column_name from duckdb_columns() where database_name = ? and schema_name = 'main' "
                "and table_name = ? order by column_index",
                [SNAPSHOT_ALIAS, table],
            ).fetchall()
        ]
        _comment(conn, table, docs.get(table), columns)
        parquet_path = parquet_dir / f"{table}.parquet"
        conn.execute(
            f"copy (select * from {target}) to {quote_literal(str(parquet_path) + '.tmp')} "
            "(format parquet, compression zstd)"
        )
        published.append(PublishedTable(name=table, rows=rows, columns=len(columns), parquet_path=parquet_path))
    return published


def _write_info(
    conn: duckdb.DuckDBPyConnection,
    built_at: datetime,
    published: list[PublishedTable],
    run_id: str | None,
    window: tuple[date, date] | None,
) -> None:
    """One row saying how fresh the snapshot is: BI dashboards show it as "data as of"."""
    target = f"{SNAPSHOT_ALIAS}.main.{INFO_TABLE}"
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
) -> Snapshot:
    """Publish `schema.<table>` for each of `tables` to `snapshot_path` and `parquet_dir/<table>.parquet`.

    Args:
        conn: A connection to the warehouse (the only writer: the snapshot is built through it).
        tables: The marts to publish, in order.
        snapshot_path: The file BI tools open, replaced atomically.
        parquet_dir: Folder of the Parquet copies, each replaced atomically; Parquet files of marts
            no longer published are removed so nobody reads a stale mart.
        schema: The warehouse schema holding the marts.
        docs: Table and column descriptions to store as comments.
        run_id: The Dagster run that built it, recorded in `snapshot_info`.
        window: First and last partition day of that run, recorded in `snapshot_info`.

    Raises:
        duckdb.Error: When a mart cannot be copied; the previous snapshot and Parquet files are left
            exactly as they were and the temporary files are removed.
    """
    docs = docs or {}
    snapshot_path.parent.mkdir(parents=True, exist_ok=True)
    parquet_dir.mkdir(parents=True, exist_ok=True)
    tmp = snapshot_path.with_name(snapshot_path.name + ".tmp")
    tmp_wal = tmp.with_name(tmp.name + ".wal")
    parquet_tmps = [parquet_dir / f"{table}.parquet.tmp" for table in tables]
    _remove(tmp, tmp_wal, *parquet_tmps)  # leftovers of a run that died half-way
    built_at = datetime.now(tz=UTC).replace(tzinfo=None)

    version = quote_literal(SNAPSHOT_STORAGE_VERSION)
    conn.execute(f"attach {quote_literal(str(tmp))} as {SNAPSHOT_ALIAS} (storage_version {version})")
    try:
        published = _copy_tables(conn, schema, tables, parquet_dir, docs)
        _write_info(conn, built_at, published, run_id, window)
    except BaseException:
        conn.execute(f"detach {SNAPSHOT_ALIAS}")
        _remove(tmp, tmp_wal, *parquet_tmps)
        raise
    conn.execute(f"detach {SNAPSHOT_ALIAS}")  # checkpoints: the file is complete, no WAL beside it

    for path in (tmp, *parquet_tmps):
        _fsync(path)
    os.replace(tmp, snapshot_path)
    for table in published:
        os.replace(table.parquet_path.with_name(table.parquet_path.name + ".tmp"), table.parquet_path)
    current = {table.parquet_path.name for table in published}
    removed = sorted(path.name for path in parquet_dir.glob("*.parquet") if path.name not in current)
    _remove(*(parquet_dir / name for name in removed))
    return Snapshot(
        path=snapshot_path,
        parquet_dir=parquet_dir,
        tables=published,
        built_at=built_at,
        storage_version=SNAPSHOT_STORAGE_VERSION,
        removed_parquet=removed,
    )
