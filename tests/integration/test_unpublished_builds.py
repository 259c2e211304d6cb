"""A past day rebuilt by a run whose publish failed is gated and published by the next night.

The session warehouse holds 2026-11-18..21, published. A reviewer corrects a verdict on a run of
11-18 in the label file of 11-19, and 11-19 is run again by hand (rebuilding runs from 11-16), but
its publish fails (a folder stands where a Parquet file goes): the warehouse holds the new verdict,
the snapshot the old one. The night of 11-26 rebuilds runs from 11-19 on only (its window less the
7-day lookback) and finds nothing stale (the warehouse already holds the correction); a flipped
verdict changes no count or money total, so the snapshot's reuse check cannot see it either. The
night must publish 11-18 all the same.
"""

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._core.instance.ref import InstanceRef

from orchestration.publish import SNAPSHOT_KEY
from orchestration.unpublished import RELATION
from tests.integration.conftest import Warehouse, home_copy, run_job

pytestmark = pytest.mark.integration

RUN_DAY = date(2026, 11, 18)
RERUN_DAY = date(2026, 11, 19)
NIGHT = date(2026, 11, 26)


def differing_rows(db_path: Path, snapshot_path: Path, mart: str) -> int:
    """Rows of `mart` in the warehouse or in the snapshot but not in both."""
    with duckdb.connect(str(db_path), read_only=True) as conn:
        conn.execute(f"attach '{snapshot_path}' as published (read_only)")
        return conn.execute(
            f"select count(*) from ((select * from marts.{mart} except all select * from published.{mart}) "
            f"union all (select * from published.{mart} except all select * from marts.{mart}))"
        ).fetchone()[0]


def verdicts(db_path: Path, snapshot_path: Path, run_id: str) -> tuple[str, str]:
    """The run's outcome in the warehouse, and in the snapshot."""
    with duckdb.connect(str(db_path), read_only=True) as conn:
        conn.execute(f"attach '{snapshot_path}' as published (read_only)")
        return conn.execute(
            "select (select outcome from marts.fct_workflow_runs where run_id = $1), "
            "(select outcome from published.fct_workflow_runs where run_id = $1)",
            [run_id],
        ).fetchone()


def test_a_past_day_rebuilt_without_its_publish_is_published_by_the_next_night(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    # given a run of 11-18 its reviewer labeled a success in 11-19's label file, in a home of its own
    home = home_copy(warehouse, tmp_path / "home")
    db_path, snapshot_path = home / "warehouse.duckdb", home / "marts.duckdb"
    with duckdb.connect(str(db_path), read_only=True) as conn:
        run_id, rework, escalated, retry_of = conn.execute(
            """
            select runs.run_id, labels.rework_minutes, labels.escalated, labels.retry_of_run_id
            from marts.fct_workflow_runs as runs
            join raw.labels_reviews as labels using (run_id)
            where runs.run_date = $run_day and runs.outcome = 'success' and runs.outcome_source = 'label'
                and runs.workflow not like 'hand%' and labels._partition_date = $file_day
                and labels.labeled_at < $file_day + interval 1 day - interval 1 minute
            order by runs.run_id
            limit 1
            """,
            {"run_day": RUN_DAY, "file_day": RERUN_DAY},
        ).fetchone()
        money_before = conn.execute(
            "select sum(rework_cost_usd), sum(cost_usd), sum(billed_cost_usd) from marts.fct_workflow_runs"
        ).fetchone()
    assert verdicts(db_path, snapshot_path, run_id) == ("success", "success")

    # when the lead reviewer's correction to failure (discarded, no rework: no money moves) is
    # added to 11-19's file and 11-19 runs again, with a folder where the publish puts a Parquet file
    assert rework is None  # a success: no rework before either
    with (home / "labels" / f"{RERUN_DAY}.csv").open("a", encoding="utf-8") as labels:
        escalated_text = str(bool(escalated)).lower()
        labels.write(f"{run_id},failure,{RERUN_DAY}T23:59:00Z,lead.reviewer,0,{escalated_text},{retry_of or ''}\n")
    blocked = home / "marts" / "mart_unit_economics.parquet"
    blocked.unlink()
    blocked.mkdir()
    rerun = run_job(home, RERUN_DAY, RERUN_DAY)

    # then the rebuild reached the warehouse, not the snapshot, and it is remembered as unpublished
    assert not rerun.success
    assert any("bi_snapshot" in failure for failure in rerun.failures), rerun.failures
    assert verdicts(db_path, snapshot_path, run_id) == ("failure", "success")
    with duckdb.connect(str(db_path), read_only=True) as conn:
        assert conn.execute(f"select first_day, last_day from {RELATION}").fetchall() == [(RERUN_DAY, RERUN_DAY)]
        # no count or money total of the runs moved: only the verdict tells the snapshot is behind
        assert conn.execute(
            "select sum(rework_cost_usd), sum(cost_usd), sum(billed_cost_usd) from marts.fct_workflow_runs"
        ).fetchone() == money_before

    # when the folder is gone and the night of 11-26 runs
    blocked.rmdir()
    night = run_job(home, NIGHT, NIGHT)

    # then it gated and published the rebuilt day too: the snapshot is the warehouse, row for row
    assert night.success, night.failures
    assert night.recompute is None  # nothing stale: the warehouse already held the correction
    assert verdicts(db_path, snapshot_path, run_id) == ("failure", "failure")
    for mart in ("fct_workflow_runs", "fct_llm_calls", "mart_unit_economics"):
        assert (mart, differing_rows(db_path, snapshot_path, mart)) == (mart, 0)
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home / "dagster"))) as instance:
        metadata = instance.get_latest_materialization_event(SNAPSHOT_KEY).asset_materialization.metadata
        gate = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey(["marts", "fct_workflow_runs"]), "fct_workflow_runs_schema")]
        )
    # from 11-19 less each fact's lookback (runs 7 days, calls 3)
    assert metadata["refreshed_from"].value == "fct_llm_calls: 2026-11-16, fct_workflow_runs: 2026-11-12"
    evaluation = next(iter(gate.values())).event.dagster_event.event_specific_data
    assert evaluation.metadata["window"].value == "run_date between date '2026-11-12' and date '2026-11-26'"
    with duckdb.connect(str(db_path), read_only=True) as conn:
        assert conn.execute(f"select count(*) from {RELATION}").fetchone() == (0,)
