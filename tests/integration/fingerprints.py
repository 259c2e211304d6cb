"""Order-independent fingerprints of the tables a run builds, to compare two warehouses or two runs."""

from collections.abc import Mapping
from pathlib import Path

import duckdb

# Load timestamps legitimately change between runs; everything else must not.
VOLATILE_COLUMNS = frozenset({"_extracted_at"})
WAREHOUSE_SCHEMAS = ("raw", "staging", "intermediate", "marts")


def table_fingerprints(
    db_path: Path,
    schemas: tuple[str, ...] = WAREHOUSE_SCHEMAS,
    ignored: frozenset[str] = VOLATILE_COLUMNS,
    masked: Mapping[str, Mapping[str, str]] | None = None,
    filters: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> dict[str, tuple[int, int]]:
    """(row count, order-independent checksum of the rows) of every table and view in `schemas`.

    `ignored` names columns left out wherever they are; `masked` replaces a column of a table
    (`schema.table`) by a SQL expression, `filters` keeps only the rows of a table a condition holds
    for: what two runs may rightly disagree on, said table by table. With `home`, a `_source_file`
    is compared as its path under that folder, so two homes holding the same files compare equal.
    """
    masked, filters = masked or {}, filters or {}
    relative = f"replace(\"_source_file\", '{home}/', '')" if home is not None else '"_source_file"'
    fingerprints = {}
    with duckdb.connect(str(db_path), read_only=True) as conn:
        relations = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in ({', '.join('?' * len(schemas))}) order by 1, 2",
            list(schemas),
        ).fetchall()
        for schema, name in relations:
            table = f"{schema}.{name}"
            columns = [
                masked.get(table, {}).get(column, relative if column == "_source_file" else f'"{column}"')
                for (column,) in conn.execute(
                    "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                    "order by ordinal_position",
                    [schema, name],
                ).fetchall()
                if column not in ignored
            ]
            where = f"where {filters[table]}" if table in filters else ""
            fingerprints[table] = conn.execute(
                f"select count(*), coalesce(sum(hash(row({', '.join(columns)}))::hugeint), 0) from {table} {where}"
            ).fetchone()
    return fingerprints
