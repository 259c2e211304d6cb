"""A label correction or an evaluation that lands after dbt's lookback still reaches the run, its day and the marts.

The session warehouse holds 2026-11-18..21. A lead reviewer flips a 11-18 run's verdict in the
label file of 11-22, and an evaluator fails another 11-18 run in a log file of 11-22: the night of
11-22 rebuilds runs from 11-19 only, so the runs' day must be recomputed by the follow-up run
(`orchestration.relabels`, from 11-18 through 11-22), not left with their first verdicts.
"""

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.demo.otlp import LogRecord, logs_data, unix_nanos, write_lines
from orchestration.relabels import stale_run_days
from tests.integration.conftest import Warehouse, home_copy, run_job

pytestmark = pytest.mark.integration

STALE_DAY = date(2026, 11, 18)
NIGHT = date(2026, 11, 22)
def day_row(db_path: Path, workflow: str) -> tuple:
    with duckdb.connect(str(db_path), read_only=True) as conn:
        return conn.execute(
            "select successful_runs, failed_runs, cost_per_successful_task_usd from marts.mart_unit_economics "
            "where workflow = ? and period = 'day' and period_start = ?",
            [workflow, STALE_DAY],
        ).fetchone()


def test_a_correction_and_an_evaluation_after_the_lookback_recompute_their_runs_day(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    # given a run of 11-18 a reviewer labeled a success and one an evaluation passed, in a home of its own
    home = home_copy(warehouse, tmp_path / "home")
    db_path = home / "warehouse.duckdb"
    with duckdb.connect(str(db_path), read_only=True) as conn:
        runs = {
            source: conn.execute(
                "select run_id, workflow from marts.fct_workflow_runs "
                "where run_date = ? and outcome = 'success' and outcome_source = ? "
                "and workflow not like 'hand%' order by run_id limit 1",
                [STALE_DAY, source],
            ).fetchone()
            for source in ("label", "evaluation")
        }
        evaluated_run = runs["evaluation"][0]
        trace_id, span_id = conn.execute(
            "select trace_id, span_id from staging.stg_otel__spans where run_id = ? order by started_at limit 1",
            [evaluated_run],
        ).fetchone()
        # every run was built from its newest label and its latest evaluation: the model's stored
        # verdicts equal the ones relabels.py finds over all history, for all of them
        assert stale_run_days(conn) == []
        # labels the night's window reads (from 11-19) that name runs no trace holds: the demo's
        # truncated export line lost some labeled runs' spans
        unknown = conn.execute(
            "select count(*) from staging.stg_labels__reviews l where labeled_at >= ? "
            "and not exists (select 1 from intermediate.int_runs_rolled_up r where r.run_id = l.run_id)",
            [date(2026, 11, 19)],
        ).fetchone()[0]
    before = {source: day_row(db_path, workflow) for source, (_, workflow) in runs.items()}

    # when the lead reviewer's correction to failure arrives in 11-22's label file, a failing
    # evaluation of the other run in 11-22's log file, and 11-22 runs
    (home / "labels" / f"{NIGHT}.csv").write_text(
        "run_id,outcome,labeled_at,reviewer,rework_minutes,escalated,retry_of_run_id\n"
        f"{runs['label'][0]},failure,{NIGHT}T08:30:00Z,lead.reviewer,30,false,\n"
        f"wr_never_traced,success,{NIGHT}T08:40:00Z,lead.reviewer,0,false,\n"
    )
    failed = {"gen_ai.evaluation.name": "task_completion", "gen_ai.evaluation.score.label": "fail"}
    at = unix_nanos(datetime(NIGHT.year, NIGHT.month, NIGHT.day, 8, 45, tzinfo=UTC))
    evaluation = LogRecord(at, "gen_ai.evaluation.result", failed, trace_id=trace_id, span_id=span_id)
    write_lines(home / "traces" / f"evaluations-{NIGHT}.jsonl", [logs_data([evaluation])])
    outcome = run_job(home, NIGHT, NIGHT)

    # then the night succeeded, warned of the label naming a run no trace holds, and recomputed 11-18 for
    # those two runs
    assert outcome.success, outcome.failures
    known_runs_check = "check intermediate/int_runs_rolled_up:assert_labels_name_known_runs"
    assert f"{known_runs_check} warns: {unknown + 1} row(s)" in outcome.warnings
    assert outcome.recompute is not None
    assert outcome.recompute.days == [(STALE_DAY, 2)]
    assert outcome.recompute.run.success, outcome.recompute.run.failures
    with duckdb.connect(str(db_path), read_only=True) as conn:
        assert stale_run_days(conn) == []

    # and the runs, their days' unit economics and the published snapshot carry the new verdicts
    with duckdb.connect(str(db_path), read_only=True) as conn:
        verdicts = {
            source: conn.execute(
                "select outcome, outcome_source, rework_minutes > 0 from marts.fct_workflow_runs where run_id = ?",
                [run_id],
            ).fetchone()
            for source, (run_id, _) in runs.items()
        }
    assert verdicts == {"label": ("failure", "label", True), "evaluation": ("failure", "evaluation", True)}
    flipped = Counter(workflow for _, workflow in runs.values())
    for source, (_, workflow) in runs.items():
        after = day_row(db_path, workflow)
        assert (after[0], after[1]) == (before[source][0] - flipped[workflow], before[source][1] + flipped[workflow])
        assert after[2] != before[source][2]
    with duckdb.connect(str(home / "marts.duckdb"), read_only=True) as conn:
        published = conn.execute(
            "select count(*) from fct_workflow_runs where run_id in (?, ?) and outcome = 'failure'",
            [runs["label"][0], evaluated_run],
        ).fetchone()
        covered = conn.execute("select first_partition_date, last_partition_date from snapshot_info").fetchone()
    assert published == (2,)
    # the recompute ran from the corrected day through the night: the snapshot's data is still as of 11-22
    assert covered == (STALE_DAY, NIGHT)
