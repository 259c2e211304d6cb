"""The label loader: CSV and JSON lines, wrong types named, days replaced."""

import gzip
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.sources.labels.load import load_labels

HEADER = "run_id,outcome,labeled_at,reviewer,rework_minutes,escalated,retry_of_run_id\n"


@pytest.fixture
def conn(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def csv_of_the_20th(tmp_path: Path, text: str) -> Path:
    """A labels folder holding `2026-11-20.csv` with `text`."""
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "2026-11-20.csv").write_text(text)
    return labels


def test_labels_load_from_csv_and_json_lines_with_bad_rows_quarantined(tmp_path: Path, conn) -> None:
    # given
    labels = csv_of_the_20th(
        tmp_path,
        HEADER
        + "wr_1,success,2026-11-20T10:00:00Z,ana,,false,\n"
        + "wr_2,Failure,2026-11-20T11:00:00+02:00,ana,30,true,wr_0\n"  # case and offset normalized
        + "wr_3,failure,yesterday,ana,,,\n"  # not a timestamp
        + "wr_4,failure,2026-11-20T12:00:00Z,ana,ten,,\n"  # not a number
        + "wr_5,maybe,2026-11-20T12:00:00Z,ana,,,\n"  # not an outcome
        + "wr_6,success,2026-11-20T12:00:00Z,ana,,no,,surplus\n"  # one field too many
    )
    with gzip.open(labels / "2026-11-20.jsonl.gz", "wt") as handle:
        handle.write('{"run_id": "wr_7", "outcome": "success", "labeled_at": "2026-11-20T13:00:00Z"}\n')
        handle.write("{not json\n")

    # when
    report = load_labels(conn, labels, date(2026, 11, 20), date(2026, 11, 20))

    # then
    assert (report.received, report.loaded, report.quarantined) == (8, 3, 5)
    loaded = conn.execute(
        "select run_id, outcome, labeled_at, rework_minutes, escalated, retry_of_run_id "
        "from raw.labels_reviews order by run_id"
    ).fetchall()
    assert [row[0] for row in loaded] == ["wr_1", "wr_2", "wr_7"]
    assert loaded[1][1] == "failure"
    assert str(loaded[1][2]) == "2026-11-20 09:00:00"  # stored in UTC
    assert loaded[1][4] is True
    reasons = dict(
        conn.execute("select _line_number, reason from raw.quarantine where entity = 'labels_reviews'").fetchall()
    )
    assert reasons[4] == "labeled_at: yesterday is not a timestamp"
    assert reasons[5] == "rework_minutes: ten is not a number"
    assert reasons[6].startswith("outcome: isin")
    assert reasons[7] == "row has 1 more fields than the header"
    assert reasons[2] == "line is not a JSON object"


def test_rework_minutes_below_zero_or_above_a_week_are_quarantined(tmp_path: Path, conn) -> None:
    # given a reviewer's typo (-300 minutes), a week to the minute, and a minute more
    labels = csv_of_the_20th(
        tmp_path,
        HEADER
        + "wr_1,failure,2026-11-20T10:00:00Z,ana,-300,false,\n"
        + "wr_2,failure,2026-11-20T10:00:00Z,ana,10080,false,\n"
        + "wr_3,failure,2026-11-20T10:00:00Z,ana,10081,false,\n",
    )

    # when
    report = load_labels(conn, labels, date(2026, 11, 20), date(2026, 11, 20))

    # then the week loads; the others are quarantined by the raw gate, naming the field, and never
    # reach staging (a negative rework there failed a dbt test and stopped the night's build)
    assert (report.received, report.loaded, report.quarantined) == (3, 1, 2)
    reasons = dict(
        conn.execute("select _line_number, reason from raw.quarantine where entity = 'labels_reviews'").fetchall()
    )
    assert sorted(reasons) == [2, 4]
    assert all(reason.startswith("rework_minutes: ") for reason in reasons.values())


