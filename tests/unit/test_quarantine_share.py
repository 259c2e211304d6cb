"""The raw gates' quarantine share: a lost trace line weighs as many spans as a loaded line holds."""

from pathlib import Path

import duckdb
import pytest

from orchestration.checks import quarantine_count

WINDOW = "_partition_date = date '2026-12-04'"


@pytest.fixture
def conn(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    connection.execute("create schema raw")
    connection.execute(
        "create table raw.quarantine (entity varchar, _partition_date date, record_key varchar, reason varchar)"
    )
    # 1,000 spans loaded from 10 lines (100 a line), and a span of the day before
    connection.execute(
        "create table raw.otel_spans as select 'f.jsonl' as _source_file, i // 100 + 1 as _line_number, "
        "date '2026-12-04' as _partition_date from range(1000) t(i) "
        "union all select 'f.jsonl', 1, date '2026-12-03'"
    )
    yield connection
    connection.close()


def quarantine(conn, record_key: str, copies: int, day: str = "2026-12-04") -> None:
    conn.execute(
        "insert into raw.quarantine select 'otel_spans', ?::date, ?, 'why' from range(?)", [day, record_key, copies]
    )


def test_a_lost_line_counts_as_the_spans_a_loaded_line_holds(conn) -> None:
    # given 4 lines cut in half (each ~100 spans lost), 2 bad spans, and a lost line of another day
    quarantine(conn, "line", 4)
    quarantine(conn, "1/1/7", 2)
    quarantine(conn, "line", 1, day="2026-12-03")

    # when
    lost = quarantine_count(conn, "otel_spans", "raw.otel_spans", WINDOW)

    # then 4 × 100 + 2 of 1,402 input spans: far over a 5% limit, where counting lines as rows said 6 of 1,006
    assert (lost.rows, lost.lines, lost.rows_per_line, lost.loaded) == (2, 4, 100.0, 1000)
    assert lost.quarantined == 402
    assert lost.share == pytest.approx(402 / 1402)
    assert lost.describe() == (
        "402 of 1,402 input rows quarantined (2 rows, and 4 unreadable line(s) counted as 100.0 rows each, "
        "what a loaded line of the window holds)"
    )


def test_without_lost_lines_the_share_is_rows_over_rows(conn) -> None:
    quarantine(conn, "1/1/7", 10)

    lost = quarantine_count(conn, "otel_spans", "raw.otel_spans", WINDOW)

    assert (lost.quarantined, lost.share) == (10, pytest.approx(10 / 1010))
    assert lost.describe() == "10 of 1,010 input rows quarantined"


def test_a_window_of_nothing_but_lost_lines_counts_each_as_one(conn) -> None:
    quarantine(conn, "line", 3, day="2026-12-05")

    lost = quarantine_count(conn, "otel_spans", "raw.otel_spans", "_partition_date = date '2026-12-05'")

    assert (lost.quarantined, lost.loaded, lost.share) == (3, 0, 1.0)


def test_a_second_copy_of_a_loaded_span_is_no_loss(conn) -> None:
    # given 200 spans exported twice (their first copies are among the 1,000 loaded) and 3 bad spans
    conn.execute(
        "insert into raw.quarantine select 'otel_spans', date '2026-12-04', '1/1/' || i, "
        "'duplicate export of span ' || i || ' (first seen in f.jsonl line 1)' from range(200) t(i)"
    )
    quarantine(conn, "1/1/7", 3)

    # when
    lost = quarantine_count(conn, "otel_spans", "raw.otel_spans", WINDOW)

    # then only the 3 bad spans are lost, of 1,003 spans received once (16.9% counting the copies)
    assert (lost.quarantined, lost.share) == (3, pytest.approx(3 / 1003))
