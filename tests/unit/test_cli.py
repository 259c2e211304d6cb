"""The command line: help that matches the commands, and clear errors on bad input."""

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from orchestration.cli import build_parser, main
from orchestration.runner import partition_tags
from orchestration.transform import dbt_build_args


def test_help_lists_every_command() -> None:
    help_text = build_parser().format_help()
    for command in ("run", "backfill", "demo", "prices"):
        assert command in help_text


def test_the_console_script_answers_help() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "backfill", "--help"], capture_output=True, text=True, check=True
    )
    assert "--start" in completed.stdout and "--end" in completed.stdout


def test_a_bad_date_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--date", "2026-13-01"])
    assert "'2026-13-01' is not a date (YYYY-MM-DD)" in capsys.readouterr().err


def test_a_range_ending_before_it_starts_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backfill", "--start", "2026-11-20", "--end", "2026-11-19"]) == 2
    assert "before --start" in capsys.readouterr().err


def test_one_day_is_one_partition_and_a_range_is_one_run_over_many() -> None:
    assert partition_tags(date(2026, 11, 20), date(2026, 11, 20)) == {"dagster/partition": "2026-11-20"}
    assert partition_tags(date(2026, 11, 1), date(2026, 11, 20)) == {
        "dagster/asset_partition_range_start": "2026-11-01",
        "dagster/asset_partition_range_end": "2026-11-20",
    }


def test_dbt_gets_the_window_as_event_time_flags_not_vars() -> None:
    # --vars would make dbt re-parse the whole project on every run
    assert dbt_build_args(date(2026, 11, 20), date(2026, 11, 21)) == [
        "build", "--event-time-start", "2026-11-20T00:00:00", "--event-time-end", "2026-11-22T00:00:00",
        "--exclude-resource-type", "unit_test",
    ]


def test_a_home_that_is_a_file_is_named_with_exit_status_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given AGENTLEDGER_HOME naming a file, not a folder
    home = tmp_path / "home"
    home.write_text("not a folder")
    monkeypatch.setenv("AGENTLEDGER_HOME", str(home))
    monkeypatch.delenv("AGENTLEDGER_DB", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))

    # when / then: the error it names, not a traceback and the status of a failed run
    assert main(["run", "--date", "2026-11-20"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("agentledger: ") and "File exists" in error and str(home) in error
