"""The FOCUS source on real CSV and Parquet files: newest export wins, corrections restate their day."""

import os
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration.sources.focus.load import load_focus

HEADER = ["BilledCost", "BillingCurrency", "BillingAccountId", "BillingPeriodStart", "BillingPeriodEnd",
          "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "ChargeClass", "ServiceCategory",
          "ProviderName", "ConsumedQuantity", "ConsumedUnit", "SkuMeter", "Tags"]


def row(day: str, billed: str, *, period: str = "2026-11", meter: str = "Input Tokens", charge_class: str = "",
        currency: str = "USD", **extra: str) -> dict[str, str]:
    start = f"{period}-01T00:00:00Z"
    end = "2026-12-01T00:00:00Z" if period == "2026-11" else "2026-11-01T00:00:00Z"
    following = date.fromisoformat(day) + timedelta(days=1)
    return {
        "BilledCost": billed, "BillingCurrency": currency, "BillingAccountId": "acct-1", "BillingPeriodStart": start,
        "BillingPeriodEnd": end, "ChargePeriodStart": f"{day}T00:00:00Z", "ChargePeriodEnd": f"{following}T00:00:00Z",
        "ChargeCategory": "Usage", "ChargeClass": charge_class, "ServiceCategory": "AI and Machine Learning",
        "ProviderName": "Google Cloud", "ConsumedQuantity": "1000", "ConsumedUnit": "Tokens", "SkuMeter": meter,
        "Tags": '{"model": "gemini-2.5-pro"}', **extra,
    }


