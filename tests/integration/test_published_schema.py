"""The published schema BI tools read: every column documented in the marts' YAML, types pinned.

The column list and types of schema `marts` are snapshotted (tests/snapshots/published_schema.txt):
a rename, a dropped column or a changed type shows up as a diff to review, not in a dashboard.
"""

import json
import os

import pytest

from orchestration.settings import PROJECT_ROOT
from tests.integration.conftest import Warehouse

pytestmark = pytest.mark.integration

SNAPSHOT = PROJECT_ROOT / "tests" / "snapshots" / "published_schema.txt"


def published_columns(warehouse: Warehouse) -> dict[str, list[tuple[str, str]]]:
    """Each table of schema `marts`: its (column, type) pairs in order."""
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in warehouse.query(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' order by table_name, ordinal_position"
    ):
        tables.setdefault(table, []).append((column, data_type))
    return tables


def documented_columns() -> dict[str, list[str]]:
    """Each mart model's columns as its YAML documents them, in order (from dbt's manifest)."""
    manifest = json.loads((PROJECT_ROOT / "target" / "manifest.json").read_text())
    return {
        node["name"]: list(node["columns"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"].endswith("marts")
    }


def test_every_published_column_is_documented_in_its_order(warehouse: Warehouse) -> None:
    published = published_columns(warehouse)
    documented = documented_columns()
    assert sorted(published) == sorted(documented)
    for table, pairs in published.items():
        assert [name for name, _ in pairs] == documented[table], table


def test_the_published_schema_matches_its_snapshot(warehouse: Warehouse) -> None:
    # Set UPDATE_SNAPSHOTS=1 to accept an intended change, then review the diff: BI tools read it.
    lines = [f"{table}.{column} {data_type}" for table, pairs in published_columns(warehouse).items()
             for column, data_type in pairs]
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text("\n".join(lines) + "\n")
    elif not SNAPSHOT.exists():
        pytest.fail(f"{SNAPSHOT} is missing: run this test with UPDATE_SNAPSHOTS=1 to write it, then review it")
    assert lines == SNAPSHOT.read_text().splitlines()


def test_published_types_are_ones_every_reader_takes(warehouse: Warehouse) -> None:
    # Money is DECIMAL(38,10), counts BIGINT: a HUGEINT (what DuckDB's sum of BIGINTs gives) is
    # written to Parquet as DOUBLE, and older BI drivers do not map it at all.
    for table, pairs in published_columns(warehouse).items():
        for column, data_type in pairs:
            assert data_type != "HUGEINT", f"{table}.{column}"
            if column.endswith("_usd"):
                assert data_type == "DECIMAL(38,10)", f"{table}.{column}"
            if column.endswith("_at"):
                assert data_type == "TIMESTAMP", f"{table}.{column}"
