"""FOCUS exports with ragged lines: the line is quarantined with its file, line and reason; the others load."""

import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.sources.focus.load import IncompleteExportError, load_focus

HEADER = ["BilledCost", "BillingCurrency", "BillingAccountId", "BillingPeriodStart", "BillingPeriodEnd",
          "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "ChargeClass", "ServiceCategory",
          "ProviderName", "ConsumedQuantity", "ConsumedUnit", "SkuMeter", "Tags"]


def good_line(number: int) -> str:
    values = [f"0.{number:02d}", "USD", "acct-1", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z",
              "2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z", "Usage", "", "AI and Machine Learning",
              "Google Cloud", "1000", "Tokens", f"meter-{number}", '{""model"": ""gemini-2.5-pro""}']
    return ",".join(f'"{value}"' for value in values)


def test_ragged_lines_are_quarantined_with_file_and_line_and_the_other_rows_load(tmp_path: Path) -> None:
    # given 50 good rows, a line of 3 fields after the 20th and one of 17 fields after the 35th
    folder = tmp_path / "billing"
    folder.mkdir()
    lines = [",".join(HEADER)]
    for number in range(1, 51):
        lines.append(good_line(number))
        if number == 20:
            lines.append("1.00,USD,acct-1")  # line 22
        if number == 35:
            lines.append(good_line(99) + ",extra,fields")  # line 38
    export = folder / "export.csv"
    export.write_text("\n".join(lines) + "\n")
    db = duckdb.connect()

    # when
    report = load_focus(db, folder, date(2026, 11, 20), date(2026, 11, 20))

    # then the 50 rows load, the two ragged lines are quarantined naming file, line and reason
    assert (report.received, report.loaded, report.quarantined) == (52, 50, 2)
    rows = db.execute(
        "select _partition_date, _source_file, _line_number, raw_record, reason from raw.quarantine "
        "where entity = 'focus_charges' order by _line_number"
    ).fetchall()
    assert [(row[1], row[2]) for row in rows] == [(str(export), 22), (str(export), 38)]
    assert rows[0][3] == "1.00,USD,acct-1"
    assert rows[0][4].startswith("line is not a row of the header's columns: ")
    assert "Expected Number of Columns: 15 Found: 3" in rows[0][4]
    assert all(row[0] == date(2026, 11, 20) for row in rows)
    # and the good rows keep their own line numbers, counting the lines set aside
    lines_of = dict(db.execute("select sku_meter, _line_number from raw.focus_charges").fetchall())
    assert (lines_of["meter-1"], lines_of["meter-20"], lines_of["meter-21"]) == (2, 21, 23)
    assert (lines_of["meter-35"], lines_of["meter-36"], lines_of["meter-50"]) == (37, 39, 53)

    # and reloading replaces the quarantine rows, it does not add copies
    load_focus(db, folder, date(2026, 11, 20), date(2026, 11, 20))
    assert db.execute("select count(*) from raw.quarantine where entity = 'focus_charges'").fetchone() == (2,)


def test_an_export_cut_off_mid_write_fails_the_load_and_leaves_the_older_one(tmp_path: Path) -> None:
    # given a complete export of 10 rows, loaded, then a re-export (a newer file) cut off inside its 4th row
    folder = tmp_path / "billing"
    folder.mkdir()
    complete = "\n".join([",".join(HEADER), *(good_line(n) for n in range(1, 11))]) + "\n"
    (folder / "export-1.csv").write_text(complete)
    db = duckdb.connect()
    load_focus(db, folder, date(2026, 11, 20), date(2026, 11, 20))
    cut = complete[: complete.index(good_line(4)) + good_line(4).index(',"2026-11-01')]  # after 3 fields
    newer = folder / "export-2.csv"
    newer.write_text(cut)
    os.utime(newer, (os.stat(folder / "export-1.csv").st_mtime + 60,) * 2)

    # when the day is loaded again
    with pytest.raises(IncompleteExportError, match=f"{newer} line 5: the file ends in a line cut off mid-write"):
        load_focus(db, folder, date(2026, 11, 20), date(2026, 11, 20))

    # then the older export's 10 rows stand; once the export is whole, it wins
    assert db.execute("select count(*), sum(billed_cost) from raw.focus_charges").fetchone() == (10, Decimal("0.55"))
    newer.write_text(complete.replace('"0.01"', '"1.01"'))
    load_focus(db, folder, date(2026, 11, 20), date(2026, 11, 20))
    assert db.execute("select count(*), sum(billed_cost) from raw.focus_charges").fetchone() == (10, Decimal("1.55"))


def test_a_short_last_line_of_a_file_that_ends_its_lines_is_a_bad_row(tmp_path: Path) -> None:
    # given an export whose last line is short of columns but ends in a line end (written whole)
    folder = tmp_path / "billing"
    folder.mkdir()
    (folder / "export.csv").write_text("\n".join([",".join(HEADER), good_line(1), "1.00,USD,acct-1"]) + "\n")
    db = duckdb.connect()

    # when
    report = load_focus(db, folder, date(2026, 11, 20), date(2026, 11, 20))

    # then it is quarantined and the other row loads
    assert (report.received, report.loaded, report.quarantined) == (2, 1, 1)


def test_a_last_line_of_too_many_columns_with_no_line_end_is_a_bad_row(tmp_path: Path) -> None:
    # given an export whose last line has two fields too many and no line end (whole, but wrong)
    folder = tmp_path / "billing"
    folder.mkdir()
    (folder / "export.csv").write_text("\n".join([",".join(HEADER), good_line(1), good_line(2) + ",extra,fields"]))
    db = duckdb.connect()

    # when
    report = load_focus(db, folder, date(2026, 11, 20), date(2026, 11, 20))

    # then it is quarantined and the other row loads: only a line short of columns is a cut
    assert (report.received, report.loaded, report.quarantined) == (2, 1, 1)
