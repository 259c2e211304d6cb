"""The BI snapshot: every mart as a table, Parquet beside it, swapped in atomically, untouched on failure."""

import hashlib
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.marts import snapshot_restatements
from orchestration.snapshot import INFO_COLUMN_COMMENTS, TableDoc, mart_docs, write_snapshot


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def beside_warehouse(folder: Path) -> list[str]:
    """What a publish left in the warehouse's folder, the warehouse's own files aside."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("warehouse.duckdb"))


@pytest.fixture
def warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """A warehouse whose marts are a view over an intermediate table (as dbt-duckdb builds them) and a table."""
    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    conn.execute("create schema intermediate; create schema marts")
    conn.execute(
        """
        create table intermediate.int_calls as select * from (values
            ('c1', 'seo_audit', 0.0123456789::decimal(38, 10)),
            ('c2', 'seo_audit', 1.5::decimal(38, 10)),
            ('c3', 'ticket_triage', null::decimal(38, 10))
        ) as t(call_id, workflow, cost_usd)
        """
    )
    conn.execute("create view marts.fct_calls as select * from intermediate.int_calls")
    conn.execute(
        "create table marts.mart_totals as select workflow, sum(cost_usd) as cost_usd from marts.fct_calls group by 1"
    )
    yield conn
    conn.close()


def test_every_mart_becomes_a_table_that_needs_nothing_of_the_warehouse(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # given marts.fct_calls is a view over intermediate.int_calls
    snapshot_path = tmp_path / "marts.duckdb"

    # when
    snapshot = write_snapshot(
        warehouse, ["fct_calls", "mart_totals"], snapshot_path, tmp_path / "marts",
        run_id="run-1", window=(date(2026, 11, 20), date(2026, 11, 21)),
    )

    # then the snapshot opens on its own: tables, not views, money still DECIMAL(38,10)
    assert [(t.name, t.rows, t.columns) for t in snapshot.tables] == [("fct_calls", 3, 3), ("mart_totals", 2, 2)]
    with duckdb.connect(str(snapshot_path), read_only=True) as conn:
        kinds = conn.execute("select table_name, table_type from information_schema.tables order by 1").fetchall()
        assert kinds == [
            ("fct_calls", "BASE TABLE"), ("mart_totals", "BASE TABLE"), ("snapshot_info", "BASE TABLE")
        ]
        assert conn.execute("select count(*) from duckdb_views() where not internal").fetchone()[0] == 0
        # both spellings a BI user would type resolve (the file's catalog is `marts`)
        assert conn.execute("select sum(cost_usd) from marts.fct_calls").fetchone()[0] == Decimal("1.5123456789")
        assert conn.execute("select sum(cost_usd) from fct_calls").fetchone()[0] == Decimal("1.5123456789")
        column_type = conn.execute(
            "select data_type from information_schema.columns "
            "where table_name = 'fct_calls' and column_name = 'cost_usd'"
        ).fetchone()[0]
        assert column_type == "DECIMAL(38,10)"
        info = conn.execute(
            "select dagster_run_id, first_partition_date, last_partition_date, published_tables from snapshot_info"
        ).fetchone()
        assert info == ("run-1", date(2026, 11, 20), date(2026, 11, 21), ["fct_calls", "mart_totals"])
        # and a BI tool's schema browser shows what each of its columns means
        comments = conn.execute(
            "select column_name, comment from duckdb_columns() where table_name = 'snapshot_info' order by column_index"
        ).fetchall()
        assert [name for name, _ in comments] == list(INFO_COLUMN_COMMENTS)
        assert all(comment for _, comment in comments)
    assert not (tmp_path / "marts.duckdb.tmp").exists() and not (tmp_path / "marts.duckdb.wal").exists()


def test_parquet_copies_hold_the_same_rows_and_stale_ones_are_removed(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # given a Parquet file left by a mart that is no longer published
    parquet_dir = tmp_path / "marts"
    parquet_dir.mkdir()
    (parquet_dir / "mart_dropped.parquet").write_bytes(b"old")

    # when
    snapshot = write_snapshot(warehouse, ["fct_calls", "mart_totals"], tmp_path / "marts.duckdb", parquet_dir)

    # then
    assert sorted(p.name for p in parquet_dir.iterdir()) == ["fct_calls.parquet", "mart_totals.parquet"]
    assert snapshot.removed_parquet == ["mart_dropped.parquet"]
    rows = duckdb.sql(f"select call_id, cost_usd from '{parquet_dir / 'fct_calls.parquet'}' order by 1").fetchall()
    assert rows == [("c1", Decimal("0.0123456789")), ("c2", Decimal("1.5")), ("c3", None)]


def test_a_failed_copy_leaves_the_previous_snapshot_and_parquet_untouched(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # given a published snapshot
    snapshot_path, parquet_dir = tmp_path / "marts.duckdb", tmp_path / "marts"
    write_snapshot(warehouse, ["fct_calls", "mart_totals"], snapshot_path, parquet_dir)
    before = {path.name: digest(path) for path in [snapshot_path, *parquet_dir.iterdir()]}
    inode = snapshot_path.stat().st_ino

    # when the next publish fails half-way (the second mart cannot be read)
    warehouse.execute("drop table intermediate.int_calls")
    with pytest.raises(duckdb.Error):
        write_snapshot(warehouse, ["mart_totals", "fct_calls"], snapshot_path, parquet_dir)

    # then every published file is byte-identical and no temporary file is left behind
    after = {path.name: digest(path) for path in [snapshot_path, *parquet_dir.iterdir()]}
    assert after == before
    assert snapshot_path.stat().st_ino == inode
    assert beside_warehouse(tmp_path) == ["marts", "marts.duckdb"]
    assert sorted(p.name for p in parquet_dir.iterdir()) == ["fct_calls.parquet", "mart_totals.parquet"]


def test_a_folder_where_a_file_goes_fails_the_publish_before_any_file_changes(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # given a published snapshot, then a folder put where one mart's Parquet file goes
    snapshot_path, parquet_dir = tmp_path / "marts.duckdb", tmp_path / "marts"
    write_snapshot(warehouse, ["fct_calls", "mart_totals"], snapshot_path, parquet_dir, run_id="run-1")
    (parquet_dir / "mart_totals.parquet").unlink()
    (parquet_dir / "mart_totals.parquet").mkdir()
    (parquet_dir / "mart_totals.parquet" / "part-0.parquet").write_bytes(b"someone else's")
    before = {path.name: digest(path) for path in [snapshot_path, parquet_dir / "fct_calls.parquet"]}

    # when the next run (new rows) publishes
    warehouse.execute("insert into intermediate.int_calls values ('c4', 'seo_audit', 2)")
    with pytest.raises(IsADirectoryError, match="mart_totals.parquet: a folder is in its place"):
        write_snapshot(warehouse, ["fct_calls", "mart_totals"], snapshot_path, parquet_dir, run_id="run-2")

    # then nothing it publishes changed, not even the files it could have replaced, and nothing is left over
    assert {path.name: digest(path) for path in [snapshot_path, parquet_dir / "fct_calls.parquet"]} == before
    with duckdb.connect(str(snapshot_path), read_only=True) as conn:
        assert conn.execute("select dagster_run_id from snapshot_info").fetchone() == ("run-1",)
    assert beside_warehouse(tmp_path) == ["marts", "marts.duckdb"]
    assert sorted(p.name for p in parquet_dir.iterdir()) == ["fct_calls.parquet", "mart_totals.parquet"]


def test_a_publish_killed_while_swapping_its_files_is_rolled_back_by_the_next(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # given a published snapshot, and a publish killed after it had put one new file in place: its
    # journal and the old files' links are left, as the swap leaves them
    snapshot_path, parquet_dir = tmp_path / "marts.duckdb", tmp_path / "marts"
    write_snapshot(warehouse, ["fct_calls", "mart_totals"], snapshot_path, parquet_dir, run_id="run-1")
    before = {path.name: digest(path) for path in [snapshot_path, *parquet_dir.iterdir()]}
    finals = [parquet_dir / "fct_calls.parquet", parquet_dir / "mart_totals.parquet", snapshot_path]
    (tmp_path / ".publishing.json").write_text(json.dumps({str(path): True for path in finals}))
    for path in finals:
        path.with_name(path.name + ".previous").hardlink_to(path)
    (parquet_dir / "fct_calls.parquet.tmp").write_bytes(b"the killed run's rows")
    (parquet_dir / "fct_calls.parquet.tmp").replace(parquet_dir / "fct_calls.parquet")

    # when the next publish starts (and fails on a mart of its own)
    messages: list[str] = []
    warehouse.execute("drop table intermediate.int_calls")
    with pytest.raises(duckdb.Error):
        write_snapshot(warehouse, ["mart_totals", "fct_calls"], snapshot_path, parquet_dir, log=messages.append)

    # then the previous snapshot is whole again, and the next publish said so
    assert {path.name: digest(path) for path in [snapshot_path, *parquet_dir.iterdir()]} == before
    assert messages == ["snapshot: an interrupted publish was rolled back (3 files put back)"]
    assert beside_warehouse(tmp_path) == ["marts", "marts.duckdb"]


def test_table_and_column_descriptions_travel_as_comments(warehouse: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # given the dbt manifest documents a mart and one of its columns
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"nodes": {
        "model.agentledger.fct_calls": {
            "resource_type": "model", "schema": "marts", "name": "fct_calls",
            "description": "One LLM call, it's priced.", "columns": {"cost_usd": {"description": "USD, exact."}},
        },
        "model.agentledger.int_calls": {"resource_type": "model", "schema": "intermediate", "name": "int_calls"},
    }}))
    docs = mart_docs(manifest)
    assert docs == {"fct_calls": TableDoc("One LLM call, it's priced.", {"cost_usd": "USD, exact."})}

    # when
    write_snapshot(warehouse, ["fct_calls"], tmp_path / "marts.duckdb", tmp_path / "marts", docs=docs)

    # then
    with duckdb.connect(str(tmp_path / "marts.duckdb"), read_only=True) as conn:
        assert conn.execute("select comment from duckdb_tables() where table_name = 'fct_calls'").fetchone()[0] == (
            "One LLM call, it's priced."
        )
        comments = conn.execute(
            "select column_name, comment from duckdb_columns() where table_name = 'fct_calls' order by column_index"
        ).fetchall()
    assert comments == [("call_id", None), ("workflow", None), ("cost_usd", "USD, exact.")]


# --- day-partitioned facts: the previous snapshot is updated from the window's first day on -----------


@pytest.fixture
def daily(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """A warehouse with a day-partitioned fact over October and November and a small mart."""
    conn = duckdb.connect(str(tmp_path / "daily.duckdb"))
    conn.execute("create schema marts")
    conn.execute(
        """
        create table marts.fct_calls as
        select 'c' || i as call_id, date '2026-10-15' + cast(i as integer) as started_date,
            cast(i / 100 as decimal(38, 10)) as cost_usd
        from range(0, 36) as r(i)
        """
    )  # 2026-10-15 … 2026-11-19
    conn.execute("create table marts.mart_totals as select sum(cost_usd) as cost_usd from marts.fct_calls")
    yield conn
    conn.close()


def publish(conn: duckdb.DuckDBPyConnection, tmp_path: Path, first: date, last: date):
    return write_snapshot(
        conn, ["fct_calls", "mart_totals"], tmp_path / "marts.duckdb", tmp_path / "marts",
        window=(first, last), windowed={"fct_calls": ("started_date", 3)}, log=LOGGED.append,
    )


LOGGED: list[str] = []


def published_rows(tmp_path: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(tmp_path / "marts.duckdb"), read_only=True) as conn:
        return conn.execute(f"select * from {table} order by all").fetchall()


def parquet_rows(folder: Path) -> list[tuple]:
    return duckdb.sql(f"select * from read_parquet('{folder}/*.parquet') order by all").fetchall()


def test_a_nightly_publish_replaces_only_the_window_and_its_months(
    daily: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # given a first publish (a backfill: no previous snapshot) …
    first = publish(daily, tmp_path, date(2026, 10, 15), date(2026, 11, 19))
    assert first.rebuilt_because == "no previous snapshot" and first.tables[0].refreshed_from is None
    october = tmp_path / "marts" / "fct_calls" / "2026-10.parquet"
    assert sorted(p.name for p in october.parent.iterdir()) == ["2026-10.parquet", "2026-11.parquet"]
    october_inode = october.stat().st_ino

    # when the warehouse changes inside the next run's window (11-20, lookback 3 → from 11-17): a
    # late label changed 11-18's row, 11-19's row vanished, 11-20 is new
    daily.execute("update marts.fct_calls set cost_usd = 9 where started_date = date '2026-11-18'")
    daily.execute("delete from marts.fct_calls where started_date = date '2026-11-19'")
    daily.execute("insert into marts.fct_calls values ('new', date '2026-11-20', 0.5)")
    daily.execute("create or replace table marts.mart_totals as select sum(cost_usd) as cost_usd from marts.fct_calls")
    second = publish(daily, tmp_path, date(2026, 11, 20), date(2026, 11, 20))

    # then the published fact equals the warehouse's, only November's Parquet file was rewritten
    assert second.rebuilt_because is None
    assert [(t.name, t.refreshed_from, t.parquet_files_written) for t in second.tables] == [
        ("fct_calls", date(2026, 11, 17), 1), ("mart_totals", None, 1)
    ]
    expected = daily.execute("select * from marts.fct_calls order by all").fetchall()
    assert published_rows(tmp_path, "fct_calls") == expected == parquet_rows(october.parent)
    assert published_rows(tmp_path, "mart_totals") == daily.execute("select * from marts.mart_totals").fetchall()
    assert october.stat().st_ino == october_inode
    with duckdb.connect(str(tmp_path / "marts.duckdb"), read_only=True) as conn:
        info = conn.execute("select first_partition_date, last_partition_date from snapshot_info").fetchall()
    assert info == [(date(2026, 11, 20), date(2026, 11, 20))]


def test_rows_before_the_window_that_no_longer_match_make_the_fact_copied_whole(
    daily: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # given a published snapshot, then a full refresh that dropped October's first day
    publish(daily, tmp_path, date(2026, 10, 15), date(2026, 11, 19))
    daily.execute("delete from marts.fct_calls where started_date = date '2026-10-15'")
    LOGGED.clear()

    # when the next nightly run publishes
    snapshot = publish(daily, tmp_path, date(2026, 11, 20), date(2026, 11, 20))

    # then the fact is copied whole (and says why), October's Parquet rewritten without the day
    assert snapshot.tables[0].refreshed_from is None and snapshot.tables[0].parquet_files_written == 2
    assert LOGGED == [
        "snapshot: fct_calls: 33 rows before 2026-11-17 in the previous snapshot, 32 in the warehouse; copying it whole"
    ]
    expected = daily.execute("select * from marts.fct_calls order by all").fetchall()
    assert published_rows(tmp_path, "fct_calls") == expected == parquet_rows(tmp_path / "marts" / "fct_calls")


@pytest.mark.parametrize(
    "rebuild",
    [
        # a full refresh that repriced October (a negotiated rate given a past start): as many rows
        # as before, other costs
        "update marts.fct_calls set cost_usd = cost_usd * 0.5 where started_date < date '2026-11-01'",
        # a rebuild that left 10-15's call (cost 0) without a price: the same count and total
        "update marts.fct_calls set cost_usd = null where started_date = date '2026-10-15'",
    ],
    ids=["repriced", "free_call_unpriced"],
)
def test_changed_costs_before_the_window_make_the_fact_copied_whole(
    daily: duckdb.DuckDBPyConnection, tmp_path: Path, rebuild: str
) -> None:
    # given a published snapshot, then a rebuild that changed costs before the next window
    publish(daily, tmp_path, date(2026, 10, 15), date(2026, 11, 19))
    daily.execute(rebuild)
    LOGGED.clear()

    # when the next nightly run publishes
    snapshot = publish(daily, tmp_path, date(2026, 11, 20), date(2026, 11, 20))

    # then the fact is copied whole, saying why, with the new costs
    assert snapshot.tables[0].refreshed_from is None
    assert LOGGED == [
        "snapshot: fct_calls: its rows before 2026-11-17 changed in the warehouse (cost_usd totals differ); "
        "copying it whole"
    ]
    expected = daily.execute("select * from marts.fct_calls order by all").fetchall()
    assert published_rows(tmp_path, "fct_calls") == expected == parquet_rows(tmp_path / "marts" / "fct_calls")


def test_rows_a_publish_takes_from_before_the_gated_days_are_checked_and_can_stop_it(
    daily: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # given a published snapshot, and a check of the rows no gate covered that fails on a negative cost
    publish(daily, tmp_path, date(2026, 10, 15), date(2026, 11, 19))
    asked: list[tuple[str, str]] = []

    def check_ungated(table: str, predicate: str) -> None:
        asked.append((table, predicate))
        bad = daily.execute(f"select count(*) from marts.{table} where ({predicate}) and cost_usd < 0").fetchone()[0]
        if bad:
            raise ValueError(f"{table}: {bad} ungated row(s) fail")

    def nightly():
        return write_snapshot(
            daily, ["fct_calls", "mart_totals"], tmp_path / "marts.duckdb", tmp_path / "marts",
            window=(date(2026, 11, 20), date(2026, 11, 20)), windowed={"fct_calls": ("started_date", 3)},
            check_ungated=check_ungated,
        )

    # when a nightly refreshes only its gated days, nothing older is asked about
    nightly()
    assert asked == []
    published = digest(tmp_path / "marts.duckdb")

    # when a rebuild of history (a bad price override) made an October cost negative, the fact is
    # copied whole: its rows before the gated days (11-17) are checked, and the publish stops
    daily.execute("update marts.fct_calls set cost_usd = -123.45 where started_date = date '2026-10-20'")
    with pytest.raises(ValueError, match="fct_calls: 1 ungated row"):
        nightly()

    # then only the ungated rows were asked about, and the snapshot is the one before
    assert asked == [("fct_calls", "(\"started_date\" < date '2026-11-17' or \"started_date\" is null)")]
    assert digest(tmp_path / "marts.duckdb") == published
    assert min(row[2] for row in published_rows(tmp_path, "fct_calls")) >= 0


def test_a_changed_column_or_mart_list_rebuilds_and_the_old_single_file_parquet_goes(
    daily: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # given a snapshot published before facts had monthly Parquet files (one fct_calls.parquet)
    write_snapshot(daily, ["fct_calls", "mart_totals"], tmp_path / "marts.duckdb", tmp_path / "marts")
    assert (tmp_path / "marts" / "fct_calls.parquet").exists()

    # when a column is added to the fact and the next nightly run publishes
    daily.execute("alter table marts.fct_calls add column tokens integer default 7")
    LOGGED.clear()
    snapshot = publish(daily, tmp_path, date(2026, 11, 20), date(2026, 11, 20))

    # then the fact is copied whole with its new column, in monthly files only
    assert LOGGED == ["snapshot: fct_calls: its columns changed; copying it whole"]
    assert snapshot.removed_parquet == ["fct_calls.parquet"]
    assert sorted(str(p.relative_to(tmp_path / "marts")) for p in (tmp_path / "marts").rglob("*.parquet")) == [
        "fct_calls/2026-10.parquet", "fct_calls/2026-11.parquet", "mart_totals.parquet"
    ]
    assert published_rows(tmp_path, "fct_calls")[0] == ("c0", date(2026, 10, 15), Decimal("0.0000000000"), 7)

    # and a snapshot publishing another list of marts is not a starting point at all
    LOGGED.clear()
    other = write_snapshot(
        daily, ["fct_calls"], tmp_path / "marts.duckdb", tmp_path / "marts",
        window=(date(2026, 11, 20), date(2026, 11, 20)), windowed={"fct_calls": ("started_date", 0)},
        log=LOGGED.append,
    )
    assert other.rebuilt_because == "the previous snapshot publishes other marts"
    assert other.removed_parquet == ["mart_totals.parquet"]


# --- a bill restated before the runs' lookback ------------------------------------------------------


@pytest.fixture
def billed(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """Runs of 11-01..11-20 billed at their provider-day's factor, as fct_workflow_runs is (a view)."""
    conn = duckdb.connect(str(tmp_path / "billed.duckdb"))
    conn.execute("create schema intermediate; create schema marts")
    conn.execute(
        """
        create table intermediate.int_run_provider_day_costs as
        select 'r' || i as run_id, date '2026-11-01' + cast(i as integer) as run_date, 'google' as provider,
            date '2026-11-01' + cast(i as integer) as usage_date, 1.0::decimal(38, 10) as cost_usd
        from range(0, 20) as r(i)
        union all  -- a run started late on 11-03 whose last call was on 11-04
        select 'r_midnight', date '2026-11-03', 'google', date '2026-11-04', 2.0::decimal(38, 10)
        """
    )
    conn.execute(
        """
        create table marts.mart_provider_reconciliation as
        select distinct provider, usage_date, 'gemini-2.5-pro' as model, 1.0::decimal(38, 10) as rack_cost_usd,
            0.9::decimal(38, 10) as billed_cost_usd, null::decimal(38, 10) as untraced_spend_usd
        from intermediate.int_run_provider_day_costs
        """
    )
    conn.execute(
        """
        create view marts.fct_workflow_runs as
        select costs.run_id, costs.run_date, sum(costs.cost_usd * bills.billed_cost_usd / bills.rack_cost_usd)
            as billed_cost_usd
        from intermediate.int_run_provider_day_costs as costs
        join marts.mart_provider_reconciliation as bills using (provider, usage_date)
        group by all
        """
    )
    yield conn
    conn.close()


