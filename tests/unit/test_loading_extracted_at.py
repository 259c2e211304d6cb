"""`_extracted_at` is stamped in UTC, whatever the connection's (by default the host's) TimeZone."""

from datetime import UTC, date, datetime, timedelta

import duckdb
import pandera.polars as pa
import pytest

from orchestration.loading import RawTable, upsert_records, write_partitions


class ThingRaw(pa.DataFrameModel):
    """A test record: an id and a non-negative amount."""

    id: str = pa.Field(str_length={"min_value": 1})
    amount: float = pa.Field(ge=0)

    class Config:
        coerce = True


PARTITIONED = RawTable(
    source="test", name="test_things", model=ThingRaw,
    columns={"_partition_date": "date not null", "id": "varchar not null", "amount": "decimal(38, 10)",
             "_extracted_at": "timestamp not null"},
)
KEYED = RawTable(
    source="test", name="test_keyed_things", model=ThingRaw,
    columns={"id": "varchar not null", "amount": "decimal(38, 10)", "_record_hash": "varchar not null",
             "_extracted_at": "timestamp not null"},
)
DAY = date(2026, 5, 15)


@pytest.fixture
def conn() -> duckdb.DuckDBPyConnection:
    """A warehouse whose session TimeZone is New York (UTC-5 in December, UTC-4 in summer)."""
    connection = duckdb.connect()
    connection.execute("set TimeZone = 'America/New_York'")
    connection.execute(
        "create temp table _things as select * from (values "
        f"(1, date '{DAY}', 'a', 10.5::decimal(38, 10), 'h-a', '{{}}', 'things.jsonl', 1), "
        f"(2, date '{DAY}', 'b', -1::decimal(38, 10), 'h-b', '{{}}', 'things.jsonl', 2)"
        ") t(_row_id, _partition_date, id, amount, _record_hash, _raw_record, _source_file, _line_number)"
    )
    return connection


def _assert_utc_now(stamps: list[datetime]) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    assert stamps and all(abs(stamp - now) < timedelta(minutes=1) for stamp in stamps), (stamps, now)


def test_write_partitions_stamps_rows_and_quarantine_in_utc(conn: duckdb.DuckDBPyConnection) -> None:
    # when one good and one rejected (negative amount) row are written
    report = write_partitions(conn, table=PARTITIONED, candidates="_things", partitions=[DAY])
    # then both the loaded row and the quarantined one carry the UTC time, not New York's
    assert (report.loaded, report.quarantined) == (1, 1)
    _assert_utc_now([row[0] for row in conn.execute("select _extracted_at from raw.test_things").fetchall()])
    _assert_utc_now([row[0] for row in conn.execute("select _extracted_at from raw.quarantine").fetchall()])


def test_upsert_records_stamps_rows_and_quarantine_in_utc(conn: duckdb.DuckDBPyConnection) -> None:
    # when
    report = upsert_records(conn, table=KEYED, candidates="_things", key="id")
    # then
    assert (report.loaded, report.quarantined) == (1, 1)
    _assert_utc_now([row[0] for row in conn.execute("select _extracted_at from raw.test_keyed_things").fetchall()])
    _assert_utc_now([row[0] for row in conn.execute("select _extracted_at from raw.quarantine").fetchall()])
