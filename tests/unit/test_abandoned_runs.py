"""A command-line run a kill left STARTED is marked failed by the next run on its warehouse, and only it."""

from pathlib import Path

import dagster as dg

from orchestration.abandoned_runs import ABANDONED, WAREHOUSE_TAG, fail_abandoned_runs


def test_only_this_warehouses_unfinished_command_line_runs_are_marked_failed(tmp_path: Path) -> None:
    # given, in the run history: a run on this warehouse left STARTED (its process killed), a finished
    # one, one on another warehouse, and one the daemon launched (no warehouse tag)
    warehouse = tmp_path / "warehouse.duckdb"

    def add(run_id: str, status: dg.DagsterRunStatus, tags: dict[str, str]) -> None:
        instance.add_run(dg.DagsterRun(job_name="nightly", run_id=run_id, status=status, tags=tags))

    with dg.instance_for_test() as instance:
        add("killed", dg.DagsterRunStatus.STARTED, {WAREHOUSE_TAG: str(warehouse)})
        add("finished", dg.DagsterRunStatus.SUCCESS, {WAREHOUSE_TAG: str(warehouse)})
        add("other", dg.DagsterRunStatus.STARTED, {WAREHOUSE_TAG: str(tmp_path / "other.duckdb")})
        add("daemon", dg.DagsterRunStatus.STARTED, {})

        # when the next run on this warehouse starts
        marked = fail_abandoned_runs(instance, warehouse)

        # then only the killed run is failed, saying why
        assert marked == ["killed"]
        runs = ("killed", "finished", "other", "daemon")
        statuses = {run_id: instance.get_run_by_id(run_id).status.value for run_id in runs}
        assert statuses == {"killed": "FAILURE", "finished": "SUCCESS", "other": "STARTED", "daemon": "STARTED"}
        events = [record.event_log_entry.dagster_event for record in instance.get_records_for_run("killed").records]
        assert ABANDONED in [event.message for event in events if event is not None]
