"""A label correction that lands after dbt's lookback still reaches the run, its day and the marts.

The session warehouse holds 2026-11-18..21. A lead reviewer flips a 11-18 run's verdict in the
label file of 11-22: the night of 11-22 rebuilds runs from 11-19 only, so the run's day must be
recomputed by the follow-up run (`orchestration.relabels`, from 11-18 through 11-22), not left
with its first verdict.
"""

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.relabels import stale_run_days
from tests.integration.conftest import Warehouse, run_job

pytestmark = pytest.mark.integration

STALE_DAY = date(2026, 11, 18)
NIGHT = date(2026, 11, 22)
# what the nightly writes again, and the labels the test adds to; everything else the run only reads
WRITTEN = {"warehouse.duckdb", "marts.duckdb", "report.html", "dagster", "labels"}


def home_copy(warehouse: Warehouse, home: Path) -> Path:
    """A home of its own: the session's inputs linked, its warehouse, snapshot and labels copied.

    The labels are read from a new path: the same labels from a moved folder must change no run.
    """
    home.mkdir()
    for entry in warehouse.home.iterdir():
        if entry.name not in WRITTEN:
            (home / entry.name).symlink_to(entry)
    shutil.copytree(warehouse.home / "labels", home / "labels")
    shutil.copy(warehouse.db_path, home / "warehouse.duckdb")
    if (warehouse.home / "marts.duckdb").exists():
        shutil.copy(warehouse.home / "marts.duckdb", home / "marts.duckdb")
    return home


def day_row(db_path: Path, workflow: str) -> tuple:
    with duckdb.connect(str(db_path), read_only=True) as conn:
        return conn.execute(
            "select successful_runs, failed_runs, cost_per_successful_task_usd from marts.mart_unit_economics "
            "where workflow = ? and period = 'day' and period_start = ?",
            [workflow, STALE_DAY],
        ).fetchone()


def test_a_correction_after_the_lookback_recomputes_the_run_s_day(warehouse: Warehouse, tmp_path: Path) -> None:
    # given a run of 11-18 a reviewer labeled a success, in a home of its own
    home = home_copy(warehouse, tmp_path / "home")
    db_path = home / "warehouse.duckdb"
    with duckdb.connect(str(db_path), read_only=True) as conn:
        run_id, workflow = conn.execute(
            "select run_id, workflow from marts.fct_workflow_runs "
            "where run_date = ? and outcome = 'success' and outcome_source = 'label' "
            "and workflow not like 'hand%' order by run_id limit 1",
            [STALE_DAY],
        ).fetchone()
        # every run was built from its newest label: the model's fingerprint of the deciding label
        # equals the one relabels.py computes from the raw labels, for all of them
        assert stale_run_days(conn) == []
    before = day_row(db_path, workflow)

    # when the lead reviewer's correction to failure arrives in 11-22's label file and 11-22 runs
    (home / "labels" / f"{NIGHT}.csv").write_text(
        "run_id,outcome,labeled_at,reviewer,rework_minutes,escalated,retry_of_run_id\n"
        f"{run_id},failure,{NIGHT}T08:30:00Z,lead.reviewer,30,false,\n"
    )
    outcome = run_job(home, NIGHT, NIGHT)

    # then the night succeeded and recomputed 11-18 for that one run
    assert outcome.success, outcome.failures
    assert outcome.recompute is not None
    assert outcome.recompute.days == [(STALE_DAY, 1)]
    assert outcome.recompute.run.success, outcome.recompute.run.failures
    with duckdb.connect(str(db_path), read_only=True) as conn:
        assert stale_run_days(conn) == []

    # and the run, its day's unit economics and the published snapshot carry the correction
    with duckdb.connect(str(db_path), read_only=True) as conn:
        run = conn.execute(
            "select outcome, rework_minutes from marts.fct_workflow_runs where run_id = ?", [run_id]
        ).fetchone()
    assert run == ("failure", 30)
    after = day_row(db_path, workflow)
    assert (after[0], after[1]) == (before[0] - 1, before[1] + 1)
    assert after[2] != before[2]
    with duckdb.connect(str(home / "marts.duckdb"), read_only=True) as conn:
        published = conn.execute("select outcome from fct_workflow_runs where run_id = ?", [run_id]).fetchone()
        covered = conn.execute("select first_partition_date, last_partition_date from snapshot_info").fetchone()
    assert published == ("failure",)
    # the recompute ran from the corrected day through the night: the snapshot's data is still as of 11-22
    assert covered == (STALE_DAY, NIGHT)