def write_csv(path: Path, rows: list[dict[str, str]], mtime: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(dict.fromkeys(name for r in rows for name in [*HEADER, *r]))
    lines = [",".join(names)]
    for r in rows:
        lines.append(",".join('"' + r.get(name, "").replace('"', '""') + '"' for name in names))
    path.write_text("\n".join(lines) + "\n")
    os.utime(path, (mtime, mtime))


def loaded(db: duckdb.DuckDBPyConnection) -> list[tuple]:
    return db.execute(
        "select _partition_date, billed_cost, charge_class, _source_file like '%.parquet' "
        "from raw.focus_charges order by 1, 2"
    ).fetchall()


def test_the_newest_export_wins_per_day_and_x_columns_pass_through(tmp_path: Path) -> None:
    # given a month-to-date export, and a newer one restating 11-20 (with a vendor x_ column)
    folder = tmp_path / "billing"
    write_csv(folder / "google" / "export-1.csv",
              [row("2026-11-19", "1.00"), row("2026-11-20", "0.80"), row("2026-11-20", "0.10", meter="Output Tokens")],
              mtime=1_000)
    write_csv(folder / "google" / "export-2.csv", [row("2026-11-20", "1.25", x_ExportTime="2026-11-22T00:00:00Z")],
              mtime=2_000)
    db = duckdb.connect()

    # when the window 11-19..11-20 is loaded
    report = load_focus(db, folder, date(2026, 11, 19), date(2026, 11, 20))

    # then 11-20 comes from the newer export only (its two older rows superseded), 11-19 from the older
    assert loaded(db) == [(date(2026, 11, 19), Decimal("1.0000000000"), None, False),
                          (date(2026, 11, 20), Decimal("1.2500000000"), None, False)]
    assert report.extra["superseded_rows"] == 2
    extra = db.execute("select extra_columns from raw.focus_charges where _partition_date = '2026-11-20'").fetchone()
    assert orjson.loads(extra[0]) == {"x_ExportTime": "2026-11-22T00:00:00Z"}


def test_a_correction_in_a_later_period_restates_its_day_and_reloading_changes_nothing(tmp_path: Path) -> None:
    # given October's export (a Parquet file) loaded by October's nights, and November's CSV holding
    # a correction of 10-31
    folder = tmp_path / "billing"
    october = [row("2026-10-30", "2.00", period="2026-10"), row("2026-10-31", "3.00", period="2026-10")]
    (folder / "deepseek").mkdir(parents=True)
    table = pa.Table.from_pylist([{**r, "BilledCost": Decimal(r["BilledCost"])} for r in october])
    pq.write_table(table, folder / "deepseek" / "october.parquet")
    os.utime(folder / "deepseek" / "october.parquet", (1_000, 1_000))
    db = duckdb.connect()
    load_focus(db, folder, date(2026, 10, 30), date(2026, 10, 31))
    write_csv(folder / "deepseek" / "november.csv",
              [row("2026-11-20", "4.00"), row("2026-10-31", "-0.30", charge_class="Correction")], mtime=2_000)

    # when a nightly window of November days is loaded, twice
    report = load_focus(db, folder, date(2026, 11, 14), date(2026, 11, 20))
    first = loaded(db)
    load_focus(db, folder, date(2026, 11, 14), date(2026, 11, 20))

    # then the window reached back to the corrected day for the correction alone: 10-31 holds its
    # charge and the correction (billed in November, so the October export does not supersede it)
    assert report.extra["first_day"] == "2026-10-31"
    assert (report.received, report.loaded, report.quarantined) == (2, 2, 0)
    assert first == [
        (date(2026, 10, 30), Decimal("2.0000000000"), None, True),
        (date(2026, 10, 31), Decimal("-0.3000000000"), "Correction", False),
        (date(2026, 10, 31), Decimal("3.0000000000"), None, True),
        (date(2026, 11, 20), Decimal("4.0000000000"), None, False),
    ]
    assert loaded(db) == first


def test_a_correction_leaves_the_charges_of_its_day_whose_export_is_gone(tmp_path: Path) -> None:
    # given Google's and DeepSeek's October exports loaded by October's last night, then removed from
    # the folder (a retention policy), and November's exports, DeepSeek's correcting 10-31
    folder = tmp_path / "billing"
    deepseek = {"ProviderName": "DeepSeek", "BillingAccountId": "acct-2"}
    october = [row("2026-10-31", "5.00", period="2026-10"), row("2026-10-31", "9.00", period="2026-10", currency="EUR")]
    write_csv(folder / "google" / "2026-10.csv", october, mtime=1_000)
    write_csv(folder / "deepseek" / "2026-10.csv", [row("2026-10-31", "2.00", period="2026-10", **deepseek)],
              mtime=1_000)
    db = duckdb.connect()
    load_focus(db, folder, date(2026, 10, 31), date(2026, 10, 31))
    (folder / "google" / "2026-10.csv").unlink()
    (folder / "deepseek" / "2026-10.csv").unlink()
    write_csv(folder / "google" / "2026-11.csv", [row("2026-11-20", "4.00")], mtime=2_000)
    correction = row("2026-10-31", "-0.10", charge_class="Correction", **deepseek)
    write_csv(folder / "deepseek" / "2026-11.csv", [row("2026-11-20", "1.00", **deepseek), correction], mtime=2_000)

    # when a nightly window of November days is loaded
    load_focus(db, folder, date(2026, 11, 14), date(2026, 11, 20))

    # then 10-31 keeps both providers' October charges (and Google's quarantined one) and gains the
    # correction
    quarantined = "select count(*) from raw.quarantine where entity = 'focus_charges'"
    quarantined += " and _partition_date = '2026-10-31'"
    assert db.execute(quarantined).fetchone()[0] == 1
    assert db.execute(
        "select provider_name, billed_cost, charge_class from raw.focus_charges "
        "where _partition_date = '2026-10-31' order by 1, 2"
    ).fetchall() == [
        ("DeepSeek", Decimal("-0.1000000000"), "Correction"),
        ("DeepSeek", Decimal("2.0000000000"), None),
        ("Google Cloud", Decimal("5.0000000000"), None),
    ]


def test_charges_of_an_export_gone_from_the_folder_stay_within_the_lookback(tmp_path: Path) -> None:
    # given October's month file and November's month-to-date one, loaded by the night of 11-03
    folder = tmp_path / "billing"
    write_csv(folder / "google" / "2026-10.csv", [row(f"2026-10-{d}", "10.00", period="2026-10")
                                                  for d in range(25, 32)], mtime=1_000)
    write_csv(folder / "google" / "2026-11.csv", [row(f"2026-11-0{d}", "5.00") for d in range(1, 4)], mtime=2_000)
    db = duckdb.connect()
    load_focus(db, folder, date(2026, 10, 27), date(2026, 11, 3))

    # when the export job keeps the current month only (October's file is removed), November's
    # file grows, and the night of 11-04 re-reads its lookback (10-28..11-04)
    (folder / "google" / "2026-10.csv").unlink()
    write_csv(folder / "google" / "2026-11.csv", [row(f"2026-11-0{d}", "5.00") for d in range(1, 5)], mtime=3_000)
    report = load_focus(db, folder, date(2026, 10, 28), date(2026, 11, 4))

    # then October's billed days stay (no export restates them) and November's are replaced
    assert report.counts() == "received 4, loaded 4, quarantined 0"
    assert db.execute(
        "select month(_partition_date), count(*), sum(billed_cost) from raw.focus_charges group by 1 order by 1"
    ).fetchall() == [(10, 5, Decimal("50")), (11, 4, Decimal("20"))]

    # and with no export in the folder at all, nothing is deleted either
    (folder / "google" / "2026-11.csv").unlink()
    load_focus(db, folder, date(2026, 10, 28), date(2026, 11, 4))
    assert db.execute("select count(*), sum(billed_cost) from raw.focus_charges").fetchone() == (9, Decimal("70"))


def test_a_row_in_another_currency_is_quarantined_with_the_reason(tmp_path: Path) -> None:
    folder = tmp_path / "billing"
    write_csv(folder / "export.csv", [row("2026-11-20", "1.00"), row("2026-11-20", "9.00", currency="EUR")], 1_000)
    db = duckdb.connect()

    report = load_focus(db, folder, date(2026, 11, 20), date(2026, 11, 20))

    assert (report.received, report.loaded, report.quarantined) == (2, 1, 1)
    reason = db.execute("select reason from raw.quarantine where entity = 'focus_charges'").fetchone()[0]
    assert "billing_currency" in reason and "EUR" in reason


def test_usage_given_back_outside_a_correction_is_quarantined_naming_the_field(tmp_path: Path) -> None:
    # given a credit consuming -1,000 tokens, and a correction giving 1,000 back (a restated day)
    folder = tmp_path / "billing"
    rows = [row("2026-11-20", "1.00"), row("2026-11-20", "-0.50", ConsumedQuantity="-1000", ChargeCategory="Credit"),
            row("2026-11-20", "-0.25", ConsumedQuantity="-1000", charge_class="Correction")]
    write_csv(folder / "export.csv", rows, 1_000)
    db = duckdb.connect()

    # when the day is loaded
    report = load_focus(db, folder, date(2026, 11, 20), date(2026, 11, 20))

    # then the credit is quarantined with its line and field, and the correction loads
    assert (report.received, report.loaded, report.quarantined) == (3, 2, 1)
    quarantined = "select _line_number, reason from raw.quarantine where entity = 'focus_charges'"
    line, reason = db.execute(quarantined).fetchone()
    assert line == 3 and "consumed_quantity" in reason
    assert sorted(loaded(db)) == [(date(2026, 11, 20), Decimal("-0.25"), "Correction", False),
                                  (date(2026, 11, 20), Decimal("1"), None, False)]


def test_the_log_line_says_received_loaded_and_quarantined(tmp_path: Path) -> None:
    # given an export with a row in another currency (quarantined)
    folder = tmp_path / "billing"
    write_csv(folder / "export.csv", [row("2026-11-20", "1.00"), row("2026-11-20", "9.00", currency="EUR")], 1_000)
    messages: list[str] = []
    # when the day is loaded
    load_focus(duckdb.connect(), folder, date(2026, 11, 20), date(2026, 11, 20), progress=messages.append)
    # then the log names all three counts
    assert "1 FOCUS files for 2026-11-20..2026-11-20: received 2, loaded 1, quarantined 1, superseded 0" in messages


def test_a_missing_folder_means_no_exports_configured(tmp_path: Path) -> None:
    db = duckdb.connect()
    assert load_focus(db, tmp_path / "absent", date(2026, 11, 20), date(2026, 11, 20)) is None
    assert db.execute("select count(*) from raw.focus_charges").fetchone() == (0,)


def split_exports(folder: Path) -> None:
    """Two runs of an export job that splits its output into numbered parts, one folder per run.

    Run 1 (11-21): two parts, each with part of 11-20. Run 2 (11-22): two parts restating 11-20.
    """
    write_csv(folder / "run-1" / "focus-000000000000.csv", [row("2026-11-20", "1.00")], mtime=100_000)
    write_csv(folder / "run-1" / "focus-000000000001.csv", [row("2026-11-20", "2.00")], mtime=100_003)
    write_csv(folder / "run-2" / "focus-000000000000.csv", [row("2026-11-20", "1.50")], mtime=200_000)
    write_csv(folder / "run-2" / "focus-000000000001.csv", [row("2026-11-20", "2.25")], mtime=200_002)


def test_with_folders_as_exports_every_part_of_the_newest_run_loads(tmp_path: Path) -> None:
    # given two runs of a split export, a folder each
    folder = tmp_path / "billing"
    split_exports(folder)
    db = duckdb.connect()

    # when the day is loaded with one export per folder
    report = load_focus(db, folder, date(2026, 11, 20), date(2026, 11, 20), export_unit="folder")

    # then both parts of the newer run load (2 + 1.50 + 2.25), the older run is superseded whole
    assert loaded(db) == [(date(2026, 11, 20), Decimal("1.5000000000"), None, False),
                          (date(2026, 11, 20), Decimal("2.2500000000"), None, False)]
    assert (report.received, report.loaded, report.extra["superseded_rows"], report.extra["superseded_files"]) == (
        2, 2, 2, 2
    )
    assert "likely_parts_of_one_export" not in report.extra


def test_parts_of_one_export_read_as_files_are_reported_not_lost_silently(tmp_path: Path) -> None:
    # given the same split export, read with the default (each file an export)
    folder = tmp_path / "billing"
    split_exports(folder)
    db = duckdb.connect()
    warnings: list[str] = []

    # when
    report = load_focus(db, folder, date(2026, 11, 20), date(2026, 11, 20), warn=warnings.append)

    # then only the newest file's row loads, and the part written 2 s before it is named as one
    # likely lost (the older run's parts, a day older, are plain superseded exports)
    assert loaded(db) == [(date(2026, 11, 20), Decimal("2.2500000000"), None, False)]
    part = str(folder / "run-2" / "focus-000000000000.csv")
    assert report.extra["likely_parts_of_one_export"] == part
    assert report.extra["superseded_files"] == 3
    assert len(warnings) == 1 and part in warnings[0] and "AGENTLEDGER_FOCUS_EXPORT_UNIT=folder" in warnings[0]


def test_an_unknown_export_unit_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="AGENTLEDGER_FOCUS_EXPORT_UNIT is 'run'; it must be one of file, folder"):
        load_focus(duckdb.connect(), tmp_path, date(2026, 11, 20), date(2026, 11, 20), export_unit="run")


