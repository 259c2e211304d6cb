"""Labels of days no partition loads are quarantined once with the reason; those another partition loads are not."""

import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from orchestration.settings import get_settings
from orchestration.sources.labels.load import load_labels

HEADER = "run_id,outcome,labeled_at,reviewer,rework_minutes,escalated,retry_of_run_id\n"


@pytest.fixture
def conn(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def quarantined(conn: duckdb.DuckDBPyConnection) -> dict[int, tuple[date, str]]:
    rows = conn.execute(
        "select _line_number, _partition_date, reason from raw.quarantine where entity = 'labels_reviews'"
    ).fetchall()
    assert len(rows) == len({row[0] for row in rows}), f"a line is quarantined twice: {rows}"
    return {row[0]: (row[1], row[2]) for row in rows}


def test_labels_no_partition_loads_are_quarantined_once_and_others_left_to_their_partition(
    tmp_path: Path, conn: duckdb.DuckDBPyConnection
) -> None:
    # given a file exported on 11-20: the runs of partitions 11-19..11-23 read it (lookback 3),
    # so it can load labels of 11-16..11-23 and of no other day
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "2026-11-20.csv").write_text(
        HEADER
        + "wr_1,success,2026-11-20T10:00:00Z,ana,,,\n"  # line 2: this window
        + "wr_2,success,2026-11-17T10:00:00Z,ana,,,\n"  # line 3: this window's lookback
        + "wr_3,success,2026-11-16T10:00:00Z,ana,,,\n"  # line 4: partition 11-19 loads it
        + "wr_4,failure,2026-10-01T08:00:00Z,ana,,,\n"  # line 5: no partition loads it
        + "wr_5,failure,2026-12-30T08:00:00Z,ana,,,\n"  # line 6: no partition loads it
        + "wr_6,failure,,ana,,,\n"  # line 7: no day at all
    )
    start = get_settings().start_date
    (labels / "undated.csv").write_text(
        HEADER + f"wr_7,success,{start - timedelta(days=10)}T00:00:00Z,ana,,,\n"  # before every window
    )

    # when partition 11-20 runs (window 11-17..11-20)
    report = load_labels(conn, labels, date(2026, 11, 17), date(2026, 11, 20), lookback_days=3)

    # then the window's labels load, the three of no partition and the dayless one are quarantined
    assert (report.received, report.loaded, report.quarantined) == (6, 2, 4)
    assert report.extra["labels_of_other_days"] == 1  # wr_3, left to partition 11-19
    assert report.extra["labels_no_partition_loads"] == 3
    reasons = quarantined(conn)
    assert set(reasons) == {5, 6, 7, 2}  # line 2 of the undated file
    assert reasons[5] == (
        date(2026, 11, 20),
        "labeled_at 2026-10-01 08:00:00 is outside the days this file's partitions load (2026-11-16..2026-11-23)",
    )
    assert reasons[6][1].startswith("labeled_at 2026-12-30 08:00:00 is outside")
    assert reasons[7] == (date(2026, 11, 20), "labeled_at: missing")
    assert reasons[2][1].startswith(f"labeled_at {start - timedelta(days=10)} 00:00:00 is outside")

    # when the neighbouring partitions read the same file, and 11-20 runs again
    load_labels(conn, labels, date(2026, 11, 16), date(2026, 11, 19), lookback_days=3)
    load_labels(conn, labels, date(2026, 11, 18), date(2026, 11, 21), lookback_days=3)
    load_labels(conn, labels, date(2026, 11, 17), date(2026, 11, 20), lookback_days=3)

    # then each label is loaded or quarantined exactly once
    assert sorted(r[0] for r in conn.execute("select run_id from raw.labels_reviews").fetchall()) == [
        "wr_1", "wr_2", "wr_3"
    ]
    assert len(quarantined(conn)) == 4


def test_a_day_holds_the_same_labels_whichever_window_loaded_it_last(
    tmp_path: Path, conn: duckdb.DuckDBPyConnection
) -> None:
    # given a label of 12-02 exported late, in the file of 12-05 (within its lookback: 12-01..12-08),
    # and one of 11-20 in the same file (outside it)
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "2026-12-05.csv").write_text(
        HEADER + "wr_1,failure,2026-12-02T12:00:00Z,ana,30,,\n" + "wr_2,failure,2026-11-20T12:00:00Z,ana,,,\n"
    )

    # when the nightly run of 12-05 loads it (window 12-02..12-05), then 12-03 runs again (window
    # 11-30..12-03, which the file dated after it can still feed), then a backfill spans 11-20
    load_labels(conn, labels, date(2026, 12, 2), date(2026, 12, 5), lookback_days=3)
    after_nightly = conn.execute("select run_id, _partition_date from raw.labels_reviews").fetchall()
    load_labels(conn, labels, date(2026, 11, 30), date(2026, 12, 3), lookback_days=3)
    after_rerun = conn.execute("select run_id, _partition_date from raw.labels_reviews").fetchall()
    load_labels(conn, labels, date(2026, 11, 17), date(2026, 12, 5), lookback_days=3)
    after_backfill = conn.execute("select run_id, _partition_date from raw.labels_reviews").fetchall()

    # then the 12-02 label stays, and the 11-20 one is quarantined once, by every window alike
    assert after_nightly == after_rerun == after_backfill == [("wr_1", date(2026, 12, 2))]
    assert [reason for _, reason in quarantined(conn).values()] == [
        "labeled_at 2026-11-20 12:00:00 is outside the days this file's partitions load (2026-12-01..2026-12-08)"
    ]


