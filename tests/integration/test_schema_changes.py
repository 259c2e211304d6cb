"""A warehouse an older version built takes the models' new columns and types on its next night.

Every incremental model deletes its window's rows in a pre-hook, and DuckDB refuses to commit a
transaction that changed a table's rows before altering it: before `sync_columns_before_delete`
(macros/schema_changes.sql), the first night after an upgrade that added a column failed.
"""

import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from orchestration.settings import PROJECT_ROOT
from tests.integration.conftest import Warehouse

pytestmark = pytest.mark.integration

DBT = Path(sys.executable).with_name("dbt")


def columns(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    return conn.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()


def test_the_night_after_an_upgrade_adds_new_columns_and_alters_changed_types(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    # given a copy of the session warehouse as an older version left it: a published mart and a
    # span model without the column each gained since, and the model mix's call counts as HUGEINT
    db_path = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse.db_path, db_path)
    with duckdb.connect(str(db_path)) as conn:
        # the night rebuilt is the last day with findings: its pre-hooks have rows to delete
        day = conn.execute("select max(detected_on) from marts.mart_cost_anomalies").fetchone()[0]
        window = f"detected_on >= date '{day}'"
        built = {
            "mart_model_mix": columns(conn, "marts", "mart_model_mix"),
            "mart_cost_anomalies": columns(conn, "marts", "mart_cost_anomalies"),
            "stg_otel__span_lineage": columns(conn, "staging", "stg_otel__span_lineage"),
        }
        model_mix = conn.execute("select * from marts.mart_model_mix order by all").fetchall()
        findings = conn.execute(f"select * from marts.mart_cost_anomalies where {window} order by all").fetchall()
        conn.execute("alter table marts.mart_cost_anomalies drop column is_episode")
        conn.execute("alter table staging.stg_otel__span_lineage drop column is_counted_rollup")
        conn.execute("alter table marts.mart_model_mix alter column calls set data type hugeint")
        assert conn.execute("select count(*) from marts.mart_cost_anomalies where " + window).fetchone()[0] > 0

    # when the next night's dbt run rebuilds that day
    result = subprocess.run(
        [str(DBT), "run", "--select", "stg_otel__span_lineage", "mart_model_mix", "mart_cost_anomalies",
         "--event-time-start", f"{day}T00:00:00", "--event-time-end", f"{day + timedelta(days=1)}T00:00:00",
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"),
         "--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROJECT_ROOT)],
        cwd=PROJECT_ROOT, env={**os.environ, "AGENTLEDGER_DB": str(db_path)}, capture_output=True, text=True,
    )

    # then it succeeds; the dropped columns are back (appended last) and the type is the model's,
    # in place; the model mix and the day's findings are what the fresh build published
    assert result.returncode == 0, result.stdout[-3000:]
    with duckdb.connect(str(db_path), read_only=True) as conn:
        assert columns(conn, "marts", "mart_model_mix") == built["mart_model_mix"]
        for schema, table, added in (
            ("marts", "mart_cost_anomalies", "is_episode"), ("staging", "stg_otel__span_lineage", "is_counted_rollup")
        ):
            now = columns(conn, schema, table)
            assert now[-1][0] == added and sorted(now) == sorted(built[table])
        assert conn.execute("select * from marts.mart_model_mix order by all").fetchall() == model_mix
        in_built_order = ", ".join(name for name, _ in built["mart_cost_anomalies"])
        assert conn.execute(
            f"select {in_built_order} from marts.mart_cost_anomalies where {window} order by all"
        ).fetchall() == findings