def test_a_time_without_a_zone_is_utc_after_a_row_that_names_one(tmp_path: Path) -> None:
    # given an export whose first row names its zone (midnight in New York is 05:00 UTC) and whose
    # later rows give UTC times without an offset, a time alone and a date alone
    folder = tmp_path / "billing"
    named = row("2026-11-19", "1.00")
    named["ChargePeriodStart"] = "2026-11-19T00:00:00 America/New_York"
    named["ChargePeriodEnd"] = "2026-11-19T06:00:00Z"
    naive = row("2026-11-19", "2.00", meter="Output Tokens")
    naive["ChargePeriodStart"], naive["ChargePeriodEnd"] = "2026-11-19 21:00:00", "2026-11-19 23:59:59"
    dated = row("2026-11-19", "4.00", meter="Cached Input Tokens")
    dated["ChargePeriodStart"], dated["ChargePeriodEnd"] = "2026-11-19", "2026-11-20"
    write_csv(folder / "google" / "export-1.csv", [named, naive, dated], mtime=1_000)
    db = duckdb.connect()

    # when 11-19..11-20 is loaded
    load_focus(db, folder, date(2026, 11, 19), date(2026, 11, 20))

    # then the zoned row converts to UTC, and the others stay on 11-19 at the times they give
    # (DuckDB's timestamptz cast read them in New York: 21:00 became 02:00 of 11-20)
    assert db.execute(
        "select _partition_date, charge_period_start, charge_period_end, billed_cost "
        "from raw.focus_charges order by billed_cost"
    ).fetchall() == [
        (date(2026, 11, 19), datetime(2026, 11, 19, 5), datetime(2026, 11, 19, 6), Decimal("1.0000000000")),
        (date(2026, 11, 19), datetime(2026, 11, 19, 21), datetime(2026, 11, 19, 23, 59, 59), Decimal("2.0000000000")),
        (date(2026, 11, 19), datetime(2026, 11, 19), datetime(2026, 11, 20), Decimal("4.0000000000")),
    ]


