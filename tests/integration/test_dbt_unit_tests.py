"""The dbt unit tests (hand-computed fixtures in the models' YAML), run once here instead of nightly."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.settings import PROJECT_ROOT
from tests.integration.conftest import Warehouse

pytestmark = pytest.mark.integration


def test_every_dbt_unit_test_passes(warehouse: Warehouse, tmp_path: Path) -> None:
    # given the session warehouse (unit tests read the column types of their models' inputs from it)
    db_path = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse.db_path, db_path)
    manifest = json.loads((PROJECT_ROOT / "target" / "manifest.json").read_text())
    defined = {key for key in manifest["unit_tests"]}
    assert len(defined) >= 40

    # when dbt runs every unit test
    dbt = Path(sys.executable).with_name("dbt")
    done = subprocess.run(
        [str(dbt), "test", "--select", "test_type:unit", "--target-path", str(tmp_path / "target"),
         "--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROJECT_ROOT)],
        cwd=PROJECT_ROOT, env={**os.environ, "AGENTLEDGER_DB": str(db_path)}, capture_output=True, text=True,
    )  # fmt: skip

    # then each one ran and passed
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    failed = [(r["unique_id"], r["message"]) for r in results if r["status"] != "pass"]
    assert done.returncode == 0 and failed == [], done.stdout[-3000:]
    assert {r["unique_id"] for r in results} == defined