def test_a_fixed_line_leaves_no_quarantine_row_behind_whichever_windows_read_its_file(
    tmp_path: Path, conn: duckdb.DuckDBPyConnection
) -> None:
    # given a file of 11-12 with a label of 10-01 (no partition loads it), read by the nightly of
    # 11-12, then by a backfill of 11-01..11-08 (for its labels of 11-08 and before)
    labels = tmp_path / "labels"
    labels.mkdir()
    day_file = labels / "2026-11-12.csv"
    day_file.write_text(
        HEADER + "wr_1,success,2026-11-08T12:00:00Z,ana,,,\n" + "wr_2,failure,2026-10-01T08:00:00Z,ana,,,\n"
    )
    load_labels(conn, labels, date(2026, 11, 9), date(2026, 11, 12), lookback_days=3)
    load_labels(conn, labels, date(2026, 11, 1), date(2026, 11, 8), lookback_days=3)
    assert [(day, line) for line, (day, _) in quarantined(conn).items()] == [(date(2026, 11, 12), 3)]

    # when the line is fixed and the file's own partition runs again
    day_file.write_text(
        HEADER + "wr_1,success,2026-11-08T12:00:00Z,ana,,,\n" + "wr_2,failure,2026-11-10T08:00:00Z,ana,,,\n"
    )
    load_labels(conn, labels, date(2026, 11, 9), date(2026, 11, 12), lookback_days=3)

    # then no quarantine row is left, and both labels are loaded
    assert quarantined(conn) == {}
    assert sorted(r[0] for r in conn.execute("select run_id from raw.labels_reviews").fetchall()) == ["wr_1", "wr_2"]


def test_a_dated_file_written_after_its_last_run_is_named_with_the_days_to_run_again(tmp_path: Path, conn) -> None:
    # given the nights of 11-19..11-21 loaded 2026-11-20.csv (lookback 1: read by the runs of 11-18..11-21)
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "2026-11-20.csv").write_text(HEADER + "wr_1,failure,2026-11-20T10:00:00Z,ana,30,false,\n")
    load_labels(conn, labels, date(2026, 11, 19), date(2026, 11, 21), lookback_days=1)
    # and a week later its corrected export is dropped in beside it, dated as the original
    time.sleep(0.01)
    corrected = labels / "2026-11-20.v2.csv"
    corrected.write_text(HEADER + "wr_1,success,2026-11-20T10:00:00Z,ana,0,false,\n")
    (labels / "2026-11-27.csv").write_text(HEADER + "wr_2,success,2026-11-27T10:00:00Z,ana,0,false,\n")

    # when the night of 11-27 runs
    progress: list[str] = []
    messages: list[str] = []
    report = load_labels(
        conn, labels, date(2026, 11, 27), date(2026, 11, 27), progress.append, lookback_days=1, warn=messages.append
    )

    # then it warns of the corrected file (and not the original, loaded after it was written) with the
    # days whose runs read it
    assert report.extra["files_changed_after_their_runs"] == 1
    assert not [message for message in progress if "written after the last run" in message]
    named = [message for message in messages if "written after the last run" in message]
    assert named == [
        f"{corrected}: written after the last run that reads it (files dated 2026-11-20 are read by the runs of "
        "2026-11-18..2026-11-21), so no night loads it: run those days again to load it "
        "(agentledger backfill --start 2026-11-18 --end 2026-11-21)"
    ]

    # and once those days run again it loads and is named no more
    load_labels(conn, labels, date(2026, 11, 18), date(2026, 11, 21), lookback_days=1)
    outcomes = conn.execute("select outcome from raw.labels_reviews where run_id = 'wr_1' order by 1").fetchall()
    assert outcomes == [("failure",), ("success",)]
    messages.clear()
    report = load_labels(conn, labels, date(2026, 11, 27), date(2026, 11, 27), messages.append, lookback_days=1)
    assert report.extra["files_changed_after_their_runs"] == 0
