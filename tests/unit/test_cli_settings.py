"""The command line stops on an invalid setting or snapshot with one line and exit 2, not a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.cli import main


@pytest.mark.parametrize(
    ("name", "value", "args"),
    [
        ("AGENTLEDGER_START_DATE", "2025-13-01", ["--help"]),
        ("AGENTLEDGER_LABEL_LOOKBACK_DAYS", "x", ["report"]),
        ("AGENTLEDGER_PROVIDER_LOOKBACK_DAYS", "-2", ["run", "--help"]),
    ],
)
def test_an_invalid_setting_is_one_line_naming_it_and_exit_2(name: str, value: str, args: list[str]) -> None:
    # given an invalid setting in the environment of the console script
    environment = {**os.environ, name: value}
    # when
    completed = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args], capture_output=True, text=True, env=environment, check=False
    )
    # then
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.startswith(f"agentledger: invalid setting {name}='{value}': ")
    assert completed.stderr.count("\n") == 1 and "Traceback" not in completed.stderr


def test_an_invalid_quarantine_share_stops_run_before_anything_runs(tmp_path: Path) -> None:
    # given a quarantine share that is not a number, and an empty home
    environment = {**os.environ, "AGENTLEDGER_HOME": str(tmp_path), "AGENTLEDGER_MAX_QUARANTINE_SHARE": "abc"}
    environment.pop("AGENTLEDGER_DB", None)
    environment.pop("DAGSTER_HOME", None)
    # when a run is asked for
    completed = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "run", "--date", "2026-11-20"],
        capture_output=True, text=True, env=environment, check=False,
    )
    # then one line names it, exit 2, and no run started: the home is still empty
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr == (
        "agentledger: invalid setting AGENTLEDGER_MAX_QUARANTINE_SHARE='abc': not a share from 0 to 1 (e.g. 0.05)\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_main_names_an_invalid_setting(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AGENTLEDGER_TRACE_LOOKBACK_DAYS", "one")
    assert main(["prices", "sync", "--help"]) == 2
    assert "invalid setting AGENTLEDGER_TRACE_LOOKBACK_DAYS='one'" in capsys.readouterr().err


def test_a_snapshot_that_is_not_duckdb_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # given a file that is not a DuckDB database
    snapshot = tmp_path / "marts.duckdb"
    snapshot.write_text("not a database\n")
    # when / then
    assert main(["report", "--snapshot", str(snapshot), "--output", str(tmp_path / "report.html")]) == 2
    err = capsys.readouterr().err
    assert f"cannot open the snapshot {snapshot} with DuckDB" in err and "not a valid DuckDB database" in err
    assert not (tmp_path / "report.html").exists()
