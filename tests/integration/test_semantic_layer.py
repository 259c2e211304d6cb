"""The dbt semantic layer gives the marts' numbers: `mf query` against the session warehouse.

MetricFlow computes ratio metrics in DOUBLE (`CAST(num AS DOUBLE) / CAST(NULLIF(den, 0) AS DOUBLE)`),
the marts in exact DECIMAL(38,10): ratios must agree to the marts' 10 decimal places (half a unit
of the last place from the mart's rounding, plus DOUBLE's ~1e-15 relative error); sums are exact.
"""

import csv
import os
import shutil
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from orchestration.settings import PROJECT_ROOT
from tests.integration.conftest import Warehouse

pytestmark = pytest.mark.integration

RATIOS = {
    "cost_per_successful_task": "cost_per_successful_task_usd",
    "true_cost_per_successful_task": "true_cost_per_successful_task_usd",
    "success_rate": "success_rate",
}
TOLERANCE = 1e-10


def mf_query(db_path: Path, out: Path, metrics: list[str]) -> list[dict[str, str]]:
    """Rows of `mf query --metrics … --group-by run__workflow,metric_time__month` on `db_path`, as strings."""
    env = {**os.environ, "AGENTLEDGER_DB": str(db_path), "DBT_PROFILES_DIR": str(PROJECT_ROOT)}
    completed = subprocess.run(
        [
            str(Path(sys.executable).with_name("mf")), "query", "--quiet",
            "--metrics", ",".join(metrics),
            "--group-by", "run__workflow,metric_time__month",
            "--csv", str(out),
        ],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False, timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    with out.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_metric_queries_give_the_marts_numbers_for_every_workflow_month(warehouse: Warehouse, tmp_path: Path) -> None:
    # given a copy of the session warehouse (MetricFlow opens it read-write through dbt-duckdb); its
    # file name is the catalog the semantic manifest names
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse.db_path, copy)

    # when the headline metrics are queried by workflow and month through MetricFlow
    rows = mf_query(copy, tmp_path / "metrics.csv", [*RATIOS, "cache_savings", "successful_tasks"])

    # then every workflow-month of the marts is there, and nothing else
    metrics = {(row["run__workflow"], date.fromisoformat(row["metric_time__month"][:10])): row for row in rows}
    marts = {
        (row["workflow"], row["period_start"]): row
        for row in warehouse.query_dicts(
            """
            select economics.*, savings.savings_usd
            from marts.mart_unit_economics as economics
            inner join marts.mart_cache_savings as savings
                on economics.workflow = savings.workflow and economics.period_start = savings.month
            where economics.period = 'month'
            """
        )
    }
    assert len(marts) >= 14  # the 12 demo workflows and the hand sets, November 2026
    assert set(metrics) == set(marts)

    # and each one agrees with the marts
    for key, mart in marts.items():
        metric = metrics[key]
        assert int(metric["successful_tasks"]) == mart["successful_runs"], key
        assert Decimal(metric["cache_savings"]) == mart["savings_usd"], key
        for name, column in RATIOS.items():
            if mart[column] is None:
                assert metric[name] == "", (key, name)
            else:
                difference = abs(float(metric[name]) - float(mart[column]))
                assert difference <= TOLERANCE, (key, name, metric[name], mart[column])