def test_a_bill_restated_before_the_lookback_republishes_the_runs_it_reaches(
    billed: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    tables = ["fct_workflow_runs", "mart_provider_reconciliation"]
    snapshot_path = tmp_path / "marts.duckdb"

    def publish_night(first: date, last: date):
        return write_snapshot(
            billed, tables, snapshot_path, tmp_path / "marts", window=(first, last),
            windowed={"fct_workflow_runs": ("run_date", 7)},
            restated_from=snapshot_restatements(billed, snapshot_path, tables), log=LOGGED.append,
        )

    # given a published backfill, and nothing restated since
    publish_night(date(2026, 11, 1), date(2026, 11, 20))
    assert snapshot_restatements(billed, snapshot_path, tables) == {}

    # when a FOCUS correction restates 11-04's bill, 16 days before the next night (lookback 7)
    billed.execute(
        "update marts.mart_provider_reconciliation set billed_cost_usd = 0.4 where usage_date = date '2026-11-04'"
    )
    LOGGED.clear()
    snapshot = publish_night(date(2026, 11, 21), date(2026, 11, 21))

    # then the runs from 11-03 on (one of 11-03 had a call on 11-04) are published again, and the
    # snapshot equals the warehouse
    assert snapshot.tables[0].refreshed_from == date(2026, 11, 3)
    assert LOGGED == ["snapshot: fct_workflow_runs changed from 2026-11-03 on, before its lookback (a restated bill)"]
    expected = billed.execute("select * from marts.fct_workflow_runs order by all").fetchall()
    assert published_rows(tmp_path, "fct_workflow_runs") == expected
    assert parquet_rows(tmp_path / "marts" / "fct_workflow_runs") == expected
    assert [round(cost, 6) for run, _, cost in expected if run in ("r2", "r3")] == [0.9, 0.4]
