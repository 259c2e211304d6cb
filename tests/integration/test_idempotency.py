"""Re-running a day replaces it: three materializations of one partition leave identical tables."""

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.integration.conftest import Warehouse, run_job

pytestmark = pytest.mark.integration

# Load timestamps legitimately change between runs; everything else must not.
VOLATILE_COLUMNS = {"_extracted_at"}


def table_fingerprints(db_path: Path) -> dict[str, tuple[int, int]]:
    """(row count, order-independent checksum of the rows) of every table and view we build."""
    fingerprints = {}
    with duckdb.connect(str(db_path), read_only=True) as conn:
        relations = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw', 'staging', 'intermediate', 'marts') order by 1, 2"
        ).fetchall()
        for schema, name in relations:
            columns = [
                row[0]
                for row in conn.execute(
                    "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
                    [schema, name],
                ).fetchall()
                if row[0] not in VOLATILE_COLUMNS
            ]
            selected = ", ".join(f'"{column}"' for column in columns)
            fingerprints[f"{schema}.{name}"] = conn.execute(
                f"select count(*), coalesce(sum(hash(row({selected}))::hugeint), 0) from {schema}.{name}"
            ).fetchone()
    return fingerprints


def test_materializing_a_partition_three_times_leaves_identical_tables(warehouse: Warehouse, tmp_path: Path) -> None:
    # given a copy of the session warehouse, where 2026-11-20 was materialized once already
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse.db_path, copy)
    first = table_fingerprints(copy)
    assert first["marts.fct_llm_calls"][0] > 0 and first["marts.mart_unit_economics"][0] > 0

    # when the same partition is materialized a second and a third time
    fingerprints = [first]
    for _ in range(2):
        outcome = run_job(warehouse.home, date(2026, 11, 20), date(2026, 11, 20), db_path=copy)
        assert outcome.success, outcome.failures
        fingerprints.append(table_fingerprints(copy))

    # then every table has the same rows, mart by mart
    assert fingerprints[1] == first
    assert fingerprints[2] == first