def test_a_csv_cut_off_mid_write_quarantines_its_short_last_row(tmp_path: Path, conn) -> None:
    # given a file whose writer stopped inside the last row's rework minutes (66 → 6)
    labels = csv_of_the_20th(
        tmp_path,
        HEADER
        + "wr_1,failure,2026-11-20T10:00:00Z,ana,66,false,\n"
        + "wr_2,failure,2026-11-20T11:00:00Z,ana,6"
    )

    # when
    report = load_labels(conn, labels, date(2026, 11, 20), date(2026, 11, 20))

    # then the cut row is quarantined naming the fields it lacks, not loaded as 6 minutes
    assert (report.received, report.loaded, report.quarantined) == (2, 1, 1)
    assert conn.execute("select run_id, rework_minutes from raw.labels_reviews").fetchall() == [("wr_1", 66)]
    line, reason = conn.execute("select _line_number, reason from raw.quarantine").fetchone()
    assert (line, reason) == (3, "the file ends in a row of 2 fewer fields than the header (no escalated, "
                                 "retry_of_run_id) and no line end: cut off mid-write")


def test_a_row_that_leaves_out_its_empty_trailing_fields_loads(tmp_path: Path, conn) -> None:
    # given rows that end their line without the delimiters of their empty last fields (older Excel),
    # the last one with no line end but all of its fields
    labels = csv_of_the_20th(
        tmp_path,
        HEADER
        + "wr_1,failure,2026-11-20T10:00:00Z,ana,66,false\n"
        + "wr_2,success,2026-11-20T11:00:00Z,ana\r\n"
        + "wr_3,success,2026-11-20T12:00:00Z,ana,,,wr_0"
    )

    # when
    report = load_labels(conn, labels, date(2026, 11, 20), date(2026, 11, 20))

    # then all three load, the fields they leave out empty
    assert (report.received, report.loaded, report.quarantined) == (3, 3, 0)
    assert conn.execute(
        "select run_id, rework_minutes, escalated, retry_of_run_id from raw.labels_reviews order by run_id"
    ).fetchall() == [("wr_1", 66, False, None), ("wr_2", None, None, None), ("wr_3", None, None, "wr_0")]


def test_a_byte_order_mark_at_the_start_of_a_csv_or_json_lines_file_is_dropped(tmp_path: Path, conn) -> None:
    # given an Excel "CSV UTF-8" export (a BOM, CRLF line ends) and JSON-lines files that start
    # with a BOM, one gzipped
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "2026-11-20.csv").write_bytes(
        (
            "\ufeff" + HEADER.replace("\n", "\r\n")
            + "wr_1,success,2026-11-20T10:00:00Z,ana,,false,\r\n"
            + "wr_2,failure,2026-11-20T11:00:00Z,ana,5,true,\r\n"
        ).encode("utf-8")
    )
    line = '{"run_id": "wr_%d", "outcome": "success", "labeled_at": "2026-11-20T13:00:00Z"}\n'
    (labels / "2026-11-20.jsonl").write_bytes(("\ufeff" + line % 3 + line % 4).encode("utf-8"))
    with gzip.open(labels / "2026-11-20-b.jsonl.gz", "wb") as handle:
        handle.write(("\ufeff" + line % 5).encode("utf-8"))

    # when
    report = load_labels(conn, labels, date(2026, 11, 20), date(2026, 11, 20))

    # then every row loads, none is quarantined
    assert (report.received, report.loaded, report.quarantined) == (5, 5, 0)
    run_ids = conn.execute("select run_id from raw.labels_reviews order by run_id").fetchall()
    assert run_ids == [("wr_1",), ("wr_2",), ("wr_3",), ("wr_4",), ("wr_5",)]


def test_a_csv_separated_by_semicolons_or_tabs_loads_like_one_separated_by_commas(tmp_path: Path, conn) -> None:
    # given Excel's CSV where the decimal separator is a comma (";"), and a tab-separated export
    labels = tmp_path / "labels"
    labels.mkdir()
    rows = ["wr_1,success,2026-11-20T10:00:00Z,ana,,false,", "wr_2,failure,2026-11-20T11:00:00Z,ana,5,true,"]
    for name, delimiter, prefix in (("2026-11-20-excel.csv", ";", "wr_e"), ("2026-11-20-tabs.csv", "\t", "wr_t")):
        text = HEADER + "".join(row + "\n" for row in rows)
        (labels / name).write_text(text.replace(",", delimiter).replace("wr_", prefix))

    # when
    report = load_labels(conn, labels, date(2026, 11, 20), date(2026, 11, 20))

    # then every row loads with its fields, none is quarantined for a missing field
    assert (report.received, report.loaded, report.quarantined) == (4, 4, 0)
    assert conn.execute(
        "select run_id, outcome, rework_minutes from raw.labels_reviews order by run_id"
    ).fetchall() == [("wr_e1", "success", None), ("wr_e2", "failure", 5), ("wr_t1", "success", None),
                     ("wr_t2", "failure", 5)]


