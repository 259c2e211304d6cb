"""Which past days a late label correction makes stale: runs whose deciding label row is no longer
the newest the warehouse holds for them (added later, tied and filed later, edited in place, deleted)."""

from datetime import date

import duckdb
import pytest

from orchestration.relabels import (
    LABEL_FINGERPRINT_SQL,
    REBUILT_FROM_VARIABLE,
    REBUILT_UNTIL_VARIABLE,
    SINCE_VARIABLE,
    recheck_since,
    stale_run_days,
)

LABELS = [
    # run_id, outcome, labeled_at, reviewer, rework_minutes, escalated, retry_of_run_id, file, line
    ("r10", "success", "2026-11-11 09:00", "ana", None, False, None, "2026-11-11.csv", 2),
    ("r10b", "success", "2026-11-11 10:00", "ana", None, None, None, "2026-11-11.csv", 3),
    ("r12", "failure", "2026-11-13 09:00", "ben", 30, True, None, "2026-11-13.csv", 2),
    ("r14", "success", "2026-11-15 09:00", "ana", None, False, None, "2026-11-15.csv", 2),
]
EVALUATED_DDL = "create table intermediate.int_runs_evaluated (run_id varchar, evaluated_at timestamp, outcome varchar)"
RUNS = [
    ("r10", "2026-11-10"), ("r10b", "2026-11-10"), ("r12", "2026-11-12"), ("r14", "2026-11-14"), ("r16", "2026-11-16"),
]


def insert_label(conn: duckdb.DuckDBPyConnection, row: tuple) -> None:
    conn.execute(
        "insert into raw.labels_reviews values (?, ?, ?::timestamp, ?, ?, ?, ?, ?, ?, ?::timestamp::date)",
        [*row, row[2]],
    )


def build_runs(conn: duckdb.DuckDBPyConnection) -> None:
    """What a build of int_runs_rolled_up stores: each run's newest label row's fingerprint."""
    conn.execute(
        f"""
        update intermediate.int_runs_rolled_up as runs
        set label_fingerprint = newest.label_fingerprint, labeled_at = newest.labeled_at
        from (
            select run_id, labeled_at, {LABEL_FINGERPRINT_SQL} as label_fingerprint
            from raw.labels_reviews
            qualify row_number() over (
                partition by run_id order by labeled_at desc, _source_file desc, _line_number desc
            ) = 1
        ) as newest
        where runs.run_id = newest.run_id
        """
    )


@pytest.fixture
def conn() -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    conn.execute("create schema intermediate")
    conn.execute("create schema raw")
    conn.execute(
        """
        create table intermediate.int_runs_rolled_up (
            run_id varchar, run_date date, label_fingerprint ubigint, outcome varchar, outcome_source varchar,
            evaluated_at timestamp, labeled_at timestamp
        )
        """
    )
    conn.execute(
        """
        create table raw.labels_reviews (
            run_id varchar, outcome varchar, labeled_at timestamp, reviewer varchar, rework_minutes decimal(18, 4),
            escalated boolean, retry_of_run_id varchar, _source_file varchar, _line_number bigint, _partition_date date
        )
        """
    )
    for run_id, day in RUNS:
        conn.execute(
            "insert into intermediate.int_runs_rolled_up values (?, ?::date, null, 'unlabeled', null, null, null)",
            [run_id, day],
        )
    for row in LABELS:
        insert_label(conn, row)
    build_runs(conn)
    return conn


def test_a_freshly_built_warehouse_has_nothing_stale(conn) -> None:
    assert stale_run_days(conn) == []


def test_a_later_correction_makes_its_run_s_day_stale(conn) -> None:
    insert_label(conn, ("r10", "failure", "2026-11-19 14:00", "lead", 20, False, None, "2026-11-19.csv", 5))
    insert_label(conn, ("r12", "success", "2026-11-20 08:00", "lead", None, False, None, "2026-11-20.csv", 2))

    assert stale_run_days(conn) == [(date(2026, 11, 10), 1), (date(2026, 11, 12), 1)]


def test_a_tied_label_filed_later_wins_as_in_the_model(conn) -> None:
    # same timestamp, a later file: the model's order (file, then line, descending) picks it
    insert_label(conn, ("r14", "failure", "2026-11-15 09:00", "lead", 15, False, None, "2026-11-16.csv", 2))

    assert stale_run_days(conn) == [(date(2026, 11, 14), 1)]


