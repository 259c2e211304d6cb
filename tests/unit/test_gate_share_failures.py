"""A raw window that lost too much fails every later run's gate until it is repaired, checked on its own."""

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pandera.polars as pa
import pytest

from orchestration.checks import PanderaGate
from orchestration.partitions import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG


class Span(pa.DataFrameModel):
    """A row of the toy raw table."""

    span_id: int = pa.Field()


GATE = PanderaGate(
    asset_key=dg.AssetKey(["raw", "spans"]),
    relation="raw.spans",
    model=Span,
    date_column="_partition_date",
    lookback_days=1,
    quarantine_entity="spans",
)


@pytest.fixture
def conn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AGENTLEDGER_HOME", str(tmp_path))
    monkeypatch.setenv("AGENTLEDGER_MAX_QUARANTINE_SHARE", "0.05")
    connection = duckdb.connect()
    connection.execute("create schema raw")
    # ten days of 100 spans, 10 to a line of the day's file
    connection.execute(
        "create table raw.spans as select i as span_id, date '2026-11-25' + (i // 100)::int as _partition_date, "
        "'traces/' || strftime(date '2026-11-25' + (i // 100)::int, '%Y-%m-%d') || '.jsonl' as _source_file, "
        "i % 100 // 10 + 1 as _line_number from range(1000) t(i)"
    )
    connection.execute(
        "create table raw.quarantine (entity varchar, _partition_date date, _source_file varchar, "
        "_line_number bigint, record_key varchar, reason varchar)"
    )
    # 12-03's file lost 2 more lines, cut in half: 20 of its 120 spans
    connection.execute(
        "insert into raw.quarantine values ('spans', date '2026-12-03', 'traces/2026-12-03.jsonl', 11, 'line', 'cut'), "
        "('spans', date '2026-12-03', 'traces/2026-12-03.jsonl', 12, 'line', 'cut')"
    )
    yield connection
    connection.close()


def night(conn: duckdb.DuckDBPyConnection, day: str) -> dg.AssetCheckResult:
    return GATE.evaluate(conn, {PARTITION_TAG: day}, lambda message: None)


def test_a_day_that_failed_its_gate_fails_the_later_nights_until_it_is_repaired(conn) -> None:
    # given the nights of 12-03 and 12-04 failed on 12-03's cut lines (their windows hold it)
    assert not night(conn, "2026-12-03").passed
    assert not night(conn, "2026-12-04").passed

    # when the night of 12-05 runs: its own window (12-04..12-05) lost nothing
    result = night(conn, "2026-12-05")

    # then it fails on the windows that failed before, checked on their own, naming day and file
    assert not result.passed
    assert result.metadata["quarantine_share"].value == 0
    assert result.metadata["earlier_failed_windows"].value == 2
    assert result.description.startswith(
        "2026-12-02..2026-12-03 failed this gate on an earlier run and still does: 20 of 220 input rows"
    )
    assert "most lost in: 2026-12-03 traces/2026-12-03.jsonl (2 line(s), 0 row(s))" in result.description
    assert "2026-12-03..2026-12-04 failed this gate on an earlier run" in result.description

    # and a backfill whose wide window dilutes the loss below the limit still fails on them
    backfill = GATE.evaluate(
        conn, {RANGE_START_TAG: "2026-11-25", RANGE_END_TAG: "2026-12-04"}, lambda message: None
    )
    assert backfill.metadata["quarantine_share"].value < 0.05
    assert not backfill.passed

    # when 12-03 is repaired (its file exported whole again and its day run) the next night passes
    conn.execute("delete from raw.quarantine")
    conn.execute(
        "insert into raw.spans select 3000 + i, date '2026-12-03', 'traces/2026-12-03.jsonl', 11 from range(20) t(i)"
    )
    assert night(conn, "2026-12-06").passed
    assert conn.execute("select count(*) from raw.quarantine_share_failures").fetchone()[0] == 0


def test_a_run_with_the_limit_raised_accepts_that_loss_for_good_and_no_other(
    conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the nights of 12-01 and of 12-03 failed (12-01 lost 2 lines too)
    conn.execute(
        "insert into raw.quarantine values ('spans', date '2026-12-01', 'traces/2026-12-01.jsonl', 11, 'line', 'cut'), "
        "('spans', date '2026-12-01', 'traces/2026-12-01.jsonl', 12, 'line', 'cut')"
    )
    assert not night(conn, "2026-12-01").passed
    assert not night(conn, "2026-12-03").passed

    # when 12-03's days are run again with the limit raised (the loss is accepted), then the next nights
    monkeypatch.setenv("AGENTLEDGER_MAX_QUARANTINE_SHARE", "0.2")
    accepted = night(conn, "2026-12-03")
    assert accepted.passed, accepted.description
    monkeypatch.setenv("AGENTLEDGER_MAX_QUARANTINE_SHARE", "0.05")
    after = night(conn, "2026-12-04")

    # then the night after it, whose lookback holds 12-03, passes on its own window and stays
    # unrecorded, but 12-01's window, which nobody accepted or repaired, still fails it
    assert after.metadata["quarantine_share"].value == 0
    assert not after.passed
    assert after.description.startswith("2026-11-30..2026-12-01 failed this gate on an earlier run")
    assert conn.execute("select first_day, last_day from raw.quarantine_share_failures").fetchall() == [
        (date(2026, 11, 30), date(2026, 12, 1))
    ]
    # and a run of the accepted day itself at the default limit judges it anew
    assert not night(conn, "2026-12-03").passed
