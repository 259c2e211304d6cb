"""Which past days a late label correction makes stale: runs outside the night's rebuild whose
newest label is newer than the one their outcome used."""

from datetime import date

import duckdb
import pytest

from orchestration.relabels import stale_run_days


@pytest.fixture
def conn() -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    conn.execute("create schema intermediate")
    conn.execute("create schema raw")
    conn.execute(
        "create table intermediate.int_runs_rolled_up (run_id varchar, run_date date, labeled_at timestamp)"
    )
    conn.execute("create table raw.labels_reviews (run_id varchar, labeled_at timestamp, _partition_date date)")
    conn.execute(
        """
        insert into intermediate.int_runs_rolled_up values
            ('corrected', date '2026-11-10', timestamp '2026-11-11 09:00'),
            ('corrected_too', date '2026-11-10', timestamp '2026-11-11 10:00'),
            ('older_day', date '2026-11-08', null),
            ('inside_lookback', date '2026-11-17', timestamp '2026-11-18 09:00'),
            ('already_current', date '2026-11-09', timestamp '2026-11-19 08:00'),
            ('label_not_loaded_tonight', date '2026-11-09', timestamp '2026-11-10 08:00')
        """
    )
    conn.execute(
        """
        insert into raw.labels_reviews values
            ('corrected', timestamp '2026-11-11 09:00', date '2026-11-11'),
            ('corrected', timestamp '2026-11-19 14:00', date '2026-11-19'),
            ('corrected_too', timestamp '2026-11-20 07:00', date '2026-11-20'),
            ('older_day', timestamp '2026-11-18 07:00', date '2026-11-18'),
            ('inside_lookback', timestamp '2026-11-20 07:00', date '2026-11-20'),
            ('already_current', timestamp '2026-11-19 08:00', date '2026-11-19'),
            ('label_not_loaded_tonight', timestamp '2026-11-12 08:00', date '2026-11-12')
        """
    )
    return conn


def test_runs_before_the_rebuilt_days_with_a_newer_label_loaded_tonight_are_stale(conn) -> None:
    # the night of 11-20 rebuilds runs from 11-17 (lookback 3) and re-read label files from 11-17
    stale = stale_run_days(conn, date(2026, 11, 20), date(2026, 11, 20), label_lookback_days=3)

    # 11-10: two runs corrected (one got a second label, one a newer label); 11-08: a run whose outcome
    # came from no label gets one; 11-17 is rebuilt anyway; 11-09's runs already use their newest label
    # or got no label tonight
    assert stale == [(date(2026, 11, 8), 1), (date(2026, 11, 10), 2)]


def test_labels_older_than_the_night_s_label_files_do_not_count(conn) -> None:
    # with no label lookback, only 11-20's label files were loaded: 11-19's and 11-18's labels are not tonight's
    stale = stale_run_days(conn, date(2026, 11, 20), date(2026, 11, 20), label_lookback_days=0)

    assert stale == [(date(2026, 11, 10), 1)]


def test_once_a_day_is_recomputed_nothing_is_stale(conn) -> None:
    conn.execute(
        """
        update intermediate.int_runs_rolled_up as runs
        set labeled_at = latest.labeled_at
        from (select run_id, max(labeled_at) as labeled_at from raw.labels_reviews group by run_id) as latest
        where runs.run_id = latest.run_id
        """
    )

    assert stale_run_days(conn, date(2026, 11, 20), date(2026, 11, 20), label_lookback_days=3) == []


def test_a_warehouse_without_runs_yet_has_nothing_stale() -> None:
    assert stale_run_days(duckdb.connect(), date(2026, 11, 20), date(2026, 11, 20), label_lookback_days=3) == []


def test_the_sensor_requests_one_recompute_run_over_the_stale_days(
    conn, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    from orchestration.partitions import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG
    from orchestration.schedules import relabeled_runs_sensor

    # given the warehouse above as a file, and a successful nightly run of 11-20
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

    # then it asks for one recompute run from the first stale day to the last
    assert isinstance(request, dg.RunRequest)
    assert request.tags == {RANGE_START_TAG: "2026-11-08", RANGE_END_TAG: "2026-11-10"}
    assert request.run_key == "relabel-night-1120"