def test_a_label_lands_in_the_partition_of_the_day_it_was_written(tmp_path: Path, conn) -> None:
    # given a file exported on the 21st holding a label written late on the 20th
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "2026-11-21.csv").write_text(HEADER + "wr_1,success,2026-11-20T23:30:00Z,ana,,,\n")

    # when
    report = load_labels(conn, labels, date(2026, 11, 20), date(2026, 11, 20))

    # then
    assert report.loaded == 1
    assert conn.execute("select _partition_date from raw.labels_reviews").fetchone()[0] == date(2026, 11, 20)

    # and reloading the day replaces, never duplicates
    load_labels(conn, labels, date(2026, 11, 20), date(2026, 11, 20))
    assert conn.execute("select count(*) from raw.labels_reviews").fetchone()[0] == 1


def test_the_log_line_says_received_loaded_and_quarantined(tmp_path: Path, conn) -> None:
    # given a day's label file with one good row and one that is not a timestamp
    labels = csv_of_the_20th(
        tmp_path,
        HEADER + "wr_1,success,2026-11-20T10:00:00Z,ana,,false,\n" + "wr_2,failure,yesterday,ana,,,\n"
    )
    messages: list[str] = []
    # when the day is loaded
    load_labels(conn, labels, date(2026, 11, 20), date(2026, 11, 20), progress=messages.append)
    # then the log names all three counts, as the materialization metadata does
    assert messages == [
        "2 label rows from 1 files for 2026-11-20..2026-11-20: received 2, loaded 1, quarantined 1"
    ]


