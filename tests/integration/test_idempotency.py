"""Re-running a day replaces it: three materializations of one partition leave identical tables.

The re-runs also show dbt's partial parsing carried from one run of a warehouse to the next."""

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from orchestration.dbt_state import PARSE_STATE_FILE, warehouse_dbt_folder
from tests.integration.conftest import Warehouse, run_job
from tests.integration.fingerprints import table_fingerprints

pytestmark = pytest.mark.integration


@dataclass
class Reruns:
    """A copy of the session warehouse, whose 2026-11-20 was materialized twice more."""

    db_path: Path
    fingerprints: list[dict[str, tuple[int, int]]]


@pytest.fixture(scope="module")
def reruns(warehouse: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> Reruns:
    """The session warehouse copied, then 2026-11-20 materialized a second and a third time."""
    copy = tmp_path_factory.mktemp("rerun") / "warehouse.duckdb"
    shutil.copy(warehouse.db_path, copy)
    fingerprints = [table_fingerprints(copy)]
    for _ in range(2):
        outcome = run_job(warehouse.home, date(2026, 11, 20), date(2026, 11, 20), db_path=copy)
        assert outcome.success, outcome.failures
        fingerprints.append(table_fingerprints(copy))
    return Reruns(db_path=copy, fingerprints=fingerprints)


def test_materializing_a_partition_three_times_leaves_identical_tables(reruns: Reruns) -> None:
    # given a copy of the session warehouse, where 2026-11-20 was materialized once already
    first = reruns.fingerprints[0]
    assert first["marts.fct_llm_calls"][0] > 0 and first["marts.mart_unit_economics"][0] > 0

    # when the same partition is materialized a second and a third time
    # then every table has the same rows, mart by mart
    assert reruns.fingerprints[1] == first
    assert reruns.fingerprints[2] == first


def test_the_second_run_on_a_warehouse_parses_the_dbt_project_partially(reruns: Reruns) -> None:
    # given the two runs' dbt invocations, in the copy's own dbt folder
    folder = warehouse_dbt_folder(reruns.db_path)
    invocations = sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime_ns)
    assert len(invocations) == 2 and (folder / PARSE_STATE_FILE).exists()
    # dbt rotates its log at 10 MB: the parse's lines are in the oldest part (dbt.log.1 …)
    first_log, second_log = ("".join(f.read_text() for f in sorted(p.glob("dbt.log*"))) for p in invocations)

    # then the first parsed the project in full (no state for this warehouse yet) and the second
    # started from the state the first left ("profile has changed" when the state is another warehouse's)
    assert "Unable to do partial parsing" in first_log
    assert "Unable to do partial parsing" not in second_log
    assert "skipping partial parsing" in second_log or "Partial parsing enabled" in second_log
