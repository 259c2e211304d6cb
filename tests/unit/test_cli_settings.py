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
        ("AGENTLEDGER_REVENUE_KNOWN_UNTIL", "garbage", ["run", "--date", "2026-11-20"]),
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


def run_cli(home: Path, *args: str, **settings: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "AGENTLEDGER_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), **settings}
    environment.pop("AGENTLEDGER_DB", None)
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args], capture_output=True, text=True, env=environment,
        check=False, timeout=120,
    )


def test_a_missing_labels_folder_stops_run_before_the_run_naming_the_setting(tmp_path: Path) -> None:
    (tmp_path / "traces").mkdir()

    completed = run_cli(tmp_path, "run", "--date", "2026-11-20")

    assert completed.returncode == 2, completed.stderr
    assert completed.stderr == (
        f"agentledger: labels folder {tmp_path / 'labels'} does not exist "
        "(set AGENTLEDGER_LABELS_DIR or AGENTLEDGER_HOME)\n"
    )
    assert not (tmp_path / "dagster").exists()


def test_a_warehouse_another_process_holds_stops_run_at_once_naming_the_holder(tmp_path: Path) -> None:
    # given a notebook holding the warehouse open (a write lock), with its inputs in place
    import duckdb

    (tmp_path / "traces").mkdir()
    (tmp_path / "labels").mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
         "sys.stdin.read()", str(tmp_path / "warehouse.duckdb")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        # when a run is asked for
        completed = run_cli(tmp_path, "run", "--date", "2026-11-20")
    finally:
        holder.communicate("", timeout=30)

    # then it stops before the run (not after each step retried for minutes), naming who holds it
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.startswith("agentledger: the warehouse cannot be opened for writing: ")
    assert f"(PID {holder.pid})" in completed.stderr and "never the warehouse" in completed.stderr
    assert not (tmp_path / "dagster").exists()
    duckdb.connect(str(tmp_path / "warehouse.duckdb")).close()  # released: the next run can start


def test_a_home_that_is_not_a_folder_is_named_not_a_traceback(tmp_path: Path) -> None:
    # given the run history pointed under a plain file, everything else in place
    (tmp_path / "traces").mkdir()
    (tmp_path / "labels").mkdir()
    (tmp_path / "a-file").write_text("")

    completed = run_cli(tmp_path, "run", "--date", "2026-11-20", DAGSTER_HOME=str(tmp_path / "a-file" / "dagster"))

    assert completed.returncode == 2, completed.stderr
    assert completed.stderr == (
        f"agentledger: the run history folder {tmp_path / 'a-file' / 'dagster'} cannot be written (Not a directory): "
        "set DAGSTER_HOME, or AGENTLEDGER_HOME, to a folder this user can write\n"
    )