def test_the_same_labels_read_from_a_moved_folder_or_another_file_change_nothing(conn) -> None:
    # the labels folder moved (every path differs), and r14's label exported again in a later file
    conn.execute("update raw.labels_reviews set _source_file = '/new/home/labels/' || _source_file")
    insert_label(conn, ("r14", "success", "2026-11-15 09:00", "ana", None, False, None, "/z/2026-11-16.csv", 7))

    assert stale_run_days(conn) == []


def test_a_label_edited_in_place_or_deleted_makes_its_run_stale(conn) -> None:
    # a file exported again with r12's row changed in place, and r10b's only label gone
    conn.execute("update raw.labels_reviews set rework_minutes = 45 where run_id = 'r12'")
    conn.execute("delete from raw.labels_reviews where run_id = 'r10b'")

    assert stale_run_days(conn) == [(date(2026, 11, 10), 1), (date(2026, 11, 12), 1)]


def test_a_first_label_for_a_run_without_one_makes_it_stale(conn) -> None:
    # r16 was decided by an evaluation (or unlabeled): its first label arrives late
    insert_label(conn, ("r16", "success", "2026-11-21 09:00", "ana", None, False, None, "2026-11-21.csv", 2))

    assert stale_run_days(conn) == [(date(2026, 11, 16), 1)]


def test_a_label_stamped_days_before_its_run_is_ignored_as_the_model_ignores_it(conn) -> None:
    # more than a day before the run's day: a build with the run in its lookback days does not read
    # it, so no build counts it, and it must not be a correction either (else the day would be
    # recomputed every night)
    insert_label(conn, ("r16", "failure", "2026-11-11 09:00", "ana", None, False, None, "2026-11-11.csv", 9))
    insert_label(conn, ("r16", "failure", "2026-11-14 23:59", "ana", None, False, None, "2026-11-14.csv", 9))

    assert stale_run_days(conn) == []

    # from the day before the run's day on, it counts
    insert_label(conn, ("r16", "failure", "2026-11-15 00:00", "ana", None, False, None, "2026-11-15.csv", 9))

    assert stale_run_days(conn) == [(date(2026, 11, 16), 1)]


def test_once_the_days_are_rebuilt_nothing_is_stale(conn) -> None:
    insert_label(conn, ("r10", "failure", "2026-11-19 14:00", "lead", 20, False, None, "2026-11-19.csv", 5))
    build_runs(conn)

    assert stale_run_days(conn) == []


def test_a_night_compares_the_runs_that_labels_loaded_since_its_recheck_day_name(conn) -> None:
    # given a correction of r10 labeled 11-19, and one of r12 kept under 11-14 (a label file read late)
    insert_label(conn, ("r10", "failure", "2026-11-19 14:00", "lead", 20, False, None, "2026-11-19.csv", 5))
    insert_label(conn, ("r12", "success", "2026-11-14 08:00", "lead", None, False, None, "2026-11-14.csv", 2))

    # when a night checks the labels of partitions from 11-16 on, only r10's day is stale
    assert stale_run_days(conn, since=date(2026, 11, 16)) == [(date(2026, 11, 10), 1)]
    # from 11-14 on, or over all history, both are
    both = [(date(2026, 11, 10), 1), (date(2026, 11, 12), 1)]
    assert stale_run_days(conn, since=date(2026, 11, 14)) == both == stale_run_days(conn)
    # and the scope is not left on the connection
    assert conn.execute(f"select getvariable('{SINCE_VARIABLE}')").fetchone() == (None,)