def test_a_restatement_of_a_day_before_the_window_is_named_with_the_days_to_run_again(tmp_path: Path) -> None:
    # given November to date loaded by the night of 11-10 (its window 11-01..11-10)
    folder = tmp_path / "billing"
    write_csv(folder / "google" / "export-1.csv", [row(f"2026-11-{d:02d}", "5.00") for d in range(1, 11)], mtime=1_000)
    db = duckdb.connect()
    load_focus(db, folder, date(2026, 11, 1), date(2026, 11, 10))

    # when the next month-to-date export repeats the older days, but restates 11-02 and 11-03
    restated = {2: "4.00", 3: "4.50"}
    write_csv(folder / "google" / "export-2.csv",
              [row(f"2026-11-{d:02d}", restated.get(d, "5.00")) for d in range(1, 20)], mtime=2_000)
    warnings: list[str] = []
    report = load_focus(db, folder, date(2026, 11, 12), date(2026, 11, 19), warn=warnings.append)

    # then the window loads, and the two older days (only they: the repeated ones are unchanged) are
    # named with the backfill that loads them
    assert report.extra["restated_days_before_window"] == 2
    assert warnings == [
        f"FOCUS Google Cloud: the newest exports (e.g. {folder / 'google' / 'export-2.csv'}) restate 2 charge "
        "day(s) of 2026-11-02..2026-11-03, before this run's window (2026-11-12 on: "
        "AGENTLEDGER_PROVIDER_LOOKBACK_DAYS), which no night reloads: run them again to load them "
        "(agentledger backfill --start 2026-11-02 --end 2026-11-03)"
    ]

    # and once those days are loaded again, nothing is named
    load_focus(db, folder, date(2026, 11, 2), date(2026, 11, 3))
    warnings.clear()
    report = load_focus(db, folder, date(2026, 11, 12), date(2026, 11, 19), warn=warnings.append)
    assert (report.extra["restated_days_before_window"], warnings) == (0, [])
