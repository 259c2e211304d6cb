"""Runs the command line started whose process died: marked failed, so the UI stops showing them running.

A run killed with SIGKILL (or by the OOM killer) records nothing more: Dagster's run history keeps it
STARTED for ever, and the UI shows it in progress next to the nights that followed. The next
`agentledger` run on the same warehouse holds its run lock (orchestration/run_lock.py), so no other
command-line run on it can still be going: each one left STARTED is marked failed, saying why.
Runs the Dagster daemon launched carry no warehouse tag and are left to its own run monitoring.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

# The warehouse a command-line run worked on, as a run tag.
WAREHOUSE_TAG = "agentledger/warehouse"
UNFINISHED = (dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED)
ABANDONED = "its process ended before it finished (killed?); marked failed by the next agentledger run"


def fail_abandoned_runs(instance: dg.DagsterInstance, warehouse: Path) -> list[str]:
    """Mark failed the unfinished command-line runs on `warehouse`; returns their run ids.

    Call it only while holding the warehouse's run lock: it is what proves their processes gone.
    """
    runs = instance.get_runs(
        filters=dg.RunsFilter(statuses=list(UNFINISHED), tags={WAREHOUSE_TAG: str(warehouse)})
    )
    for run in runs:
        instance.report_run_failed(run, message=ABANDONED)
    return [run.run_id for run in runs]