def test_runs_the_nights_build_rebuilt_are_not_compared(conn) -> None:
    # given corrections of r10 and r12, both labeled 11-19
    insert_label(conn, ("r10", "failure", "2026-11-19 14:00", "lead", 20, False, None, "2026-11-19.csv", 5))
    insert_label(conn, ("r12", "success", "2026-11-19 15:00", "lead", None, False, None, "2026-11-19.csv", 6))
    since = date(2026, 11, 16)

    # when the night's build rebuilt the runs from 11-12 on, only r10 (11-10) is left to compare
    assert stale_run_days(conn, since, rebuilt=(date(2026, 11, 12), date(2026, 11, 21))) == [(date(2026, 11, 10), 1)]
    # a build of 11-08..11-10 rebuilt r10 and not r12, started after it
    assert stale_run_days(conn, since, rebuilt=(date(2026, 11, 8), date(2026, 11, 11))) == [(date(2026, 11, 12), 1)]
    # from 11-13 on, both; and no variable is left on the connection
    assert len(stale_run_days(conn, since, rebuilt=(date(2026, 11, 13), date(2026, 11, 21)))) == 2
    for name in (REBUILT_FROM_VARIABLE, REBUILT_UNTIL_VARIABLE):
        assert conn.execute(f"select getvariable('{name}')").fetchone() == (None,)


def test_a_withdrawn_recent_deciding_label_is_found_by_the_runs_that_stored_it(conn) -> None:
    # r14's only label, stamped 11-15, is gone from a label file exported again: no label names r14 now
    conn.execute("delete from raw.labels_reviews where run_id = 'r14'")

    assert stale_run_days(conn, since=date(2026, 11, 15)) == [(date(2026, 11, 14), 1)]
    # a deciding label older than the recheck day is not looked at
    assert stale_run_days(conn, since=date(2026, 11, 16)) == []


def test_the_recheck_day_reaches_over_both_loaders_and_a_week_of_missed_nights() -> None:
    # label files from 11-17 on hold labels from 11-13 on (twice the lookback and a day), then 7 nights
    assert recheck_since(date(2026, 11, 20), label_lookback_days=3, trace_lookback_days=1) == date(2026, 11, 6)
    assert recheck_since(date(2026, 11, 20), label_lookback_days=0, trace_lookback_days=5) == date(2026, 11, 8)


def test_a_warehouse_without_runs_yet_has_nothing_stale() -> None:
    assert stale_run_days(duckdb.connect()) == []