def test_a_line_that_is_not_utf8_or_a_corrupt_gzip_quarantines_itself_not_the_load(tmp_path: Path, conn) -> None:
    # given Excel's plain "CSV" (cp1252: José) beside good files, a JSON line in cp1252, and a
    # gzip cut short after its first line
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "2026-11-20.csv").write_bytes(
        (HEADER + "wr_1,success,2026-11-20T10:00:00Z,ana,,,\n" + "wr_2,failure,2026-11-20T11:00:00Z,José,5,,\n")
        .encode("cp1252")
    )
    (labels / "2026-11-20.jsonl").write_bytes(
        b'{"run_id": "wr_3", "outcome": "success", "labeled_at": "2026-11-20T12:00:00Z"}\n'
        + '{"run_id": "wr_4", "outcome": "success", "labeled_at": "2026-11-20T12:00:00Z", "reviewer": "José"}\n'
        .encode("cp1252")
    )
    whole = gzip.compress(b"".join(
        b'{"run_id": "wr_%d", "outcome": "success", "labeled_at": "2026-11-20T13:00:00Z", "reviewer": "%s"}\n'
        % (i, bytes(range(97, 123)) * 40) for i in range(5, 60)
    ))
    (labels / "2026-11-20-b.jsonl.gz").write_bytes(whole[: len(whole) // 2])

    # when
    report = load_labels(conn, labels, date(2026, 11, 20), date(2026, 11, 20))

    # then the readable lines load and each unreadable one is quarantined with file, line and reason
    loaded = {row[0] for row in conn.execute("select run_id from raw.labels_reviews").fetchall()}
    assert {"wr_1", "wr_3", "wr_5"} <= loaded and not {"wr_2", "wr_4"} & loaded
    reasons = conn.execute(
        "select regexp_extract(_source_file, '[^/]+$'), _line_number, reason from raw.quarantine order by 1, 2"
    ).fetchall()
    assert reasons[0][0] == "2026-11-20-b.jsonl.gz"
    assert reasons[0][1] == len(loaded) - 2 + 1 and reasons[0][2].startswith("file cannot be read after line ")
    assert reasons[1:] == [
        ("2026-11-20.csv", 3, 'line is not valid UTF-8 (export the file as UTF-8, e.g. Excel\'s "CSV UTF-8")'),
        ("2026-11-20.jsonl", 2, 'line is not valid UTF-8 (export the file as UTF-8, e.g. Excel\'s "CSV UTF-8")'),
    ]
    assert report.quarantined == 3


def test_decimal_comma_minutes_trimmed_json_values_and_naive_times_after_a_named_zone(tmp_path: Path, conn) -> None:
    # given Excel's ";" CSV with 7,5 minutes (its decimal comma); a JSON line with padded values;
    # and a naive time after one that names its zone (DuckDB read such a time in that zone)
    labels = csv_of_the_20th(
        tmp_path,
        (HEADER + "wr_1,failure,2026-11-20 10:00:00,ana,7,5,,\n").replace(",", ";").replace("7;5", "7,5")
    )
    (labels / "2026-11-20.jsonl").write_text(
        '{"run_id": " wr_2 ", "outcome": " Failure ", "labeled_at": "2026-11-20T10:00:00 America/New_York"}\n'
        '{"run_id": "wr_3", "outcome": "failure", "labeled_at": "2026-11-20 23:30:00"}\n'
    )

    # when
    report = load_labels(conn, labels, date(2026, 11, 20), date(2026, 11, 20))

    # then
    assert (report.loaded, report.quarantined) == (3, 0)
    assert conn.execute(
        "select run_id, outcome, labeled_at::varchar, rework_minutes, _partition_date::varchar "
        "from raw.labels_reviews order by run_id"
    ).fetchall() == [
        ("wr_1", "failure", "2026-11-20 10:00:00", 7.5, "2026-11-20"),
        ("wr_2", "failure", "2026-11-20 15:00:00", None, "2026-11-20"),
        ("wr_3", "failure", "2026-11-20 23:30:00", None, "2026-11-20"),
    ]


def test_labels_an_undated_file_dates_far_ahead_are_told_not_waited_for_in_silence(tmp_path: Path, conn) -> None:
    # given an undated labels file holding one label of the night and one of 2062 (a mistyped year)
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "labels.csv").write_text(
        HEADER + "wr_1,success,2026-11-20T10:00:00Z,ana,,,\n" + "wr_2,failure,2062-11-20T10:00:00Z,ana,5,,\n"
    )
    said: list[str] = []

    # when
    report = load_labels(conn, labels, date(2026, 11, 20), date(2026, 11, 20), progress=said.append)

    # then the night's label loads and the far one is counted and named with its file and line
    assert (report.loaded, report.extra["labels_dated_ahead"]) == (1, 1)
    assert said[-1].startswith(f"{labels / 'labels.csv'}: 1 label(s) dated after 2026-11-24 (e.g. line 3: 2062-11-20)")


def test_labels_of_an_undated_file_before_the_window_no_run_loaded_are_told(tmp_path: Path, conn) -> None:
    # given 11-15 loaded from its dated file, then an undated corrections file dropped in later that
    # repeats that label and corrects another run of 11-15
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "2026-11-15.csv").write_text(HEADER + "wr_1,success,2026-11-15T10:00:00Z,ana,,,\n")
    load_labels(conn, labels, date(2026, 11, 15), date(2026, 11, 15))
    (labels / "corrections.csv").write_text(
        HEADER + "wr_1,success,2026-11-15T10:00:00Z,ana,,,\n" + "wr_2,failure,2026-11-15T11:00:00Z,lead,20,,\n"
        + "wr_3,success,2026-11-20T09:00:00Z,ana,,,\n"
    )
    said: list[str] = []

    # when the night of 11-20 reads it
    report = load_labels(conn, labels, date(2026, 11, 20), date(2026, 11, 20), progress=said.append)

    # then the night's label loads, and the correction no run will load is counted and named
    assert (report.loaded, report.extra["labels_before_window_not_loaded"]) == (1, 1)
    assert said[-1].startswith(
        f"{labels / 'corrections.csv'}: 1 label(s) of 2026-11-15..2026-11-15 (e.g. line 3: wr_2), before this run's"
    )
    # and a run of 11-15 loads it
    load_labels(conn, labels, date(2026, 11, 15), date(2026, 11, 15))
    assert conn.execute("select count(*) from raw.labels_reviews where run_id = 'wr_2'").fetchone()[0] == 1