def test_the_sensor_requests_one_recompute_from_the_first_stale_day_through_the_night(
    conn, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    from orchestration.partitions import ALERTS_FROM_TAG, PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG
    from orchestration.schedules import relabeled_runs_sensor

    # given corrections for 11-10 and 11-12 in the warehouse file, and a successful nightly run of 11-20
    insert_label(conn, ("r10", "failure", "2026-11-19 14:00", "lead", 20, False, None, "2026-11-19.csv", 5))
    insert_label(conn, ("r12", "success", "2026-11-20 08:00", "lead", None, False, None, "2026-11-20.csv", 2))
    warehouse = tmp_path / "warehouse.duckdb"
    conn.execute(f"attach '{warehouse}' as file")
    conn.execute("copy from database memory to file")
    conn.execute("detach file")
    monkeypatch.setenv("AGENTLEDGER_DB", str(warehouse))
    run = dg.DagsterRun(job_name="nightly", run_id="night-1120", tags={PARTITION_TAG: "2026-11-20"})
    with dg.instance_for_test() as instance:
        context = dg.build_run_status_sensor_context(
            sensor_name="relabeled_runs_sensor",
            dagster_event=dg.DagsterEvent(event_type_value="PIPELINE_SUCCESS", job_name="nightly"),
            dagster_instance=instance,
            dagster_run=run,
        )
        # when the sensor sees the run
        request = relabeled_runs_sensor(context)

        # then one recompute run from the first stale day through the night, alerting the night's window only
        assert isinstance(request, dg.RunRequest)
        assert request.run_key == "relabel-night-1120"
        assert request.tags == {
            RANGE_START_TAG: "2026-11-10", RANGE_END_TAG: "2026-11-20", ALERTS_FROM_TAG: "2026-11-17",
        }

        # and a warehouse another process holds is a skipped check, not a failed sensor
        monkeypatch.setenv("AGENTLEDGER_DB", str(tmp_path / "not-a-warehouse" / "warehouse.duckdb"))
        assert isinstance(relabeled_runs_sensor(context), dg.SkipReason)


@pytest.fixture
def evaluated(conn) -> duckdb.DuckDBPyConnection:
    """The warehouse with each run's latest decisive evaluation over all history (int_runs_evaluated).

    r10b and r14 are decided by their labels; r16 by an evaluation; r12's evaluation is outvoted by
    its label; r10 has none.
    """
    conn.execute(EVALUATED_DDL)
    conn.execute(
        "insert into intermediate.int_runs_evaluated values "
        "('r16', '2026-11-16 12:00', 'success'), ('r12', '2026-11-12 12:00', 'success')"
    )
    conn.execute(
        """
        update intermediate.int_runs_rolled_up as runs
        set evaluated_at = evaluated.evaluated_at,
            outcome = case when runs.label_fingerprint is not null then 'success' else evaluated.outcome end,
            outcome_source = case when runs.label_fingerprint is not null then 'label' else 'evaluation' end
        from intermediate.int_runs_evaluated as evaluated
        where runs.run_id = evaluated.run_id
        """
    )
    conn.execute(
        "update intermediate.int_runs_rolled_up set outcome_source = 'label', outcome = 'success' "
        "where label_fingerprint is not null"
    )
    return conn


def test_with_every_run_built_from_its_evaluations_nothing_is_stale(evaluated) -> None:
    assert stale_run_days(evaluated) == []


def test_a_later_evaluation_makes_a_run_no_label_decides_stale(evaluated) -> None:
    # r16's evaluator ran again days later and failed it; r10's first evaluation arrives 9 days late
    evaluated.execute(
        "update intermediate.int_runs_evaluated set evaluated_at = '2026-11-22 08:00', outcome = 'failure' "
        "where run_id = 'r16'"
    )
    evaluated.execute("insert into intermediate.int_runs_evaluated values ('r10', '2026-11-19 08:00', 'failure')")

    assert stale_run_days(evaluated) == [(date(2026, 11, 16), 1)]

    # r10 is decided by its label, so its late evaluation changes nothing; an unlabeled run's does
    evaluated.execute("insert into intermediate.int_runs_evaluated values ('r10b', '2026-11-19 08:00', 'failure')")
    evaluated.execute("delete from raw.labels_reviews where run_id = 'r10b'")
    evaluated.execute(
        "update intermediate.int_runs_rolled_up set label_fingerprint = null, outcome_source = null, "
        "outcome = 'unlabeled' where run_id = 'r10b'"
    )

    assert stale_run_days(evaluated) == [(date(2026, 11, 10), 1), (date(2026, 11, 16), 1)]


def test_a_night_compares_the_runs_recent_evaluations_decide_and_those_that_stored_one(evaluated) -> None:
    # r16's stored evaluation (11-16 12:00) is withdrawn: the scoped view no longer decides r16
    evaluated.execute("delete from intermediate.int_runs_evaluated where run_id = 'r16'")

    # a night rechecking from 11-16 compares r16, as it stored an evaluation that recent
    assert stale_run_days(evaluated, since=date(2026, 11, 16)) == [(date(2026, 11, 16), 1)]
    # one rechecking from 11-17 does not (the view would not name it either)
    assert stale_run_days(evaluated, since=date(2026, 11, 17)) == []

    # a run the view decides is compared, however old what it stored: a later evaluation fails r16
    evaluated.execute("insert into intermediate.int_runs_evaluated values ('r16', '2026-11-22 08:00', 'failure')")
    assert stale_run_days(evaluated, since=date(2026, 11, 20)) == [(date(2026, 11, 16), 1)]


def test_an_evaluation_outvoted_by_a_label_changes_nothing(evaluated) -> None:
    evaluated.execute(
        "update intermediate.int_runs_evaluated set evaluated_at = '2026-11-25 08:00', outcome = 'failure' "
        "where run_id = 'r12'"
    )

    assert stale_run_days(evaluated) == []


def test_a_warehouse_whose_runs_have_no_evaluated_at_yet_checks_labels_only(conn) -> None:
    conn.execute("alter table intermediate.int_runs_rolled_up drop column evaluated_at")
    conn.execute(EVALUATED_DDL)
    conn.execute("insert into intermediate.int_runs_evaluated values ('r16', '2026-11-16 12:00', 'success')")

    assert stale_run_days(conn) == []
    insert_label(conn, ("r12", "success", "2026-11-20 08:00", "lead", None, False, None, "2026-11-20.csv", 2))
    assert stale_run_days(conn) == [(date(2026, 11, 12), 1)]
